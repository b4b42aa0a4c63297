"""`build_services`: every service of one app, each given what it needs when it is made.

The one place that wires them: `src/app/lifespan.py` starts and stops what this builds."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import redis.asyncio as aioredis
import socketio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from src.app.backend import Backend
from src.app.services import AppServices, Limiters
from src.auth import revocation
from src.auth import service as auth_service
from src.auth.holders import TokenHolders
from src.auth.notices import AccessNotices
from src.auth.status_writes import StatusWrites
from src.auth.throttle import LoginThrottle
from src.cluster.presence import Presence
from src.cluster.relay import EventRelay
from src.core.clock import utcnow
from src.core.config import Settings
from src.core.db import create_engine, create_sessionmaker, pool_options
from src.core.metrics import Metrics
from src.core.rate_limit import RateLimiter
from src.core.security import read_access_token
from src.core.shared_reads import SharedReads
from src.core.sqlite_group import GroupCommit
from src.events.bus import EventBus, forward_to_sockets
from src.events.emitters import EventEmitter
from src.events.grouped_writes import GroupedWrites
from src.events.handlers import EventHandlerRegistry
from src.events.log import EventLog
from src.events.rooms import RoomPolicy, Viewer
from src.events.socket_handlers import register_all_handlers
from src.events.socket_service import SocketService
from src.transport.expiry import Credentials
from src.transport.gateway import GatewayLimits, SocketGateway
from src.transport.recovery import Recovery
from src.transport.recovery_store import SessionStore
from src.transport.sockets import SocketServer

logger = logging.getLogger("mindwire")


def build_services(settings: Settings, sio: socketio.AsyncServer, backend: Backend) -> AppServices:
    """Wire one app's services together; nothing here opens a connection yet.

    Each object is built after what it needs: the signals first (the relay's wake-up and the
    outgoing notices), then the writer, the gateway and the notices, then the cluster that
    carries the signals and brings the notices in, then the relay that delivers through the
    writer. Memory or Redis is `backend`'s (`choose_backend`), and so is the one Redis client."""
    engine, sessionmaker = _database(settings)
    signals = backend.signals()
    metrics = Metrics()
    event_log = EventLog(settings.event_retention_seconds)
    rooms = RoomPolicy()
    sockets = SocketServer(sio, sessionmaker=sessionmaker, event_log=event_log, metrics=metrics)
    socket_service = SocketService(
        sockets,
        sessionmaker=sessionmaker,
        event_log=event_log,
        wake_relay=signals.wake,
        hand_off=signals.hand_off,
    )
    socket_service.grouped = grouped_writes(engine, event_log)
    emitter = EventEmitter(socket_service)
    presence = backend.presence(signals.process_id)
    registry = EventHandlerRegistry(logging.getLogger("mindwire.events"), metrics)
    register_all_handlers(registry, sio)
    bus = EventBus()
    forward_to_sockets(bus, emitter)
    gateway = _gateway(settings, sockets, socket_service, registry, emitter, rooms, presence)
    gateway.bind()
    notices = AccessNotices(gateway, signals)
    cluster = backend.cluster(signals, on_notice=notices.received)
    return AppServices(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        backend=backend,
        redis=backend.redis,
        metrics=metrics,
        event_log=event_log,
        rooms=rooms,
        sockets=sockets,
        socket_service=socket_service,
        emitter=emitter,
        registry=registry,
        bus=bus,
        gateway=gateway,
        cluster=cluster,
        relay=EventRelay(sessionmaker, event_log, cluster, sockets.deliver),
        presence=presence,
        notices=notices,
        limiters=build_limiters(settings, backend.redis),
    )


def _database(
    settings: Settings,
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    pool = pool_options(
        settings.database_url,
        size=settings.database_pool_size,
        overflow=settings.database_max_overflow,
        timeout=settings.database_pool_timeout_seconds,
    )
    engine = create_engine(settings.database_url, **pool)
    return engine, create_sessionmaker(engine)


def grouped_writes(engine: AsyncEngine, event_log: EventLog) -> GroupedWrites | None:
    """The group committer of the hot writes, on a SQLite file through aiosqlite only
    (PostgreSQL runs concurrent transactions itself; an in-memory database has one
    connection)."""
    url = engine.url
    location = url.database or ""
    if url.get_backend_name() != "sqlite" or engine.dialect.driver != "aiosqlite":
        return None
    if location in ("", ":memory:") or location.startswith("file:"):
        return None
    return GroupedWrites(GroupCommit(location), engine.dialect, event_log)


def _gateway(
    settings: Settings,
    sockets: SocketServer,
    socket_service: SocketService,
    registry: EventHandlerRegistry,
    emitter: EventEmitter,
    rooms: RoomPolicy,
    presence: Presence,
) -> SocketGateway:
    """The connection lifecycle, with the database lookups it checks sockets against."""
    lookups = DatabaseLookups(socket_service.sessionmaker, settings.secret_key)
    return SocketGateway(
        sockets=sockets,
        service=socket_service,
        registry=registry,
        emitter=emitter,
        rooms=rooms,
        authenticate=lookups.authenticate,
        sync_status=StatusWrites(socket_service, emitter, presence.connections).sync,
        limits=GatewayLimits(
            rate=settings.rate_limit,
            max_message_bytes=settings.max_message_bytes,
            max_subscriptions=settings.max_subscriptions_per_socket,
            max_connections_per_user=settings.max_connections_per_user,
        ),
        presence=presence,
        current_admins=lookups.current_admins,
        admin_recheck_seconds=settings.admin_recheck_seconds,
        existing_users=lookups.existing_users,
        revoked_tokens=lookups.revoked_tokens,
        token_grace_seconds=settings.token_refresh_grace_seconds,
        recovery=Recovery(
            SessionStore(
                socket_service.sessionmaker, socket_service.event_log, socket_service.grouped
            ),
            rooms,
            enabled=settings.socket_recovery,
        ),
    )


@dataclass
class DatabaseLookups:
    """What the gateway asks the database (through auth's service), a session per call."""

    sessionmaker: async_sessionmaker[AsyncSession]
    secret_key: str
    token_reads: SharedReads = field(default_factory=SharedReads)
    holders: TokenHolders = field(init=False)

    def __post_init__(self) -> None:
        self.holders = TokenHolders(self.sessionmaker)

    async def authenticate(self, token: str | None) -> Credentials | None:
        """The token's holder, read once for the connects that present the same token at the
        same time (a user's tabs coming back together): a single flight, nothing kept, so a
        sign-out, disable or deletion is seen by the next connect, as with a read of its own."""
        if not token:
            return None
        credentials = await self.token_reads.run(token, lambda: self._holder_of(token))
        if credentials is None or credentials.expires_at <= utcnow():
            return None  # expired since the shared read began
        return credentials

    async def _holder_of(self, token: str) -> Credentials | None:
        """The token verified here, its holder read with those of the connects asking at the
        same time (`TokenHolders`)."""
        claims = read_access_token(token, secret_key=self.secret_key)
        if claims is None:
            return None
        held = await self.holders.holder(claims)
        if held is None:
            return None
        return Credentials(Viewer(held.user_id, held.is_admin), claims.jti, claims.expires_at)

    async def current_admins(self, user_ids: set[int]) -> set[int]:
        async with self.sessionmaker() as session:
            return await auth_service.admin_ids(session, user_ids)

    async def existing_users(self, user_ids: set[int]) -> set[int]:
        async with self.sessionmaker() as session:
            return await auth_service.active_ids(session, user_ids)

    async def revoked_tokens(self, jtis: set[str]) -> set[str]:
        async with self.sessionmaker() as session:
            return await revocation.revoked_among(session, jtis)


def build_limiters(settings: Settings, redis: aioredis.Redis | None) -> Limiters:
    """The REST throttles, their keys under `REDIS_CHANNEL:<name>` in the app's Redis."""
    channel = settings.redis_channel
    return Limiters(
        writes=RateLimiter(settings.write_rate, redis, f"{channel}:writes"),
        registrations=RateLimiter(settings.register_rate, redis, f"{channel}:register:address"),
        login=LoginThrottle.create(settings, redis),
    )
