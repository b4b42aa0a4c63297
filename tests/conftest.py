"""The suite's fixtures come from Mindwire's pytest plugin (`src/testing/`, loaded by the
`pytest11` entry point of the installed package, as in a user's project), so there is one copy
of them. Here: only what the suite needs beyond the plugin."""

from __future__ import annotations

import shutil

import pytest

# Re-exported for tests that import them from here.
from src.testing.stacks import TEST_DATABASE_URL, TEST_REDIS_URL, TEST_SECRET

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
