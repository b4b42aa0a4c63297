"""`create_app(settings)`: the ASGI app, Socket.IO in front of FastAPI, built per call."""

from __future__ import annotations

import logging
from typing import Any

import socketio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from src.api.hot_writes import HotWrites
from src.api.main import api_router
from src.api.routes.dashboard import router as dashboard_router
from src.app.backend import Backend, choose_backend
from src.app.lifespan import lifespan
from src.core.allowed_methods import AllowedMethods
from src.core.body_limit import BodyLimit
from src.core.config import Settings, get_settings
from src.core.error_answers import add_error_handlers
from src.core.races import add_race_handler
from src.core.secret_key import with_signing_key
from src.core.settings_errors import SettingsError
from src.core.validation_errors import add_validation_handler
from src.transport import fastpath, outbox
from src.transport.door import DoorLimits, DoorServer
from src.transport.entry import SocketApp

logger = logging.getLogger("mindwire")


def _origin_checker(allowed: list[str]) -> Any:
    """Socket.IO CORS: the configured origins, plus the server's own origin always."""

    def is_allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin is None or origin in allowed:
            return True
        host = environ.get("HTTP_HOST")
        scheme = environ.get("wsgi.url_scheme", "http")
        return host is not None and origin in (f"{scheme}://{host}", f"https://{host}")

    return is_allowed


def create_sio(settings: Settings, backend: Backend) -> socketio.AsyncServer:
    manager = backend.client_manager(settings.socket_fanout)
    sio = DoorServer(
        door=DoorLimits(
            max_attachments=settings.max_attachments_per_message,
            max_message_bytes=settings.max_inbound_message_bytes,
            connect_timeout=settings.socket_connect_timeout_seconds,
            max_pending_per_address=settings.max_pending_connections_per_address,
        ),
        async_mode="asgi",
        client_manager=manager,
        cors_allowed_origins=_origin_checker(settings.cors_origin_list),
        # Engine.IO closes a connection whose single message exceeds this (docs/contract.md).
        max_http_buffer_size=settings.max_inbound_message_bytes,
        transports=settings.transports,
        logger=False,
        engineio_logger=False,
    )
    hub = fastpath.install(  # room broadcasts encoded once, written below the queue
        sio,
        write_buffer_limit=settings.socket_write_buffer_limit,
        flush_pause=settings.socket_flush_pause_ms / 1000,
    )
    outbox.install(  # every socket's queue bounded, replays paced, on every transport
        sio,
        hub,
        limit=settings.socket_write_buffer_limit,
        drain_timeout=settings.socket_drain_timeout_seconds,
    )
    return sio


def _settings_or_exit() -> Settings:
    """The environment's settings, for uvicorn's factory: a bad one is a log line and exit 2."""
    try:
        return with_signing_key(get_settings())
    except SettingsError as exc:
        for line in str(exc).splitlines():
            logger.error("%s", line)
        raise SystemExit(2) from None


def create_app(settings: Settings | None = None) -> socketio.ASGIApp:
    """Build the whole service; each call makes an independent app (tests make many).

    Without `settings` (uvicorn's factory, `mindwire serve`) they are read from the
    environment. Without a `SECRET_KEY`, the app signs with the stored development key.
    """
    settings = _settings_or_exit() if settings is None else with_signing_key(settings)
    fastapi_app = FastAPI(
        title="Mindwire",
        summary="Memory logs and mental notes, live over Socket.IO",
        version="0.1.0",
        lifespan=lifespan,
    )
    fastapi_app.state.settings = settings
    backend = choose_backend(settings)  # memory or Redis, decided once for the whole app
    fastapi_app.state.backend = backend
    sio = create_sio(settings, backend)
    fastapi_app.state.sio = sio
    # Innermost first: CORS answers preflights and adds its headers to every answer, the
    # 413 and 204 of the two below included. The hot creates, in front of the whole app,
    # leave to them whatever they would act on (`src/api/hot_writes.py`).
    fastapi_app.add_middleware(AllowedMethods, router=fastapi_app.router)
    fastapi_app.add_middleware(BodyLimit, max_bytes=settings.max_request_body_bytes)
    fastapi_app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    add_error_handlers(fastapi_app)
    add_validation_handler(fastapi_app)
    add_race_handler(fastapi_app)
    fastapi_app.include_router(api_router)
    fastapi_app.include_router(dashboard_router)
    # WebSockets of the Socket.IO path: a short call chain per idle connection (`entry.py`).
    hot = HotWrites(fastapi_app, max_bytes=settings.max_request_body_bytes)
    return SocketApp(sio, other_asgi_app=fastapi_app, rest_front=hot, socketio_path="socket.io")
