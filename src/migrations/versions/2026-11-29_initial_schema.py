"""initial schema

Revision ID: a039e5199767
Revises:
Create Date: 2026-11-29 12:58:55.743430
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import src.core.db


revision: str = 'a039e5199767'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('event_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('emitted_at', src.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_log')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('event_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_log_emitted_at'), ['emitted_at'], unique=False)

    op.create_table('event_log_watermark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pruned_through', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_log_watermark'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('hashed_password', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_changed_at', src.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', src.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_email'), ['email'], unique=True)

    op.create_table('event_log_rooms',
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('room', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event_log.id'], name=op.f('fk_event_log_rooms_event_id_event_log'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'room', name=op.f('pk_event_log_rooms'))
    )
    with op.batch_alter_table('event_log_rooms', schema=None) as batch_op:
        batch_op.create_index('ix_event_log_rooms_room_event_id', ['room', 'event_id'], unique=False)

    op.create_table('memory_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('created_at', src.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', src.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memory_logs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memory_logs'))
    )
    with op.batch_alter_table('memory_logs', schema=None) as batch_op:
        batch_op.create_index('ix_memory_logs_user_id_id', ['user_id', 'id'], unique=False)

    op.create_table('mental_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('created_at', src.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', src.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mental_notes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mental_notes'))
    )
    with op.batch_alter_table('mental_notes', schema=None) as batch_op:
        batch_op.create_index('ix_mental_notes_user_id_id', ['user_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('mental_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_mental_notes_user_id_id')

    op.drop_table('mental_notes')
    with op.batch_alter_table('memory_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_memory_logs_user_id_id')

    op.drop_table('memory_logs')
    with op.batch_alter_table('event_log_rooms', schema=None) as batch_op:
        batch_op.drop_index('ix_event_log_rooms_room_event_id')

    op.drop_table('event_log_rooms')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_email'))

    op.drop_table('users')
    op.drop_table('event_log_watermark')
    with op.batch_alter_table('event_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_log_emitted_at'))

    op.drop_table('event_log')
