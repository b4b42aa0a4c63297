"""Revoked access tokens: stored by `jti` until their `exp`, then forgotten."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from src.auth.models import RevokedToken
from src.core.clock import utcnow
from src.core.security import TokenClaims


async def revoke(session: AsyncSession, claims: TokenClaims) -> None:
    """Store the token's id (a second sign-out of it changes nothing) and commit.

    Rows past their expiry are deleted on the way: an expired token is refused anyway.
    """
    if claims.jti is None:
        return
    await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    row = {"jti": claims.jti, "user_id": claims.user_id, "expires_at": claims.expires_at}
    if session.get_bind().dialect.name == "postgresql":
        # Imported here: SQLAlchemy's PostgreSQL dialect is ~2 MiB a SQLite server never uses.
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        await session.execute(pg_insert(RevokedToken).values(row).on_conflict_do_nothing())
    else:
        await session.execute(sqlite_insert(RevokedToken).values(row).on_conflict_do_nothing())
    await session.commit()


async def revoked_among(session: AsyncSession, jtis: set[str]) -> set[str]:
    """Those of `jtis` that were revoked (the periodic recheck of open sockets)."""
    if not jtis:
        return set()
    query = select(RevokedToken.jti).where(RevokedToken.jti.in_(jtis))
    return set((await session.scalars(query)).all())
