"""FastAPI lifespan: builds every service of one app instance and tears it down.

`socketio.ASGIApp` forwards lifespan to FastAPI only without its own start-up hooks, so all
start-up lives here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import socketio
from fastapi import FastAPI

from src.app.services import AppServices
from src.auth import revocation
from src.auth import service as auth_service
from src.auth.notices import AccessNotices
from src.core.config import Settings
from src.core.db import create_engine, create_sessionmaker, pool_options
from src.core.metrics import Metrics
from src.events.bus import EventBus, forward_to_sockets
from src.events.cluster import STOP_SECONDS, RedisCluster, create_cluster
from src.events.emitters import EventEmitter
from src.events.expiry import Credentials
from src.events.gateway import GatewayLimits, SocketGateway
from src.events.handlers import EventHandlerRegistry
from src.events.log import EventLog
from src.events.managers import close_client_manager
from src.events.presence import LocalPresence, Presence, RedisPresence, reap_dead_processes_forever
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
    relay = EventRelay(sessionmaker, event_log, cluster, socket_service.deliver)
    socket_service.committed = relay.committed
    presence: Presence = (
        RedisPresence(cluster.redis, settings.redis_channel, cluster.process_id)
        if isinstance(cluster, RedisCluster)
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
    )


async def prune_forever(services: AppServices) -> None:
    """Delete events past `EVENT_RETENTION_SECONDS`, checking a few times per window."""
    interval = min(60.0, max(1.0, services.settings.event_retention_seconds / 4))
    while True:
        await asyncio.sleep(interval)
        try:
            async with services.sessionmaker() as session:
                pruned = await services.event_log.prune(session)
            if pruned:
                logger.info("pruned %d expired events", pruned)
        except Exception:
            logger.exception("pruning the event log failed; retrying later")


async def recheck_sockets_forever(gateway: SocketGateway) -> None:
    """Every `ADMIN_RECHECK_SECONDS`, check open sockets against the database again: admin
    rights (`recheck_admins`), deleted or disabled users and revoked tokens (`recheck_access`).

    The safety net of the notices (`src/auth/notices.py`), which act at once but are lost
    while Redis is down, and of changes no request makes (a row deleted by hand)."""
    while True:
        await asyncio.sleep(gateway.admin_recheck_seconds)
        try:
            await gateway.recheck_access()
        except Exception:
            logger.exception("re-checking sockets' users and tokens failed; retrying later")
        try:
            await gateway.recheck_admins()
        except Exception:
            logger.exception("re-reading admin rights failed; retrying later")


async def _forget_stale_presence(services: AppServices) -> None:
    """A lone process starts with no connections: whoever is "online" is left from a crash."""
    try:
        async with services.sessionmaker() as session:
            cleared = await auth_service.mark_all_offline(session, services.emitter)
        if cleared:
            logger.info("%d users left online by an earlier process are now offline", cleared)
    except Exception as exc:  # the database is down: statuses are cleared on the next start
        logger.warning("could not clear stale presence: %s", exc)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    sio: socketio.AsyncServer = app.state.sio
    services = build_services(settings, sio)
    app.state.services = services
    # Short names for code that has only the request: `request.app.state.event_emitter`, ...
    app.state.event_emitter = services.emitter
    app.state.socket_service = services.socket_service
    app.state.event_registry = services.registry
    app.state.event_bus = services.bus
    await services.relay.prepare()
    if isinstance(services.presence, LocalPresence):
        await _forget_stale_presence(services)
    await services.cluster.start()
    pruner = asyncio.create_task(prune_forever(services), name="mindwire-prune")
    admin_checker = asyncio.create_task(
        recheck_sockets_forever(services.gateway), name="mindwire-socket-recheck"
    )
    background = [
        pruner,
        admin_checker,
        asyncio.create_task(services.relay.run_forever(), name="mindwire-relay"),
    ]
    if isinstance(services.presence, RedisPresence) and isinstance(services.cluster, RedisCluster):
        background.append(
            asyncio.create_task(
                reap_dead_processes_forever(
                    services.presence, services.cluster, services.gateway.mark_offline
                ),
                name="mindwire-reaper",
            )
        )
    try:
        yield
    finally:
        await sio.shutdown()
        await services.gateway.drain()
        # Redis loops stop by flag, not by cancellation (see `RedisCluster.stopped_within`).
        services.relay.stop()
        services.cluster.request_stop()
        pruner.cancel()  # these two only talk to the database
        admin_checker.cancel()
        await asyncio.wait(background, timeout=STOP_SECONDS)
        for task in background:
            task.cancel()  # only a task stuck past STOP_SECONDS
        await services.cluster.stop()
        await services.notices.drain()
        await services.gateway.drain()  # closes that notices started
        await close_client_manager(sio.manager)
        await services.engine.dispose()
