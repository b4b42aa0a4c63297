"""The bearer check made inside a write's own statement: no read of the user before it.

Every other route reads the token's user first (`user_for_claims`: one more statement per
request, and an ORM object). A hot insert (`POST /api/memory-logs`, `POST /api/mental-notes`)
instead writes its row only WHERE the token's user exists and is active and the token was not
signed out. The check runs in the write's statement, in its transaction, against what is
committed then: every sign-out, disable, demotion or deletion committed before the request is
seen, by every worker, whoever made it (a route, `mindwire disable-user`, a hand edit), with
no cache to keep in step. No row inserted means the holder is not valid: the route answers 401
as the user read would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Insert,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    exists,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from src.auth.models import RevokedToken, User
from src.core.db import MAX_INTEGER_ID
from src.core.security import TokenClaims
from src.events.emitters import EventEmitter
from src.events.grouped_writes import EventSpec

HOLDER_ID = bindparam("holder_id", type_=Integer)
"""The token's user id, as the statement's parameter `holder_id` (typed: PostgreSQL must know
the type of a parameter in a SELECT list)."""
HOLDER_JTI = bindparam("holder_jti", type_=String)
OwnedRow = TypeVar("OwnedRow", bound=BaseModel)


def holder_is_valid() -> ColumnElement[bool]:
    """True when user `holder_id` exists, is not disabled and token `holder_jti` was not
    revoked (a NULL `jti`, from a token signed before tokens had one, matches no revocation)."""
    user = exists().where(User.id == HOLDER_ID, User.is_active.is_(True))
    revoked = exists().where(RevokedToken.jti == HOLDER_JTI)
    return and_(user, ~revoked)


def holder_params(claims: TokenClaims | None) -> dict[str, Any] | None:
    """The statement's `holder_id` and `holder_jti`; None when the claims name no possible
    user (no token, or an id out of the column's range: no query can match it)."""
    if claims is None or not 1 <= claims.user_id <= MAX_INTEGER_ID:
        return None
    return {"holder_id": claims.user_id, "holder_jti": claims.jti}


def insert_for_holder(table: Table, columns: Sequence[str]) -> Insert:
    """`INSERT INTO table (user_id, *columns) SELECT :holder_id, :column... WHERE` the holder is
    valid `RETURNING id`: built once per table; each column is a parameter of its own name."""
    values = [bindparam(name, type_=table.c[name].type) for name in columns]
    chosen = select(HOLDER_ID, *values).where(holder_is_valid())
    return insert(table).from_select(["user_id", *columns], chosen).returning(table.c.id)


async def insert_as_holder(
    session: AsyncSession, statement: Insert, claims: TokenClaims | None, values: dict[str, Any]
) -> int | None:
    """Run an `insert_for_holder` statement in the session's transaction: the new row's id, or
    None (rolled back, nothing written) when the token's user may not write now."""
    params = holder_params(claims)
    if params is None:
        return None
    connection = await session.connection()
    row_id = (await connection.execute(statement, {**params, **values})).scalar_one_or_none()
    if row_id is None:
        await session.rollback()
    return None if row_id is None else int(row_id)


HOLDER_IS_ADMIN = select(User.is_admin).where(
    User.id == HOLDER_ID,
    User.is_active.is_(True),
    ~exists().where(RevokedToken.jti == HOLDER_JTI),
)
"""Built once: the same check as `holder_is_valid`, and whether the holder is an admin."""


async def holder_is_admin(session: AsyncSession, claims: TokenClaims | None) -> bool | None:
    """For a write whose only row is its event (`POST /api/notifications`): one Core read on
    the write's own connection, no ORM object. None: not a valid holder (401); False: valid,
    not an admin (403)."""
    params = holder_params(claims)
    if params is None:
        return None
    connection = await session.connection()
    is_admin = (await connection.execute(HOLDER_IS_ADMIN, params)).scalar_one_or_none()
    return None if is_admin is None else bool(is_admin)


async def create_grouped(
    emitter: EventEmitter,
    statement: Insert,
    holder: TokenClaims | None,
    fields: dict[str, Any],
    public: type[OwnedRow],
    event: str,
) -> OwnedRow | None:
    """A hot create on the grouped path (`SocketService.write_with_event`): `statement`, an
    `insert_for_holder` INSERT, writes `fields` for the token's user, and the row's public
    form, built once, is both the answer and the event's payload. None, with nothing
    written, when the holder may not write now (the route's 401)."""
    params = holder_params(holder)
    if params is None or holder is None:
        return None
    made: list[OwnedRow] = []

    def event_for(row_id: Any) -> EventSpec | None:
        if row_id is None:
            return None
        row = public.model_validate({"id": int(row_id), "user_id": holder.user_id, **fields})
        made.append(row)
        return emitter.event_spec(event, row)

    await emitter.socket_service.write_with_event(statement, {**params, **fields}, event_for)
    return made[0] if made else None
