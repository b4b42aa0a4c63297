"""The pytest plugin as an installed package gives it: loaded by its entry point in every
pytest run of the environment, cheap to load, harmless without the `testing` extra."""

from __future__ import annotations

import pytest

# A user's test module in a folder of its own (no conftest.py, no pytest_plugins).
USES_A_FIXTURE = """
def test_plain():
    assert 1 + 1 == 2

def test_settings(settings):
    assert settings.database_url.startswith("sqlite")
"""

# Imported before the entry points (`-p`), it makes the extra's modules unimportable, as in
# an environment where mindwire was installed without `[testing]`.
WITHOUT_THE_EXTRA = """
import sys

for name in ("pytest_asyncio", "httpx", "asgi_lifespan", "aiohttp"):
    sys.modules[name] = None
"""


def test_fixtures_come_from_the_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USES_A_FIXTURE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "not postgres")
    result.assert_outcomes(passed=2)


def test_async_fixtures_work_in_strict_mode_too(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        asyncio_mode = strict
        asyncio_default_fixture_loop_scope = function
        """
    )
    pytester.makepyfile(
        test_strict="""
        import pytest

        @pytest.mark.asyncio
        async def test_alice_is_signed_in(alice, client):
            response = await client.get("/api/users/me", headers=alice.headers)
            assert response.json()["email"] == "alice@example.com"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "not postgres")
    result.assert_outcomes(passed=1)


def test_loading_the_plugin_does_not_import_the_app(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_lazy="""
        import sys

        def test_nothing_heavy_loaded():
            assert "src.testing.fixtures" in sys.modules
            assert "src.main" not in sys.modules
            assert "sqlalchemy" not in sys.modules
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_without_the_extra_pytest_still_runs_and_says_why(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(block_extra=WITHOUT_THE_EXTRA, test_user=USES_A_FIXTURE)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "block_extra", "-p", "no:asyncio", "-k", "not postgres"
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "mindwire: test fixtures off, missing pytest_asyncio, httpx, asgi_lifespan, aiohttp: "
            "pip install 'mindwire[testing]'",
            "*fixture 'settings' not found*",
        ]
    )
