"""socket sessions

Connection State Recovery: one row per recoverable socket (its private session id `pid`, its
user and its rooms), kept until `EVENT_RETENTION_SECONDS` after it was last seen.

Revision ID: 3e8d1f6a2c47
Revises: 7c4e2a9b1d30
Create Date: 2026-12-06 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import src.core.db

revision: str = "3e8d1f6a2c47"
down_revision: str | None = "7c4e2a9b1d30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "socket_sessions",
        sa.Column("pid", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("rooms", sa.JSON(), nullable=False),
        sa.Column("seen_at", src.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pid", name=op.f("pk_socket_sessions")),
    )
    with op.batch_alter_table("socket_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_socket_sessions_seen_at"), ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("socket_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_socket_sessions_seen_at"))
    op.drop_table("socket_sessions")
