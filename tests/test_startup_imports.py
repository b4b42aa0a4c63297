"""What `mindwire serve` loads on the default stack (SQLite, in-memory Socket.IO manager).

Every module imported stays in the idle server's memory for its whole life: the modules only
another command or stack needs are imported where that command or stack runs, and this keeps
them there. Run in a fresh interpreter, since the test process has imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
# Not needed to serve: the migrations (`mindwire migrate`, tests), the contract renderers
# (`/asyncapi.json` on request; `mindwire asyncapi`, `gen-ts`, `gen-docs`) and, on SQLite,
# SQLAlchemy's PostgreSQL dialect.
import json, os, sys
import src.cli
if os.environ.get("PROBE_SERVED"):
    from src.app.served import create_app
else:
    from src.main import create_app
create_app()
if os.environ.get("PROBE_MIGRATE"):
    src.cli.migrate(os.environ["DATABASE_URL"])
lazy = (
    "alembic", "mako", "pygments", "src.contract", "sqlalchemy.dialects.postgresql",
    *os.environ.get("PROBE_ALSO", "").split(),
)
found = [m for m in sys.modules if any(m == p or m.startswith(p + ".") for p in lazy)]
print(json.dumps(sorted(found)))
"""


def loaded_by_serving(
    tmp_path: Path, *, migrate: bool = False, served: bool = False, also: str = ""
) -> list[str]:
    """The lazy modules present once the CLI is imported and the app built, as `serve` does
    (and the database migrated, with `migrate`); with `served`, through the factory `serve`
    hands uvicorn; `also`: more module names to look for."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "DATABASE_URL", "SOCKET_TRANSPORTS", "DATA_DIR")
    }
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'mindwire.db'}",
        SECRET_KEY="s" * 40,
        ENVIRONMENT="development",
    )
    if migrate:
        env["PROBE_MIGRATE"] = "1"
    if served:
        env["PROBE_SERVED"] = "1"
    env["PROBE_ALSO"] = also
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_serving_on_the_default_stack_imports_no_migration_or_contract_code(
    tmp_path: Path,
) -> None:
    assert loaded_by_serving(tmp_path) == []


def test_the_probe_sees_them_once_a_command_needs_them(tmp_path: Path) -> None:
    """The probe is not blind: migrating imports alembic (and mako) where it runs."""
    loaded = loaded_by_serving(tmp_path, migrate=True)
    assert "alembic" in loaded
    assert "mako" in loaded


def test_the_served_factory_imports_no_client_http_library(tmp_path: Path) -> None:
    """`mindwire serve`'s factory imports python-socketio without `requests` and `aiohttp`
    (its clients' libraries, ~15 MiB); imported the usual way, python-socketio loads both."""
    assert loaded_by_serving(tmp_path, served=True, also="requests aiohttp") == []
    assert {"requests", "aiohttp"} <= set(loaded_by_serving(tmp_path, also="requests aiohttp"))


def test_the_client_http_libraries_still_import_after_the_served_factory() -> None:
    """Hidden only while python-socketio loads: a later import of either works as usual."""
    probe = "from src.app.served import create_app; import aiohttp, requests; print('imported')"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "imported"
