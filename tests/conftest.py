"""The suite's fixtures come from Mindwire's pytest plugin (`src/testing/`, loaded by the
`pytest11` entry point of the installed package, as in a user's project), so there is one copy
of them. Here: only what the suite needs beyond the plugin."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from src.core.config import Settings

# Re-exported for tests that import them from here.
from src.testing.stacks import TEST_DATABASE_URL, TEST_REDIS_URL, TEST_SECRET
from tests.hostile import FIGURES, ServerProcess
from tests.support import server_env

__all__ = ["TEST_DATABASE_URL", "TEST_REDIS_URL", "TEST_SECRET"]

# pytest's own `pytester`: the kit's tests run pytest in a fresh folder, as a user would.
pytest_plugins = ["pytester"]


@pytest.hookimpl(trylast=True)  # after the plugin's own pytest_configure has loaded them
def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("src.testing.fixtures"):
        raise pytest.UsageError(
            "Mindwire's pytest plugin is not loaded: install the package with its test extra "
            "(`make dev`, or pip install -e '.[dev]')"
        )


@pytest.fixture(scope="session")
def npm() -> str:
    """npm's path; tests that drive Node code skip without Node."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed (Node.js 20+)")
    return npm


@pytest.fixture
def server_process(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start the app in a process of its own, on this test's database and Redis channel (the
    hostile-input tests of several packages measure a server apart from their clients).

    Keywords are settings in environment form (`SOCKET_RATE_LIMIT="5/1s"`).
    """
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        server = ServerProcess(server_env(settings, **env), tmp_path / f"server-{len(started)}.log")
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The figures the hostile-input tests measured (`tests/hostile.py` `report`)."""
    if FIGURES:
        terminalreporter.section("hostile input: figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
