"""FastAPI lifespan: builds every service of one app instance (`build.py`), starts its
background tasks and tears it all down.

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

from src.app.build import build_services
from src.app.services import AppServices
from src.auth import service as auth_service
from src.cluster.cluster import STOP_SECONDS, RedisCluster
from src.cluster.presence import LocalPresence, RedisPresence, reap_dead_processes_forever
from src.core.config import Settings
from src.core.gc_freeze import FREEZE
from src.core.gc_pacing import PACING
from src.transport.gateway import SocketGateway
from src.transport.managers import close_client_manager

logger = logging.getLogger("mindwire")


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
            recovery = services.gateway.recovery
            if recovery is not None:  # open sessions stay, closed ones past retention go
                await recovery.keep_alive(services.settings.event_retention_seconds / 2)
                await recovery.store.prune()
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
    services = build_services(settings, sio, app.state.backend)
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
    freeze = settings.socket_gc_freeze
    if freeze:
        FREEZE.start()  # first: pacing keeps the young threshold it sets
    pacing = settings.socket_gc_full_interval_seconds > 0
    if pacing:
        PACING.interval = settings.socket_gc_full_interval_seconds
        PACING.start()
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
        await services.backend.close()  # the one Redis client
        await services.notices.drain()
        await services.gateway.drain()  # closes that notices started
        await close_client_manager(sio.manager)
        if services.socket_service.grouped is not None:
            await services.socket_service.grouped.group.close()
        await services.engine.dispose()
        if pacing:
            PACING.stop()
        if freeze:
            FREEZE.stop()
