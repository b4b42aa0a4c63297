"""Real `mindwire serve` processes for multi-worker tests, and a client that never misses.

Each `Worker` is its own OS process on its own port, sharing the test's PostgreSQL database
and Redis channel with the others, as two hosts behind a load balancer would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import socketio

from src.events.rooms import ROOM_EVENTS
from tests.scale.private_services import wait_for_port
from tests.support import free_port, stop_process

MINDWIRE = Path(sys.executable).with_name("mindwire")


@dataclass
class Worker:
    """One `mindwire serve` process; `kill()` is `kill -9`."""

    env: dict[str, str]
    log_path: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Worker:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                *(str(MINDWIRE), "serve", "--host", "127.0.0.1", "--port", str(self.port)),
                *("--workers", str(self.workers)),
            ],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"worker on port {self.port} did not get ready: {self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, like a crashed host."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@dataclass
class NeverMissClient:
    """A socket client that follows the replay rules to the letter, as `clients/typescript` does.

    It keeps the last event id per room and resubscribes with `since` after every reconnect.
    The id only advances once the (re)subscription is acknowledged: events that arrive before
    the ack (through the always-joined `user_{id}` room, or a replay cut short) are recorded
    but do not move the cursor, so a drop at any moment cannot skip an event. Only the events
    the room carries move it (a status event of `user_{id}` is not replayed with the room).
    Repeats are dropped by id.
    """

    token: str
    room: str = "memory_logs"
    cursor: int = 0
    seen: dict[int, dict[str, Any]] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    reconnects: int = 0
    incomplete: int = 0
    late: int = 0
    """New events older than the cursor: ones a resume with `since` would have skipped."""
    sio: socketio.AsyncClient | None = None
    _acked: bool = False
    _pending_max: int = 0

    async def connect(self, url: str) -> None:
        sio = socketio.AsyncClient(reconnection=False)
        self._acked = False
        self._pending_max = self.cursor

        async def on_any(event: str, *args: Any) -> None:
            if len(args) == 2 and isinstance(args[1], dict) and "event_id" in args[1]:
                self._record(event, args[0], args[1]["event_id"])

        sio.on("*", on_any)
        await sio.connect(
            url, auth={"token": self.token}, transports=["websocket"], wait_timeout=10
        )
        self.sio = sio
        ack = await sio.call(
            "subscribe_event", {"event_type": self.room, "since": self.cursor}, timeout=30
        )
        if not ack.get("ok"):
            raise AssertionError(f"subscribe failed: {ack}")
        if not ack.get("complete", True):
            self.incomplete += 1
        self.cursor = max(self.cursor, self._pending_max)
        self._acked = True

    def _record(self, event: str, data: dict[str, Any], event_id: int) -> None:
        new = event_id not in self.seen
        if new:
            self.seen[event_id] = {"event": event, "data": data}
            self.order.append(event_id)
        if event not in ROOM_EVENTS[self.room]:
            # Carried by another room of the socket (`user_{id}`'s status events, `admin`):
            # that room's ids are not this room's cursor, as in `clients/typescript`.
            return
        if new and self._acked and event_id < self.cursor:
            self.late += 1
        if self._acked:
            self.cursor = max(self.cursor, event_id)
        else:
            self._pending_max = max(self._pending_max, event_id)

    async def drop(self) -> None:
        """Close the connection abruptly from the client side (a network drop)."""
        if self.sio is not None:
            sio, self.sio = self.sio, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sio.disconnect(), 5)

    async def reconnect(self, url: str) -> None:
        await self.drop()
        self.reconnects += 1
        await self.connect(url)

    def ids(self, event: str) -> set[int]:
        return {event_id for event_id, item in self.seen.items() if item["event"] == event}
