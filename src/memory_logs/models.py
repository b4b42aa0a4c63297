"""The `memory_logs` table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from src.core.clock import utcnow
from src.core.db import Base, UTCDateTime


class MemoryLog(Base):
    __tablename__ = "memory_logs"
    # AUTOINCREMENT: SQLite would otherwise give a deleted newest row's id to the next one.
    __table_args__ = (
        Index("ix_memory_logs_user_id_id", "user_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
