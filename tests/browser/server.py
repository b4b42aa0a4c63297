"""A live server that can be stopped and started again on the same port and database, so a
page that was open across the restart reconnects to the address it knows."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from src.core.config import Settings
from src.main import create_app
from tests.support import LiveServer


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RestartableServer:
    """`start()` / `stop()` any number of times; each start is a new app on the same port."""

    def __init__(self, settings: Settings, port: int | None = None) -> None:
        self.settings = settings
        self.port = port or free_port()
        self.starts = 0
        self._running: tuple[LiveServer, threading.Thread] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self._running is None, "already running"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # The old server's connections may linger in TIME_WAIT on this port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        config = uvicorn.Config(
            create_app(self.settings),
            log_level="warning",
            ws_per_message_deflate=False,
            lifespan="on",
        )
        server = LiveServer(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on port {self.port}")
            time.sleep(0.01)
        server.url = self.url
        self._running = (server, thread)
        self.starts += 1

    def stop(self) -> None:
        if self._running is None:
            return
        server, thread = self._running
        self._running = None
        server.stop(thread)
        if thread.is_alive():
            raise RuntimeError(f"the server on port {self.port} did not stop")
