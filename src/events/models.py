"""Tables of the event log (outbox): one row per event, one row per delivery room."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from src.core.db import Base, UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; elsewhere event ids are 64-bit.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class EventRecord(Base):
    __tablename__ = "event_log"
    # AUTOINCREMENT keeps SQLite from reusing the id of a pruned newest event.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    event_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    emitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    rooms: Mapped[list[EventRoom]] = relationship(
        back_populates="event", cascade="all, delete-orphan", passive_deletes=True
    )


class EventRoom(Base):
    """A delivery room that carries an event; replay looks events up by room and id."""

    __tablename__ = "event_log_rooms"
    __table_args__ = (Index("ix_event_log_rooms_room_event_id", "room", "event_id"),)

    event_id: Mapped[int] = mapped_column(
        EventId, ForeignKey("event_log.id", ondelete="CASCADE"), primary_key=True
    )
    room: Mapped[str] = mapped_column(String(128), primary_key=True)
    event: Mapped[EventRecord] = relationship(back_populates="rooms")


class EventLogWatermark(Base):
    """The highest event id ever pruned: replay after an older `since` is incomplete."""

    __tablename__ = "event_log_watermark"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pruned_through: Mapped[int] = mapped_column(EventId, default=0)


class EventRelayCursor(Base):
    """The highest event id the relay has sent live; a new relay leader resumes after it."""

    __tablename__ = "event_relay"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    relayed_through: Mapped[int] = mapped_column(EventId, default=0)


class SocketSession(Base):
    """A socket's recovery record (Connection State Recovery, `src/transport/recovery.py`).

    Keyed by the private session id `pid` the client gets in its CONNECT reply; kept in the
    database, not in a process, so a client resumes on any worker, after a restart too.
    """

    __tablename__ = "socket_sessions"

    pid: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    rooms: Mapped[list[str]] = mapped_column(JSON)
    """The socket's delivery rooms besides its own `user_{id}` (re-authorised on resume)."""
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    """Last connect, room change or disconnect: the record goes `EVENT_RETENTION_SECONDS` later."""
