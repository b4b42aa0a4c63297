"""A real `mindwire serve` for the socket.io-client recovery tests, on the test's stack."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from src.core.config import Settings
from tests.cluster.workers import Worker
from tests.conftest import TEST_SECRET
from tests.support import throttles_env


@pytest.fixture
def serve(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start `mindwire serve` processes on this test's database (and Redis on services)."""
    started: list[Worker] = []

    def start(**env: str) -> Worker:
        values = {
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url or "",
            "REDIS_CHANNEL": settings.redis_channel,
            "SECRET_KEY": TEST_SECRET,
            "SOCKET_TRANSPORTS": "websocket",
            "LOG_LEVEL": "WARNING",
            **throttles_env(settings),
            **env,
        }
        worker = Worker(env=values, log_path=tmp_path / f"serve-{len(started)}.log")
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()
