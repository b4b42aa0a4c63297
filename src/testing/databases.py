"""Migrated template databases, and a fresh copy of one for each test.

Migrating is the slow part, so it happens once per session; each test then gets a copy
(a file copy on SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from src.cli import migrate
from src.core.db import create_engine
from src.testing.stacks import TEMPLATE_DATABASE, TEST_DATABASE_URL


def sqlite_template(folder: Path) -> Path:
    """A migrated SQLite file in `folder`."""
    path = folder / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


def sqlite_copy(template: Path, folder: Path) -> str:
    """The URL of a copy of `template` in `folder`."""
    path = folder / "mindwire.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


def _server_url() -> str:
    if TEST_DATABASE_URL is None:
        raise RuntimeError("TEST_DATABASE_URL is not set")
    return TEST_DATABASE_URL


def _admin(sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""

    async def run() -> None:
        engine = create_engine(_server_url(), isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run())


def postgres_url(database: str) -> str:
    """TEST_DATABASE_URL's server, on `database`."""
    url = make_url(_server_url()).set(database=database)
    return url.render_as_string(hide_password=False)


@contextmanager
def postgres_template() -> Iterator[str]:
    """A migrated template database on TEST_DATABASE_URL's server, dropped at the end."""
    _admin(f"DROP DATABASE IF EXISTS {TEMPLATE_DATABASE} WITH (FORCE)")
    _admin(f"CREATE DATABASE {TEMPLATE_DATABASE}")
    try:
        migrate(postgres_url(TEMPLATE_DATABASE))
        yield TEMPLATE_DATABASE
    finally:
        _admin(f"DROP DATABASE IF EXISTS {TEMPLATE_DATABASE} WITH (FORCE)")


@contextmanager
def postgres_copy(template: str) -> Iterator[str]:
    """The URL of a new database made from `template`, dropped at the end."""
    name = f"mindwire_test_{uuid.uuid4().hex[:12]}"
    _admin(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield postgres_url(name)
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
