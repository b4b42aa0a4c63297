"""Mindwire's pytest plugin, registered by the `pytest11` entry point `mindwire`.

pytest loads entry-point plugins in every run of the environment, so this module only checks,
cheaply, that the `testing` extra is installed, and then loads the fixtures
(`src.testing.fixtures`). Without the extra it adds one header line saying how to get them,
and nothing else: someone who installed plain `mindwire` keeps a working pytest.
"""

from __future__ import annotations

import importlib.util

import pytest

# What the fixtures import beyond mindwire's own dependencies: the `testing` extra.
NEEDED = ("pytest_asyncio", "httpx", "asgi_lifespan", "aiohttp")
FIXTURES = "src.testing.fixtures"


def missing_modules(config: pytest.Config) -> list[str]:
    """The extra's modules that are not installed (or pytest-asyncio's plugin, turned off)."""
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if "pytest_asyncio" not in missing and not config.pluginmanager.has_plugin("asyncio"):
        missing.append("pytest-asyncio's plugin (-p no:asyncio)")
    return missing


def pytest_configure(config: pytest.Config) -> None:
    if not missing_modules(config):
        config.pluginmanager.import_plugin(FIXTURES)


def pytest_report_header(config: pytest.Config) -> str | None:
    missing = missing_modules(config)
    if not missing:
        return None
    return (
        f"mindwire: test fixtures off, missing {', '.join(missing)}: "
        "pip install 'mindwire[testing]'"
    )
