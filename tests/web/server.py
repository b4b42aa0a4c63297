"""A live server that can be stopped and started again on the same port and database, so a
page that was open across the restart reconnects to the address it knows."""

from __future__ import annotations

import threading

from src.core.config import Settings
from tests.support import LiveServer, free_port


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
        server, thread, _url = LiveServer.start(self.settings, port=self.port)
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
