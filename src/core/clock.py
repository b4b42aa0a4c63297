"""Time in one convention: aware datetimes in UTC, whatever the database or client gave."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive times are taken as UTC (SQLite drops the offset); aware ones are moved to UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
