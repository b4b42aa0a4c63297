"""`TokenHolders`: the connects presenting tokens at the same moment have their holders read
together (one group for a burst, not a query each), and each still sees what was committed
before it asked: a revoked token, a disabled or deleted user are refused, the others let in."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from src.app.services import AppServices
from src.auth import revocation
from src.auth.holders import Holder, TokenHolders
from src.auth.models import User
from src.core.clock import utcnow
from src.core.security import TokenClaims, read_access_token


def claims_of(token: str, secret_key: str) -> TokenClaims:
    claims = read_access_token(token, secret_key=secret_key)
    assert claims is not None
    return claims


async def test_a_burst_of_connects_reads_its_holders_together_and_refuses_the_withdrawn(
    services: AppServices, make_user, settings
) -> None:
    async with asyncio.timeout(30):
        users = [await make_user() for _ in range(8)]
        admin = await make_user(admin=True)
        revoked, disabled, deleted, *fine = users
        key = settings.secret_key
        async with services.sessionmaker() as session:
            await revocation.revoke(session, claims_of(revoked.token, key))
            await session.execute(
                update(User).where(User.id == disabled.id).values(is_active=False)
            )
            await session.execute(delete(User).where(User.id == deleted.id))
            await session.commit()
        holders = TokenHolders(services.sessionmaker)
        everyone = [*users, admin]
        found = await asyncio.gather(*(holders.holder(claims_of(u.token, key)) for u in everyone))
        assert holders.reads == 1  # one group for the burst
        expected = [None, None, None, *(Holder(u.id, False) for u in fine), Holder(admin.id, True)]
        assert found == expected


async def test_a_sign_out_committed_before_a_connect_asks_is_seen_by_it(
    services: AppServices, make_user, settings
) -> None:
    async with asyncio.timeout(30):
        user = await make_user()
        claims = claims_of(user.token, settings.secret_key)
        holders = TokenHolders(services.sessionmaker)
        assert await holders.holder(claims) == Holder(user.id, False)
        async with services.sessionmaker() as session:
            await revocation.revoke(session, claims)
        assert await holders.holder(claims) is None  # nothing kept from the first read


async def test_a_failed_group_read_fails_each_connect_with_its_own_error() -> None:
    """A database without the tables: the group's one read fails, and every connect waiting
    on it gets an exception of its own (no traceback shared by a thousand tasks)."""
    engine = create_async_engine("sqlite+aiosqlite://")
    try:
        async with asyncio.timeout(30):
            holders = TokenHolders(async_sessionmaker(engine))
            ends = utcnow() + timedelta(minutes=5)
            claims = [TokenClaims(n, f"j{n}", ends) for n in range(1, 5)]
            results = await asyncio.gather(
                *(holders.holder(c) for c in claims), return_exceptions=True
            )
            assert all(isinstance(r, OperationalError) for r in results), results
            assert "no such table" in str(results[0])
            assert len({id(r) for r in results}) == len(results)
            assert holders.reads == 0
    finally:
        await engine.dispose()
