"""`build_services`: every service of one app, each given what it needs when it is made.

The one place that wires them: `src/app/lifespan.py` starts and stops what this builds."""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
import socketio

from src.app.services import AppServices, Limiters
from src.auth import revocation
from src.auth import service as auth_service
from src.auth.notices import AccessNotices
from src.auth.throttle import LoginThrottle
from src.core.config import Settings
from src.core.db import create_engine, create_sessionmaker, pool_options
from src.core.metrics import Metrics
from src.core.rate_limit import RateLimiter
from src.events.bus import EventBus, forward_to_sockets
from src.events.cluster import RedisCluster, create_cluster
from src.events.emitters import EventEmitter
from src.events.expiry import Credentials
from src.events.gateway import GatewayLimits, SocketGateway
from src.events.handlers import EventHandlerRegistry
from src.events.log import EventLog
from src.events.presence import LocalPresence, Presence, RedisPresence
from src.events.recovery import Recovery
from src.events.recovery_store import SessionStore
from src.events.relay import EventRelay
from src.events.rooms import RoomPolicy, Viewer
from src.events.socket_handlers import register_all_handlers
from src.events.socket_service import SocketService

logger = logging.getLogger("mindwire")


def build_services(settings: Settings, sio: socketio.AsyncServer) -> AppServices:
    """Wire one app's services together; nothing here opens a connection yet."""
    pool = pool_options(
        settings.database_url,
        size=settings.database_pool_size,
        overflow=settings.database_max_overflow,
        timeout=settings.database_pool_timeout_seconds,
    )
    engine = create_engine(settings.database_url, **pool)
    sessionmaker = create_sessionmaker(engine)
    metrics = Metrics()
    event_log = EventLog(settings.event_retention_seconds)
    socket_service = SocketService(
        sio, sessionmaker=sessionmaker, event_log=event_log, rooms=RoomPolicy(), metrics=metrics
    )
    emitter = EventEmitter(socket_service)
    cluster = create_cluster(settings.redis_url, settings.redis_channel)
    redis = cluster.redis if isinstance(cluster, RedisCluster) else None  # the one client
    relay = EventRelay(sessionmaker, event_log, cluster, socket_service.deliver)
    socket_service.committed = relay.committed
    presence: Presence = (
        RedisPresence(redis, settings.redis_channel, cluster.process_id)
        if redis is not None
        else LocalPresence()
    )
    registry = EventHandlerRegistry(logging.getLogger("mindwire.events"), metrics)
    register_all_handlers(registry, sio)
    bus = EventBus()
    forward_to_sockets(bus, emitter)

    async def authenticate(token: str | None) -> Credentials | None:
        async with sessionmaker() as session:
            held = await auth_service.holder_of_token(
                session, token, secret_key=settings.secret_key
            )
        if held is None:
            return None
        user, claims = held
        return Credentials(Viewer(user.id, user.is_admin), claims.jti, claims.expires_at)

    async def sync_status(user_id: int) -> None:
        async with sessionmaker() as session:
            await auth_service.follow_presence(
                session, emitter, user_id=user_id, connections=lambda: presence.connections(user_id)
            )

    async def current_admins(user_ids: set[int]) -> set[int]:
        async with sessionmaker() as session:
            return await auth_service.admin_ids(session, user_ids)

    async def existing_users(user_ids: set[int]) -> set[int]:
        async with sessionmaker() as session:
            return await auth_service.active_ids(session, user_ids)

    async def revoked_tokens(jtis: set[str]) -> set[str]:
        async with sessionmaker() as session:
            return await revocation.revoked_among(session, jtis)

    gateway = SocketGateway(
        service=socket_service,
        registry=registry,
        emitter=emitter,
        authenticate=authenticate,
        sync_status=sync_status,
        limits=GatewayLimits(
            rate=settings.rate_limit,
            max_message_bytes=settings.max_message_bytes,
            max_subscriptions=settings.max_subscriptions_per_socket,
            max_connections_per_user=settings.max_connections_per_user,
        ),
        presence=presence,
        current_admins=current_admins,
        admin_recheck_seconds=settings.admin_recheck_seconds,
        existing_users=existing_users,
        revoked_tokens=revoked_tokens,
        token_grace_seconds=settings.token_refresh_grace_seconds,
        recovery=Recovery(
            SessionStore(sessionmaker, event_log),
            socket_service.rooms,
            enabled=settings.socket_recovery,
        ),
    )
    gateway.bind()
    notices = AccessNotices(gateway, cluster)
    if isinstance(cluster, RedisCluster):
        cluster.on_notice = notices.received
    return AppServices(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        metrics=metrics,
        event_log=event_log,
        socket_service=socket_service,
        emitter=emitter,
        registry=registry,
        bus=bus,
        gateway=gateway,
        cluster=cluster,
        relay=relay,
        presence=presence,
        notices=notices,
        limiters=build_limiters(settings, redis),
    )


def build_limiters(settings: Settings, redis: aioredis.Redis | None) -> Limiters:
    """The REST throttles, their keys under `REDIS_CHANNEL:<name>` in the app's Redis."""
    channel = settings.redis_channel
    return Limiters(
        writes=RateLimiter(settings.write_rate, redis, f"{channel}:writes"),
        registrations=RateLimiter(settings.register_rate, redis, f"{channel}:register:address"),
        login=LoginThrottle.create(settings, redis),
    )
