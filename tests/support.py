"""Test helpers: a live uvicorn server in a thread, users, and recording socket clients."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import socketio
import uvicorn

from src.core.config import Settings
from src.core.state import AppServices
from src.main import create_app

T = TypeVar("T")


def throttles_env(settings: Settings) -> dict[str, str]:
    """The test settings' throttles, for a server started with environment variables."""
    return {
        "WRITE_RATE_LIMIT": settings.write_rate_limit,
        "MAX_CONCURRENT_WRITES_PER_USER": str(settings.max_concurrent_writes_per_user),
        "REGISTER_RATE_LIMIT": settings.register_rate_limit,
    }


class LiveServer(uvicorn.Server):
    """uvicorn in a thread on a socket bound to port 0 (the pattern of httpx's TestServer)."""

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
            ws_per_message_deflate=False,
            lifespan="on",
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


@dataclass
class TestUser:
    id: int
    email: str
    password: str
    token: str
    is_admin: bool = False

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Received:
    event: str
    args: tuple[Any, ...]

    @property
    def data(self) -> Any:
        return self.args[0] if self.args else None

    @property
    def meta(self) -> dict[str, Any] | None:
        return self.args[1] if len(self.args) > 1 else None


@dataclass
class RecordingClient:
    """A real python-socketio client that records every event it receives, in order."""

    sio: socketio.AsyncClient
    received: list[Received] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @classmethod
    def create(cls) -> RecordingClient:
        client = cls(socketio.AsyncClient(reconnection=False))

        @client.sio.on("*")
        async def record(event: str, *args: Any) -> None:
            async with client._changed:
                client.received.append(Received(event, args))
                client._changed.notify_all()

        return client

    async def connect(self, url: str, token: str | None) -> None:
        auth = {"token": token} if token is not None else None
        await self.sio.connect(url, auth=auth, transports=["websocket"], wait_timeout=5)

    def events(self, name: str) -> list[Received]:
        return [item for item in self.received if item.event == name]

    async def wait_for(
        self,
        name: str,
        where: Callable[[Received], bool] = lambda _item: True,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Received]:
        """Wait until `count` events named `name` (and matching `where`) have arrived."""

        def matching() -> list[Received]:
            return [item for item in self.events(name) if where(item)]

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(matching()) >= count)
        return matching()

    async def call(self, event: str, data: Any = None, timeout: float = 5.0) -> Any:
        return await self.sio.call(event, data, timeout=timeout)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()


def run_mindwire(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `mindwire` command line as a user would, with this interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "src.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


async def refusal_message(url: str, auth: Any) -> str:
    """Connect with `auth` and return the `connect_error` message the server answered with."""
    client = socketio.AsyncClient(reconnection=False)
    refused: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @client.event
    async def connect_error(data: Any) -> None:
        if not refused.done():
            refused.set_result(data.get("message") if isinstance(data, dict) else str(data))

    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(url, auth=auth, transports=["websocket"], wait_timeout=5)
    message = await asyncio.wait_for(refused, 5)
    await client.disconnect()
    return message


def npm_ci(folder: Path, npm: str) -> None:
    """`npm ci` in `folder` unless node_modules already matches its package-lock.json."""
    digest = hashlib.sha256((folder / "package-lock.json").read_bytes()).hexdigest()
    stamp = folder / "node_modules" / ".mindwire-lock.sha256"
    if stamp.exists() and stamp.read_text() == digest:
        return
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"npm ci in {folder} failed:\n{result.stdout}\n{result.stderr}")
    stamp.write_text(digest)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a server process politely (SIGTERM), then for sure (SIGKILL) if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)
