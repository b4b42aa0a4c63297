"""sqlite ids never reused

On SQLite, an INTEGER PRIMARY KEY without AUTOINCREMENT hands a deleted newest row's id to
the next insert: a new user could inherit a deleted user's id (and tokens), and a new note
the id of a deleted one. Rebuild those tables with AUTOINCREMENT. Nothing to do elsewhere:
PostgreSQL sequences never go back.

Revision ID: 5b2f0c1d9e7a
Revises: 126388acdf03
Create Date: 2026-11-29 14:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b2f0c1d9e7a"
down_revision: str | None = "126388acdf03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("users", "memory_logs", "mental_notes")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
