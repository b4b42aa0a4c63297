"""Helpers of the suite beyond the test kit: the command line, Node, ports, processes, a
bounded wait for a condition, and a clock the test moves.

The live server, test users and recording socket clients live in the package (`src.testing`,
Mindwire's pytest plugin) and are re-exported here for the tests that import them from here."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import socketio
import uvicorn

from src.core.clock import utcnow
from src.core.config import Settings
from src.testing.clients import Received, RecordingClient, SocketFactory
from src.testing.server import LiveServer
from src.testing.stacks import TEST_SECRET
from src.testing.users import TestUser, UserFactory

__all__ = [
    "Clock",
    "LiveServer",
    "Received",
    "RecordingClient",
    "SocketFactory",
    "TestUser",
    "UserFactory",
    "free_port",
    "npm_ci",
    "refusal_message",
    "run_mindwire",
    "stop_process",
    "use_clock",
    "wait_until",
]


EMAIL_RULE_CASES = [
    pytest.param("Ann@Example.COM", "ann@example.com", id="mixed-case"),
    pytest.param(" spaced@example.com ", "spaced@example.com", id="surrounding-spaces"),
    pytest.param("dev@example.test", "dev@example.test", id="test-domain"),
    pytest.param("notanemail", None, id="no-at-sign"),
    pytest.param("gina@", None, id="no-domain"),
    pytest.param("root@localhost", None, id="no-dot-in-domain"),
    pytest.param("dev@printer.local", None, id="special-use-domain"),
    pytest.param("Ann <ann@example.com>", None, id="display-name"),
    pytest.param("ann@[127.0.0.1]", None, id="ip-address-domain"),
]
"""The email rule (`src/auth/email_rule.py`): an address and its stored form, or None when it
is refused; register (tests/api/test_auth_routes.py) and `create-user` (tests/test_cli.py)
both apply it."""


def throttles_env(settings: Settings) -> dict[str, str]:
    """The test settings' throttles, for a server started with environment variables."""
    return {
        "WRITE_RATE_LIMIT": settings.write_rate_limit,
        "MAX_CONCURRENT_WRITES_PER_USER": str(settings.max_concurrent_writes_per_user),
        "REGISTER_RATE_LIMIT": settings.register_rate_limit,
    }


def server_env(settings: Settings, **env: str) -> dict[str, str]:
    """The environment of a server process started on this test's database and Redis channel,
    with its secret and throttles; keywords are more settings in environment form."""
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "REDIS_CHANNEL": settings.redis_channel,
        "SECRET_KEY": TEST_SECRET,
        "LOG_LEVEL": "WARNING",
        **throttles_env(settings),
        **env,
    }


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


async def wait_until(what: str, ready: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll `ready` until it holds (what must happen), failing after `timeout` seconds.

    For what must happen; never for what must not (that needs a barrier: tests/barrier.py).
    """
    try:
        async with asyncio.timeout(timeout):
            while not ready():  # noqa: ASYNC110  (polls state that socket callbacks change)
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


class MonotonicClock:
    """Monotonic seconds that move only when the test says so (for the socket `TokenBucket`,
    and a running server's through `GatewayLimits.clock`). Binary fractions make exact sums."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Clock:
    """A clock the test moves by hand (for `EventLog(clock=...)`): retention is checked without
    waiting for it."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def use_clock(live_server: LiveServer, clock: Clock) -> None:
    """Stamp and expire the running server's events by `clock` from now on (its one `EventLog`
    serves the routes, the relay and the replays)."""

    async def install() -> None:  # on the server's loop, as its services must be used
        live_server.services.event_log.clock = clock

    await live_server.run_on_server(install())


@contextmanager
def serving_in_thread(server: uvicorn.Server, sock: socket.socket) -> Iterator[None]:
    """Run `server` on `sock` in a thread of its own until the block ends (it serves within
    15 s, or the test fails)."""
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=15)
