"""Memory-log writes; each commits with its event and emits it afterwards.

A write that loses a race to a delete is a 404 (`src/core/races.py`). A create is the hot
write: one Core `INSERT ... SELECT ... RETURNING` that checks its own bearer
(`src/auth/guard.py`), no ORM unit of work, and the row's public form built once.
"""

from __future__ import annotations

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from src.auth.guard import HOLDER_ID, holder_is_valid, holder_params
from src.core.clock import utcnow
from src.core.races import delete_or_gone, flush_or_gone
from src.core.security import TokenClaims
from src.events.emitters import EventEmitter
from src.memory_logs.models import MemoryLog
from src.memory_logs.schemas import MemoryLogCreate, MemoryLogPublic, MemoryLogUpdate

_LOGS: Table = MemoryLog.__table__  # type: ignore[assignment]
_INSERT_IF_HOLDER = (
    insert(_LOGS)
    .from_select(
        ["user_id", "content", "created_at", "updated_at"],
        select(
            HOLDER_ID,
            bindparam("content", type_=_LOGS.c.content.type),
            bindparam("created_at", type_=_LOGS.c.created_at.type),
            bindparam("updated_at", type_=_LOGS.c.updated_at.type),
        ).where(holder_is_valid()),
    )
    .returning(_LOGS.c.id)
)
"""Built once. The row is written for the token's user only if that user may write now."""


async def create_memory_log(
    session: AsyncSession,
    emitter: EventEmitter,
    *,
    holder: TokenClaims | None,
    data: MemoryLogCreate,
) -> MemoryLogPublic | None:
    """Insert a log for the token's user and emit `memory_log_created` with it (one commit);
    None, with nothing written, when the token's user is gone or disabled or the token was
    signed out (the route's 401)."""
    params = holder_params(holder)
    if params is None:
        return None
    now = utcnow()
    values = {**params, "content": data.content, "created_at": now, "updated_at": now}
    connection = await session.connection()
    log_id = (await connection.execute(_INSERT_IF_HOLDER, values)).scalar_one_or_none()
    if log_id is None:
        await session.rollback()
        return None
    log = MemoryLogPublic(
        id=log_id, user_id=params["holder_id"], content=data.content, created_at=now, updated_at=now
    )
    await emitter.emit_memory_log_created(log, session=session)
    return log


async def update_memory_log(
    session: AsyncSession, emitter: EventEmitter, *, log: MemoryLog, data: MemoryLogUpdate
) -> MemoryLog:
    log.content = data.content
    log.updated_at = utcnow()
    await flush_or_gone(session, log)
    await emitter.emit_memory_log_updated(log, session=session)
    return log


async def delete_memory_log(
    session: AsyncSession, emitter: EventEmitter, *, log: MemoryLog
) -> None:
    await delete_or_gone(session, log)
    await emitter.emit_memory_log_deleted(log.id, log.user_id, session=session)
