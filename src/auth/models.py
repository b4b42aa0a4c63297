"""The `users` table, and `revoked_tokens` (access tokens signed out before they expire)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from src.core.clock import utcnow
from src.core.db import Base, UTCDateTime


class User(Base):
    __tablename__ = "users"
    # AUTOINCREMENT: SQLite would otherwise give a deleted newest row's id to the next one.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(100), default=None)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # False: disabled by an admin; no sign-in, and every token of the user is refused.
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    status: Mapped[str] = mapped_column(String(16), default="offline")
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RevokedToken(Base):
    """An access token signed out (`POST /api/auth/logout`), kept until it would expire."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    # No foreign key: a revocation outlives nothing, and a deleted user's tokens fail anyway.
    user_id: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
