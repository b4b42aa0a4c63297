"""The `mindwire` console script, run as a user would run it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import EMAIL_RULE_CASES, RecordingClient, free_port, run_mindwire, stop_process

OWN_SETTINGS = (
    *("SECRET_KEY", "REDIS_URL", "SOCKET_TRANSPORTS", "DATABASE_URL", "DATA_DIR"),
    *("ENVIRONMENT", "LOG_FORMAT", "LOG_LEVEL"),
)
"""Settings each test gives itself: the defaults, unless a test sets them."""


@pytest.fixture(autouse=True)
def in_a_folder_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command runs in the test's folder: `./data` (the default database and the
    development key) is the test's own, never the repository's."""
    monkeypatch.chdir(tmp_path)


def cli_env(**env: str) -> dict[str, str]:
    full_env = {k: v for k, v in os.environ.items() if k.upper() not in OWN_SETTINGS}
    full_env.update(env)
    return full_env


def mindwire(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_mindwire(*args, env=cli_env(**env))


@contextlib.contextmanager
def serving(log: Path, **env: str) -> Iterator[str]:
    """`mindwire serve` on a free port, run from the test's folder, until the block ends;
    yields its URL. Its output is appended to `log`."""
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "src.cli", "serve", "--port", str(port)],
            env=cli_env(**env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mindwire serve did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        stop_process(process)


def _healthy(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    return False


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


# -- bad settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "env", "words"),
    [
        pytest.param(
            ["migrate"],
            {"SOCKET_RATE_LIMIT": "abc"},
            ["SOCKET_RATE_LIMIT='abc'", "'20/1s'"],
            id="rate-limit",
        ),
        pytest.param(
            ["serve"], {"LOG_FORMAT": "xml"}, ["LOG_FORMAT='xml'", "'text' or 'json'"], id="format"
        ),
        pytest.param(
            ["serve"],
            {"ENVIRONMENT": "production"},
            ["SECRET_KEY=''", "ENVIRONMENT=production"],
            id="production-without-key",
        ),
        pytest.param(
            ["create-user", "a@example.com", "--password", "long-enough"],
            {"ENVIRONMENT": "production", "SECRET_KEY": "changeme"},
            ["SECRET_KEY='changeme'", "ENVIRONMENT=production"],
            id="production-with-placeholder",
        ),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(command, env, words):
    result = mindwire(*command, **env)

    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert all(word in result.stderr for word in words), result.stderr


def test_a_bad_setting_under_uvicorn_factory_is_one_log_line_and_exit_2():
    command = [sys.executable, "-m", "uvicorn", "src.main:create_app", "--factory"]
    command += ["--port", str(free_port())]
    result = subprocess.run(
        command,
        env=cli_env(LOG_FORMAT="xml"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if "LOG_FORMAT" in line] == [
        "invalid setting LOG_FORMAT='xml': input should be 'text' or 'json'"
    ]


# -- the development key -------------------------------------------------------------------------


def test_serve_that_cannot_keep_a_development_key_says_so_in_one_line(tmp_path):
    (tmp_path / "not-a-folder").write_text("")

    result = mindwire("serve", "--port", str(free_port()), DATA_DIR="not-a-folder")

    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "the development key cannot be kept in not-a-folder/secret_key" in result.stderr


def test_migrate_and_create_user_neither_mention_nor_make_a_key(tmp_path):
    migrated = mindwire("migrate")
    created = mindwire("create-user", "ann@example.com", "--password", "long-enough")

    assert (migrated.returncode, created.returncode) == (0, 0), migrated.stderr + created.stderr
    assert "SECRET_KEY" not in migrated.stderr + created.stderr
    assert (tmp_path / "data" / "mindwire.db").exists()
    assert not (tmp_path / "data" / "secret_key").exists()


def migrated_default_database(template: Path, folder: Path) -> None:
    """The default database (`./data/mindwire.db`), migrated, in the test's folder."""
    (folder / "data").mkdir()
    shutil.copyfile(template, folder / "data" / "mindwire.db")


async def test_serve_without_a_key_keeps_its_tokens_valid_across_a_restart(
    sqlite_template, tmp_path
):
    migrated_default_database(sqlite_template, tmp_path)
    log = tmp_path / "serve.log"
    account = {"email": "kim@example.com", "password": "long-enough"}
    with serving(log) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            assert (await http.post("/api/auth/register", json=account)).status_code == 201
            form = {"username": account["email"], "password": account["password"]}
            token = (await http.post("/api/auth/token", data=form)).json()["access_token"]

    with serving(log) as url:  # the restart
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            me = await http.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
        client = RecordingClient.create()
        try:
            await client.connect(url, token)
            await client.wait_for("connection_established")
        finally:
            await client.close()

    assert me.status_code == 200
    assert stat.S_IMODE((tmp_path / "data" / "secret_key").stat().st_mode) == 0o600
    assert log.read_text().count("development key stored in data/secret_key") == 2


def test_serve_with_json_logs_writes_json_lines_only(sqlite_template, tmp_path):
    migrated_default_database(sqlite_template, tmp_path)
    log = tmp_path / "serve.log"
    with serving(log, LOG_FORMAT="json") as url:
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    loggers = {entry["logger"] for entry in entries}
    assert {"mindwire.config", "uvicorn.error", "uvicorn.access"} <= loggers
    assert any("SECRET_KEY is not set" in entry["message"] for entry in entries)


KEY_WRITER = """
import sys, time
from pathlib import Path
from src.core.secret_key import stored_key
go = Path(sys.argv[1])
deadline = time.monotonic() + 30
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.001)
print(stored_key(Path(sys.argv[2])))
"""


def test_processes_starting_together_agree_on_one_key(tmp_path):
    go, key_file = tmp_path / "go", tmp_path / "data" / "secret_key"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", KEY_WRITER, str(go), str(key_file)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    time.sleep(1)  # let them import, then start them at once
    go.touch()
    keys = {writer.communicate(timeout=60)[0].strip() for writer in writers}

    assert keys == {key_file.read_text().strip()}
    assert [path.name for path in key_file.parent.iterdir()] == ["secret_key"]


# -- the email rule --------------------------------------------------------------------------------


@pytest.mark.parametrize(("email", "stored"), EMAIL_RULE_CASES)
def test_create_user_applies_the_email_rule_of_register(sqlite_template, tmp_path, email, stored):
    shutil.copyfile(sqlite_template, tmp_path / "cli.db")
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"

    result = mindwire("create-user", email, "--password", "long-enough", DATABASE_URL=url)

    if stored is None:
        assert result.returncode == 2
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and "is not a valid email address" in lines[0], result.stderr
    else:
        assert result.returncode == 0, result.stderr
        with contextlib.closing(sqlite3.connect(tmp_path / "cli.db")) as database:
            assert database.execute("SELECT email FROM users").fetchall() == [(stored,)]
