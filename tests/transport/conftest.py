"""A real `mindwire serve` for the socket.io-client recovery tests, on the test's stack."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from src.core.config import Settings
from tests.cluster.workers import Worker
from tests.support import server_env


@pytest.fixture
def serve(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start `mindwire serve` processes on this test's database (and Redis on services)."""
    started: list[Worker] = []

    def start(**env: str) -> Worker:
        values = server_env(settings, **{"SOCKET_TRANSPORTS": "websocket", **env})
        worker = Worker(env=values, log_path=tmp_path / f"serve-{len(started)}.log")
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()
