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

from src.auth import service as auth_service
from src.core.config import Settings
from src.core.db import create_engine, create_sessionmaker
from src.core.metrics import Metrics
from src.core.state import AppServices
from src.events.bus import EventBus, forward_to_sockets
from src.events.emitters import EventEmitter
from src.events.gateway import GatewayLimits, SocketGateway
from src.events.handlers import EventHandlerRegistry
from src.events.log import EventLog
from src.events.managers import close_client_manager
from src.events.rooms import RoomPolicy, Viewer
from src.events.schemas import UserStatus
from src.events.socket_handlers import register_all_handlers
from src.events.socket_service import SocketService

logger = logging.getLogger("mindwire")


def build_services(settings: Settings, sio: socketio.AsyncServer) -> AppServices:
    """Wire one app's services together; nothing here opens a connection yet."""
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    metrics = Metrics()
    event_log = EventLog(settings.event_retention_seconds)
    socket_service = SocketService(
        sio, sessionmaker=sessionmaker, event_log=event_log, rooms=RoomPolicy(), metrics=metrics
    )
    emitter = EventEmitter(socket_service)
    registry = EventHandlerRegistry(logging.getLogger("mindwire.events"), metrics)
    register_all_handlers(registry, sio)
    bus = EventBus()
    forward_to_sockets(bus, emitter)

    async def authenticate(token: str | None) -> Viewer | None:
        async with sessionmaker() as session:
            user = await auth_service.viewer_for_token(
                session, token, secret_key=settings.secret_key
            )
            return Viewer(user.id, user.is_admin) if user else None

    async def on_status_change(user_id: int, status: str) -> None:
        presence_status: UserStatus = "online" if status == "online" else "offline"
        async with sessionmaker() as session:
            await auth_service.set_status(session, emitter, user_id=user_id, status=presence_status)

    gateway = SocketGateway(
        service=socket_service,
        registry=registry,
        emitter=emitter,
        authenticate=authenticate,
        on_status_change=on_status_change,
        limits=GatewayLimits(
            rate=settings.rate_limit,
            max_message_bytes=settings.max_message_bytes,
            max_subscriptions=settings.max_subscriptions_per_socket,
        ),
    )
    gateway.bind()
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


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    sio: socketio.AsyncServer = app.state.sio
    services = build_services(settings, sio)
    app.state.services = services
    # The seed guide's names: `request.app.state.event_emitter` and friends.
    app.state.event_emitter = services.emitter
    app.state.socket_service = services.socket_service
    app.state.event_registry = services.registry
    app.state.event_bus = services.bus
    pruner = asyncio.create_task(prune_forever(services))
    try:
        yield
    finally:
        pruner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pruner
        await sio.shutdown()
        await services.gateway.drain()
        await close_client_manager(sio.manager)
        await services.engine.dispose()
