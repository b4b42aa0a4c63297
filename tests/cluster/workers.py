"""Real `mindwire serve` processes for multi-worker tests, and a reader that moves between them.

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

import httpx

from src.client import MindwireClient, RoomEvent
from src.events.schemas import EventType, MemoryLogEvent, SubscribeAck
from tests.cluster.private_services import wait_for_port
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
class Reader:
    """A reader of one room that may land on another worker at each connection, as a client
    behind a load balancer does: a `MindwireClient` per connection (it follows the resume
    rules of docs/contract.md), each resuming after the last event its predecessor handed over.

    It tallies what its handlers got: `late` counts new events older than one already handed
    over (ones a resume with `since` would have skipped): it must stay 0. Repeats (a relay that
    resumes after a dead leader's stored cursor sends some events twice) are dropped by id.
    """

    token: str
    room: str = "memory_logs"
    seen: dict[int, RoomEvent] = field(default_factory=dict)
    """event id -> the event, in the order handed over."""
    newest: int = 0
    moves: int = 0
    incomplete: int = 0
    late: int = 0
    client: MindwireClient | None = None

    def _on_event(self, event: RoomEvent) -> None:
        if event.event_id in self.seen:
            return  # a repeat that reached a new client: it has not seen the old one's ids
        if event.event_id < self.newest:
            self.late += 1
        self.seen[event.event_id] = event
        self.newest = max(self.newest, event.event_id)

    def _on_incomplete(self, _room: str, _ack: SubscribeAck) -> None:
        self.incomplete += 1

    async def connect(self, url: str) -> None:
        client = MindwireClient(url, token=self.token, on_incomplete=self._on_incomplete)
        self.client = client
        # The room is registered before the connection opens (`gather` starts its tasks in
        # order), as it is at a reconnect: an event about the user that comes through
        # `user_{id}` before the ack is held, not dropped as one no subscription carries (the
        # replay then skips it: the socket has it).
        await asyncio.gather(
            client.subscribe(self.room, self._on_event, since=self.newest), client.connect()
        )

    async def close(self) -> None:
        """Disconnect (events not handed over yet are dropped: the next `connect` replays them)."""
        if self.client is not None:
            client, self.client = self.client, None
            await client.close()

    async def move(self, url: str) -> None:
        """Leave this worker and resume on `url` after the last event handed over."""
        await self.close()
        self.moves += 1
        await self.connect(url)

    def log_ids(self) -> set[int]:
        """The ids of the memory logs whose `memory_log_created` reached the handler."""
        return {
            event.payload.id
            for event in self.seen.values()
            if event.type == EventType.MEMORY_LOG_CREATED
            and isinstance(event.payload, MemoryLogEvent)
        }
