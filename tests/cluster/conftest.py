"""Multi-process fixtures: real `mindwire serve` workers on the test's PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from src.core.config import Settings
from tests.cluster.workers import Worker
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, TEST_SECRET
from tests.support import throttles_env


@pytest.fixture(autouse=True)
def _needs_services() -> None:
    """(A `pytestmark` in a conftest applies to nothing, so skip from a fixture.)"""
    if not (TEST_DATABASE_URL and TEST_REDIS_URL):
        pytest.skip(
            "multi-worker tests need PostgreSQL and Redis: set TEST_DATABASE_URL and TEST_REDIS_URL"
        )


@pytest.fixture
def stack() -> str:
    """Several processes share one database and one Redis: the services stack only."""
    return "services"


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start `mindwire serve` processes sharing this test's database and Redis channel."""
    started: list[Worker] = []

    def start(workers: int = 1, **env: str) -> Worker:
        assert settings.redis_url is not None
        defaults = {
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "REDIS_CHANNEL": settings.redis_channel,
            "SECRET_KEY": TEST_SECRET,
            "SOCKET_TRANSPORTS": "websocket",
            "SOCKET_RATE_LIMIT": "1000/1s",
            "LOG_LEVEL": "WARNING",
            **throttles_env(settings),
        }
        if workers > 1:
            del defaults["SOCKET_TRANSPORTS"]  # `serve --workers N` chooses it
        worker = Worker(
            env={**defaults, **env},
            log_path=tmp_path / f"worker-{len(started)}.log",
            workers=workers,
        )
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()
