"""`TokenHolders`: the holders of the tokens that socket connects present, read in groups.

A connect's token is verified here (signature, `exp`, `nbf`) and its holder read from the
database: the user must exist and be active, and the token must not be revoked
(`auth_service.holder_of_token` does that in one ORM query per token). A reconnect storm is
thousands of connects within seconds, most with different tokens: one query, one session
and one ORM load each. Here the holders asked for while one read runs are read together by
the next, two statements for the whole group (the active users among them, the revoked
tokens among them). Each read begins after its callers asked, so a sign-out, a disable or a
deletion committed before a connect is seen by it, as with a read of its own; nothing is kept.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from src.auth.models import RevokedToken, User
from src.core.db import MAX_INTEGER_ID
from src.core.failures import fail_all
from src.core.security import TokenClaims

READ_BATCH = 500
"""Users (and tokens) per SELECT of a group."""


@dataclass(frozen=True, slots=True)
class Holder:
    """An active user presenting a token that was not revoked."""

    user_id: int
    is_admin: bool


_Wanted = tuple[int, str | None, "asyncio.Future[Holder | None]"]


class TokenHolders:
    """Grouped reads of token holders; a session per group, none held between them."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.reads = 0
        """Groups read (for tests)."""
        self._wanted: list[_Wanted] = []
        self._reader: asyncio.Task[None] | None = None

    async def holder(self, claims: TokenClaims) -> Holder | None:
        """The holder of verified `claims`, read after this call began; None when the user
        is gone or disabled or the token was revoked."""
        if not 1 <= claims.user_id <= MAX_INTEGER_ID:
            return None
        done: asyncio.Future[Holder | None] = asyncio.get_running_loop().create_future()
        self._wanted.append((claims.user_id, claims.jti, done))
        if self._reader is None:
            self._reader = asyncio.ensure_future(self._read_wanted())
        return await asyncio.shield(done)  # a caller that gives up leaves the read to others

    async def _read_wanted(self) -> None:
        try:
            while self._wanted:
                wanted, self._wanted = self._wanted, []
                try:
                    users, revoked = await self._read({u for u, _, _ in wanted}, wanted)
                except Exception as exc:
                    fail_all((done for _user, _jti, done in wanted), exc, "reading token holders")
                    continue
                for user_id, jti, done in wanted:
                    if not done.done():
                        found = users.get(user_id)
                        done.set_result(None if jti is not None and jti in revoked else found)
        finally:
            self._reader = None
            for _user, _jti, done in self._wanted:
                if not done.done():
                    done.set_exception(RuntimeError("the token holder reader stopped"))

    async def _read(
        self, user_ids: set[int], wanted: list[_Wanted]
    ) -> tuple[dict[int, Holder], set[str]]:
        """The active users among `user_ids` and the revoked tokens among those wanted."""
        ids = sorted(user_ids)
        jtis = sorted({jti for _user, jti, _done in wanted if jti is not None})
        users: dict[int, Holder] = {}
        revoked: set[str] = set()
        async with self.sessionmaker() as session:
            for start in range(0, len(ids), READ_BATCH):
                chunk = ids[start : start + READ_BATCH]
                query = select(User.id, User.is_admin).where(
                    User.id.in_(chunk), User.is_active.is_(True)
                )
                for user_id, is_admin in await session.execute(query):
                    users[user_id] = Holder(user_id, bool(is_admin))
            for start in range(0, len(jtis), READ_BATCH):
                chunk_jtis = jtis[start : start + READ_BATCH]
                query_jtis = select(RevokedToken.jti).where(RevokedToken.jti.in_(chunk_jtis))
                revoked.update(await session.scalars(query_jtis))
        self.reads += 1
        return users, revoked
