"""Test users: created straight in the database, with a token signed for them."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from src.auth import service as auth_service
from src.core.config import Settings
from src.core.security import create_access_token

PASSWORD = "correct-horse-battery"


@dataclass
class TestUser:
    """A signed-in user: `.headers` carry the token for REST, `connect(user)` for sockets."""

    __test__ = False  # a helper, not a test class for pytest to collect

    id: int
    email: str
    password: str
    token: str
    is_admin: bool = False

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def create_test_user(
    session: AsyncSession, settings: Settings, *, admin: bool = False, email: str | None = None
) -> TestUser:
    """Create a user (a random email unless given) and sign an access token for them."""
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    user = await auth_service.create_user(session, email=email, password=PASSWORD, is_admin=admin)
    token = create_access_token(
        user.id, secret_key=settings.secret_key, ttl_seconds=settings.access_token_ttl_seconds
    )
    return TestUser(user.id, email, PASSWORD, token, admin)


# `make_user(*, admin=False, email=None)`, the type of the `make_user` fixture.
UserFactory = Callable[..., Awaitable[TestUser]]
