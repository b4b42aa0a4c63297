"""The fixtures of Mindwire's test kit, loaded by `src.testing.plugin`.

Every fixture built on `stack` runs on the embedded stack (SQLite, in-memory Socket.IO
manager) and, when TEST_DATABASE_URL and TEST_REDIS_URL are set, again on PostgreSQL + Redis,
each test in its own database and Redis channel.

The app, database and server modules are imported inside the fixtures, not here: pytest loads
this module in every run of an environment with `mindwire[testing]`, used or not.
Async fixtures are `pytest_asyncio.fixture`s, so they work in pytest-asyncio's strict mode too.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from src.testing.stacks import EMBEDDED, GENEROUS_THROTTLES, STACKS, TEST_REDIS_URL, TEST_SECRET

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.ext.asyncio import AsyncSession

    from src.app.services import AppServices
    from src.core.config import Settings
    from src.testing.clients import RecordingClient, SocketFactory
    from src.testing.server import LiveServer
    from src.testing.users import TestUser, UserFactory


# -- databases -----------------------------------------------------------------------------------


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    """`"embedded"` or `"services"`: every test built on it runs once per stack."""
    stack_name: str = request.param
    return stack_name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    from src.testing import databases

    return databases.sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated PostgreSQL template database; each test gets a copy made from it."""
    from src.testing import databases

    with databases.postgres_template() as name:
        yield name


@pytest.fixture
def database_url(stack: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for this test alone."""
    from src.testing import databases

    if stack == EMBEDDED:
        yield databases.sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
        return
    with databases.postgres_copy(request.getfixturevalue("postgres_template")) as url:
        yield url


@pytest.fixture
def settings_factory(stack: str, database_url: str) -> Callable[..., Settings]:
    """Settings for this test's database and Redis channel; keyword arguments override."""
    from src.core.config import Settings

    channel = f"mindwire-test-{uuid.uuid4().hex[:12]}"

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "redis_url": None if stack == EMBEDDED else TEST_REDIS_URL,
            "redis_channel": channel,
            "secret_key": TEST_SECRET,
            **GENEROUS_THROTTLES,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    """`settings_factory()`: this test's database and Redis channel, a fixed secret."""
    return settings_factory()


@pytest_asyncio.fixture
async def db_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """The test's own session on the test's database (never the server's engine)."""
    from src.core.db import create_engine, create_sessionmaker

    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


# -- users ---------------------------------------------------------------------------------------


@pytest.fixture
def make_user(db_session: AsyncSession, settings: Settings) -> UserFactory:
    """Create a user straight in the database and sign a token for them."""
    from src.testing.users import create_test_user

    async def make(*, admin: bool = False, email: str | None = None) -> TestUser:
        return await create_test_user(db_session, settings, admin=admin, email=email)

    return make


@pytest_asyncio.fixture
async def alice(make_user: UserFactory) -> TestUser:
    """alice@example.com, signed in (a `TestUser`)."""
    return await make_user(email="alice@example.com")


@pytest_asyncio.fixture
async def bob(make_user: UserFactory) -> TestUser:
    """bob@example.com, signed in: someone other than alice."""
    return await make_user(email="bob@example.com")


@pytest_asyncio.fixture
async def admin(make_user: UserFactory) -> TestUser:
    """admin@example.com, an administrator, signed in."""
    return await make_user(admin=True, email="admin@example.com")


# -- apps in-process -----------------------------------------------------------------------------


@pytest_asyncio.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """REST in-process: the app with its lifespan running, over httpx.ASGITransport."""
    import httpx
    from asgi_lifespan import LifespanManager

    from src.main import create_app

    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest_asyncio.fixture
async def services(settings: Settings) -> AsyncIterator[AppServices]:
    """One in-process app's services, lifespan running, on the test's own event loop.

    No network: nobody is connected, so emits are only logged. For handlers and emitters
    called directly (`services.registry.handle_event(...)`).
    """
    from asgi_lifespan import LifespanManager

    from src.main import create_app

    app: Any = create_app(settings)
    async with LifespanManager(app):
        app_services: AppServices = app.other_asgi_app.state.services
        yield app_services


# -- live servers and socket clients -------------------------------------------------------------


@pytest.fixture
def live_server_factory(
    settings_factory: Callable[..., Settings],
) -> Iterator[Callable[..., LiveServer]]:
    """Start real uvicorn servers (threads, free ports); settings overrides as keywords."""
    from src.testing.server import LiveServer

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
    """`live_server_factory()`: one real server on this test's database."""
    return live_server_factory()


@pytest.fixture
def live_url(live_server: LiveServer) -> str:
    """The live server's URL, e.g. http://127.0.0.1:41235."""
    return live_server.url


@pytest_asyncio.fixture
async def api(live_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """REST over a real socket to the live server (so its emits reach socket clients)."""
    import httpx

    async with httpx.AsyncClient(base_url=live_url, timeout=10) as http:
        yield http


@pytest_asyncio.fixture
async def connect(live_url: str) -> AsyncIterator[SocketFactory]:
    """Connect recording Socket.IO clients to the live server as a user (or with a token)."""
    from src.testing.clients import RecordingClient

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
