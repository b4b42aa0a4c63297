"""Fixtures of the hostile-input tests, and the figures they print in pytest's summary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from src.core.config import Settings
from tests.conftest import TEST_SECRET
from tests.security.support import FIGURES, ServerProcess
from tests.support import throttles_env


@pytest.fixture
def server_process(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start the app in a process of its own, on this test's database and Redis channel.

    Keywords are settings in environment form (`SOCKET_RATE_LIMIT="5/1s"`).
    """
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        values = {
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url or "",
            "REDIS_CHANNEL": settings.redis_channel,
            "SECRET_KEY": TEST_SECRET,
            "LOG_LEVEL": "WARNING",
            **throttles_env(settings),
            **env,
        }
        server = ServerProcess(values, tmp_path / f"server-{len(started)}.log")
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("hostile input: figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
