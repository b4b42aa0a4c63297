"""A real uvicorn server in a thread, on a free port of 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvicorn

from src.app.services import AppServices
from src.app.serving import uvicorn_options
from src.core.config import Settings
from src.main import create_app

T = TypeVar("T")


class LiveServer(uvicorn.Server):
    """uvicorn in a thread on a socket bound to port 0 (the pattern of httpx's TestServer).

    Tests talk to it over real sockets, as clients do; it runs its own event loop, so its
    services may be used only through `run_on_server`.
    """

    loop: asyncio.AbstractEventLoop | None = None
    url: str = ""

    def install_signal_handlers(self) -> None:  # the main thread owns signals
        pass

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)

    @property
    def services(self) -> AppServices:
        """The running app's services (use them only through `run_on_server`)."""
        app: Any = self.config.app
        services: AppServices = app.other_asgi_app.state.services
        return services

    async def run_on_server(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await `coroutine` on the server's own event loop, e.g. an emitter call."""
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return await asyncio.wrap_future(future)

    @classmethod
    def start(cls, settings: Settings, port: int = 0) -> tuple[LiveServer, threading.Thread, str]:
        """A new app on `port` (0: a free one), served from a thread once it has started."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A restarted server's old connections may linger in TIME_WAIT on its port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(settings),
            log_level="warning",
            lifespan="on",
            **uvicorn_options(settings),
        )
        server = cls(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the live server did not start on port {port}")
            time.sleep(0.01)
        server.url = f"http://127.0.0.1:{port}"
        return server, thread, server.url

    def stop(self, thread: threading.Thread) -> None:
        self.should_exit = True
        thread.join(timeout=15)
