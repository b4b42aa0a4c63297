"""Engine and session factories, and the declarative `Base` every model shares."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from src.core import sqlite_driver
from src.core.clock import as_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention so Alembic migrations name constraints."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


MAX_INTEGER_ID = 2**31 - 1
"""Ids of users, logs and notes are INTEGER columns (32-bit on PostgreSQL): a larger id names
no row and must not reach the database (PostgreSQL refuses it with an error, not a miss)."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002
    ) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002
    ) -> datetime | None:
        return None if value is None else as_utc(value)


def sqlite_utc_text(value: datetime | None) -> str | None:
    """What a `UTCDateTime` is bound as on SQLite, in one C call: the UTC time in the text form
    SQLAlchemy's SQLite `DATETIME` stores (`YYYY-MM-DD HH:MM:SS.ffffff`, no offset). For plain
    `sqlite3` statements (the status trips, `src/auth/status_sql.py`); the hot writes bind a
    cached form of it, checked against SQLAlchemy's processor (`grouped_writes.utc_text`)."""
    return None if value is None else as_utc(value).isoformat(" ", "microseconds")[:26]


def _prepare_sqlite_file(url: str) -> None:
    """Create the folder of a file-backed SQLite database, so a fresh checkout just runs."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _connect_fewer_hops(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
    """aiosqlite engines connect through `sqlite_driver` (fewer trips to its thread)."""
    cparams["async_creator_fn"] = sqlite_driver.connect


def pool_options(url: str, *, size: int, overflow: int, timeout: float) -> dict[str, Any]:
    """Bounds of the connection pool: an engine on an in-memory SQLite database has one
    shared connection and takes none of them."""
    database = make_url(url).database
    if make_url(url).get_backend_name() == "sqlite" and database in (None, "", ":memory:"):
        return {}
    return {"pool_size": size, "max_overflow": overflow, "pool_timeout": timeout}


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`; SQLite gets foreign keys, WAL and a busy timeout."""
    is_sqlite = make_url(url).get_backend_name() == "sqlite"
    if is_sqlite:
        _prepare_sqlite_file(url)
    else:
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if engine.dialect.driver == "aiosqlite" and "async_creator" not in kwargs:
            event.listen(engine.sync_engine, "do_connect", _connect_fewer_hops)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
