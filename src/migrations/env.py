"""Alembic environment: async engine, URL from Mindwire's settings (or the caller)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from src.auth import models as _auth_models  # noqa: F401  (registers tables)
from src.core.config import get_settings
from src.core.db import Base, create_engine
from src.events import models as _event_models  # noqa: F401
from src.memory_logs import models as _memory_log_models  # noqa: F401
from src.mental_notes import models as _mental_note_models  # noqa: F401

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    url = config.attributes.get("database_url")
    return str(url) if url else get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_engine(database_url())
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # A table rebuild drops the old table: with foreign keys on, that would
                # cascade-delete the rows that point at it. (Only takes effect outside a
                # transaction, so it runs first.)
                await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                await connection.commit()  # end the autobegun transaction; alembic runs its own
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
