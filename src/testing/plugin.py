"""Mindwire's pytest plugin, registered by the `pytest11` entry point `mindwire`.

pytest loads entry-point plugins in every run of the environment, so this module only checks,
cheaply, that the `testing` extra is installed, and then loads the fixtures
(`src.testing.fixtures`). Without the extra it adds one header line saying how to get them,
and nothing else: someone who installed plain `mindwire` keeps a working pytest.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

# What the fixtures import beyond mindwire's own dependencies: the `testing` extra.
NEEDED = ("pytest_asyncio", "httpx", "asgi_lifespan", "aiohttp")
FIXTURES = "src.testing.fixtures"


def why_off(config: pytest.Config) -> str | None:
    """Why the fixtures cannot load in this run, or None when they can."""
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        return f"missing {', '.join(missing)}: pip install 'mindwire[testing]'"
    module = sys.modules.get("pytest_asyncio.plugin")  # registered under any name, or not
    if module is None or not config.pluginmanager.is_registered(module):
        return "pytest-asyncio's plugin is not loaded (-p asyncio)"
    return None


def pytest_configure(config: pytest.Config) -> None:
    if why_off(config) is None:
        config.pluginmanager.import_plugin(FIXTURES)


def pytest_report_header(config: pytest.Config) -> str | None:
    reason = why_off(config)
    return None if reason is None else f"mindwire: test fixtures off, {reason}"
