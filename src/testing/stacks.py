"""Which stacks the fixtures run on, read from the environment once per test session.

Cheap on purpose (no database or server imports): the fixtures module needs `STACKS` when
pytest loads it, long before any test runs.
"""

from __future__ import annotations

import os
import uuid

import pytest

# The secret every test app signs and checks tokens with (never a real one).
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256"
GENEROUS_THROTTLES: dict[str, str | int] = {
    "write_rate_limit": "100000/1s",
    "max_concurrent_writes_per_user": 100000,
    "register_rate_limit": "100000/1s",
}
"""The test settings write and register as fast as a test likes (a test that attacks a throttle
passes its own tight limits to `settings_factory`)."""
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
# One template per test session, so concurrent runs on one server never collide.
TEMPLATE_DATABASE = f"mindwire_template_{uuid.uuid4().hex[:8]}"

EMBEDDED = "embedded"
SERVICES = "services"

STACKS = [
    pytest.param(EMBEDDED, id="sqlite-memory"),
    pytest.param(
        SERVICES,
        id="postgres-redis",
        marks=pytest.mark.skipif(
            not (TEST_DATABASE_URL and TEST_REDIS_URL),
            reason="set TEST_DATABASE_URL and TEST_REDIS_URL to run on PostgreSQL and Redis",
        ),
    ),
]
