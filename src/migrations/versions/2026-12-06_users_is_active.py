"""users is_active

An admin can disable a user (`PATCH /api/users/{user_id}`): existing users stay active.

Revision ID: 9d1f3b6a2c48
Revises: 3e8d1f6a2c47
Create Date: 2026-12-06 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d1f3b6a2c48"
down_revision: str | None = "3e8d1f6a2c47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_active")
