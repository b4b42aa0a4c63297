"""Fixtures with one job each. Every test runs on the embedded stack (SQLite, in-memory
Socket.IO manager) and, when TEST_DATABASE_URL and TEST_REDIS_URL are set, again on
PostgreSQL + Redis, each test in its own database and Redis channel."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from src.auth import service as auth_service
from src.cli import migrate
from src.core.config import Settings
from src.core.db import create_engine, create_sessionmaker
from src.core.security import create_access_token
from src.main import create_app
from tests.support import LiveServer, RecordingClient, TestUser

TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
# One template per test session, so concurrent runs on one server never collide.
TEMPLATE_DATABASE = f"mindwire_template_{uuid.uuid4().hex[:8]}"

GENEROUS_THROTTLES = {
    "write_rate_limit": "100000/1s",
    "max_concurrent_writes_per_user": 100000,
    "register_rate_limit": "100000/1s",
}
"""Tests of other things write and register as fast as they like (and the REST fuzzer is not
throttled into failures); tests/security/test_throttles.py sets the tight limits it attacks."""

STACKS = [
    pytest.param("embedded", id="sqlite-memory"),
    pytest.param(
        "services",
        id="postgres-redis",
        marks=pytest.mark.skipif(
            not (TEST_DATABASE_URL and TEST_REDIS_URL),
            reason="set TEST_DATABASE_URL and TEST_REDIS_URL to run on PostgreSQL and Redis",
        ),
    ),
]


# -- databases ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def npm() -> str:
    """npm's path; tests that drive Node code skip without Node."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed (Node.js 20+)")
    return npm


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


async def _pg_admin(sql: str) -> None:
    assert TEST_DATABASE_URL is not None
    engine = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


def _pg_url(database: str) -> str:
    assert TEST_DATABASE_URL is not None
    return make_url(TEST_DATABASE_URL).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated PostgreSQL template database; each test gets a copy made from it."""
    asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {TEMPLATE_DATABASE} WITH (FORCE)"))
    asyncio.run(_pg_admin(f"CREATE DATABASE {TEMPLATE_DATABASE}"))
    migrate(_pg_url(TEMPLATE_DATABASE))
    yield TEMPLATE_DATABASE
    asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {TEMPLATE_DATABASE} WITH (FORCE)"))


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    stack_name: str = request.param
    return stack_name


@pytest.fixture
def database_url(stack: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for this test alone."""
    if stack == "embedded":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "mindwire.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"mindwire_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f"CREATE DATABASE {name} TEMPLATE {template_name}"))
    yield _pg_url(name)
    asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def settings_factory(stack: str, database_url: str) -> Callable[..., Settings]:
    """Settings for this test's database and Redis channel; keyword arguments override."""
    channel = f"mindwire-test-{uuid.uuid4().hex[:12]}"

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "redis_url": TEST_REDIS_URL if stack == "services" else None,
            "redis_channel": channel,
            "secret_key": TEST_SECRET,
            **GENEROUS_THROTTLES,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
async def db_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """The test's own session on the test's database (never the server's engine)."""
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


# -- users ---------------------------------------------------------------------------------------

UserFactory = Callable[..., Awaitable[TestUser]]


@pytest.fixture
def make_user(db_session: AsyncSession, settings: Settings) -> UserFactory:
    """Create a user straight in the database and sign a token for them."""

    async def make(*, admin: bool = False, email: str | None = None) -> TestUser:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        password = "correct-horse-battery"
        user = await auth_service.create_user(
            db_session, email=email, password=password, is_admin=admin
        )
        token = create_access_token(
            user.id, secret_key=settings.secret_key, ttl_seconds=settings.access_token_ttl_seconds
        )
        return TestUser(user.id, email, password, token, admin)

    return make


@pytest.fixture
async def alice(make_user: UserFactory) -> TestUser:
    return await make_user(email="alice@example.com")


@pytest.fixture
async def bob(make_user: UserFactory) -> TestUser:
    return await make_user(email="bob@example.com")


@pytest.fixture
async def admin(make_user: UserFactory) -> TestUser:
    return await make_user(admin=True, email="admin@example.com")


# -- apps and clients -------------------------------------------------------------------------


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """REST in-process: the app with its lifespan running, over httpx.ASGITransport."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
def live_server_factory(
    settings_factory: Callable[..., Settings],
) -> Iterator[Callable[..., LiveServer]]:
    """Start real uvicorn servers (threads, free ports); settings overrides as keywords."""
    running: list[tuple[LiveServer, Any]] = []

    def start(**overrides: Any) -> LiveServer:
        server, thread, _url = LiveServer.start(settings_factory(**overrides))
        running.append((server, thread))
        return server

    yield start
    for server, thread in running:
        server.stop(thread)


@pytest.fixture
def live_server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    return live_server_factory()


@pytest.fixture
def live_url(live_server: LiveServer) -> str:
    return live_server.url


@pytest.fixture
async def api(live_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """REST over a real socket to the live server (so its emits reach socket clients)."""
    async with httpx.AsyncClient(base_url=live_url, timeout=10) as http:
        yield http


SocketFactory = Callable[..., Awaitable[RecordingClient]]


@pytest.fixture
async def connect(live_url: str) -> AsyncIterator[SocketFactory]:
    """Connect recording Socket.IO clients to the live server as a user (or with a token)."""
    clients: list[RecordingClient] = []

    async def open_client(
        user: TestUser | None = None, *, token: str | None = None, url: str | None = None
    ) -> RecordingClient:
        client = RecordingClient.create()
        clients.append(client)
        await client.connect(url or live_url, user.token if user else token)
        await client.wait_for("connection_established")
        return client

    yield open_client
    for client in clients:
        await client.close()
