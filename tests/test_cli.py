"""The `mindwire` console script, run as a user would run it."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support import run_mindwire


def mindwire(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "REDIS_URL", "SOCKET_TRANSPORTS")
    }
    full_env.update(env)
    return run_mindwire(*args, env=full_env)


@pytest.mark.parametrize(
    ("env", "missing"),
    [({}, "SECRET_KEY and REDIS_URL"), ({"SECRET_KEY": "k" * 40}, "REDIS_URL")],
)
def test_serve_with_workers_refuses_without_shared_settings(env, missing):
    result = mindwire("serve", "--workers", "2", **env)
    assert result.returncode == 2
    assert f"needs {missing}" in result.stderr


def test_serve_with_workers_refuses_long_polling_it_cannot_route():
    shared = {"SECRET_KEY": "k" * 40, "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = mindwire("serve", "--workers", "2", SOCKET_TRANSPORTS="polling,websocket", **shared)
    assert result.returncode == 2
    assert "SOCKET_TRANSPORTS=websocket" in result.stderr


def test_migrate_then_create_admin_prints_its_id(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    assert mindwire("migrate", DATABASE_URL=url).returncode == 0
    created = mindwire(
        "create-user", "root@example.com", "--password", "long-enough", "--admin", DATABASE_URL=url
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().isdigit()
    again = mindwire(
        "create-user", "ROOT@example.com", "--password", "long-enough", DATABASE_URL=url
    )
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_create_user_refuses_a_short_password(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    result = mindwire("create-user", "a@example.com", "--password", "short", DATABASE_URL=url)
    assert result.returncode == 2
    assert "8 to 128" in result.stderr
