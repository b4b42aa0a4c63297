"""The event log (outbox): every room event is stored with the write that caused it.

A write and its event row commit in one transaction; the event is emitted only after that
commit. Clients that missed events replay them from here (`subscribe_event` with `since`,
`GET /api/events`) for `EVENT_RETENTION_SECONDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Row,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from src.core.clock import as_utc, utcnow
from src.events.log_queries import COMPLETE, READ_ALL, READ_ROOM
from src.events.models import EventLogWatermark, EventRecord, EventRelayCursor, EventRoom
from src.events.schemas import EventMeta

_WATERMARK_ID = 1
EVENT_ID_LOCK = 0x4D696E64  # "Mind": the advisory lock that orders event ids


_EVENTS = cast(Table, EventRecord.__table__)
_ROOMS = cast(Table, EventRoom.__table__)
_LOCK_EVENT_IDS = select(func.pg_advisory_xact_lock(EVENT_ID_LOCK))
_INSERT_EVENT = insert(_EVENTS)
_INSERT_ROOM = insert(_ROOMS)


_POSITION = select(
    func.coalesce(select(func.max(_EVENTS.c.id)).scalar_subquery(), 0),
    func.coalesce(
        select(EventLogWatermark.pruned_through)
        .where(EventLogWatermark.id == _WATERMARK_ID)
        .scalar_subquery(),
        0,
    ),
)


async def log_position(session: AsyncSession) -> int:
    """The highest event id visible to `session`'s transaction: the newest stored, or the
    newest pruned when none is left (ids are never reused). Event ids commit in id order
    (`EventLog.append`), so every id up to it is visible too (`src/api/snapshot.py`)."""
    newest, pruned = (await session.execute(_POSITION)).one()
    return max(int(newest), int(pruned))


def _logged_from_row(row: Row[Any], rooms: tuple[str, ...]) -> LoggedEvent:
    meta = EventMeta(event_id=row.id, event_type=row.event_type, emitted_at=row.emitted_at)
    return LoggedEvent(meta=meta, data=row.data, rooms=rooms)


def _grouped_rows(rows: Sequence[Row[Any]]) -> list[LoggedEvent]:
    """Rows of events outer-joined to their rooms (one per room, in id order): the events."""
    events: list[LoggedEvent] = []
    rooms: list[str] = []
    previous: Any = None
    for row in rows:
        if previous is None or row.id != previous.id:
            if previous is not None:
                events.append(_logged_from_row(previous, tuple(rooms)))
            previous, rooms = row, []
        if row.room is not None:
            rooms.append(row.room)
    if previous is not None:
        events.append(_logged_from_row(previous, tuple(rooms)))
    return events


@dataclass(frozen=True)
class LoggedEvent:
    """An event as stored: what to emit (`data`, `meta`) and where (`rooms`)."""

    meta: EventMeta
    data: dict[str, Any]
    rooms: tuple[str, ...]

    @classmethod
    def from_record(cls, record: EventRecord, rooms: tuple[str, ...] = ()) -> LoggedEvent:
        meta = EventMeta(
            event_id=record.id, event_type=record.event_type, emitted_at=record.emitted_at
        )
        return cls(meta=meta, data=record.data, rooms=rooms)


class EventLog:
    """Reads and writes the outbox tables; holds no session of its own."""

    def __init__(self, retention_seconds: int, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.retention = timedelta(seconds=retention_seconds)
        self.clock = clock
        """The time events are stamped with and retention is measured by (tests pass their own)."""

    def cutoff(self, now: datetime | None = None) -> datetime:
        """Events emitted before this moment are out of the retention window."""
        return (now or self.clock()) - self.retention

    async def append(
        self, session: AsyncSession, event_type: str, data: dict[str, Any], rooms: list[str]
    ) -> LoggedEvent:
        """Add an event to `session`'s transaction; the caller commits, then emits.

        On PostgreSQL a transaction-scoped advisory lock makes event-writing transactions
        take turns until they commit, so ids become visible in order: a reader that saw
        id 11 can never later find an id 10 committed behind it (a gap in replay).
        """
        if session.new or session.dirty or session.deleted:
            await session.flush()  # the caller's pending write goes first, as before
        connection = await session.connection()
        if connection.dialect.name == "postgresql":
            await connection.execute(_LOCK_EVENT_IDS)
        unique_rooms = tuple(dict.fromkeys(rooms))
        emitted_at = self.clock()
        # Core, not the ORM: one INSERT each for the event and its rooms, no unit of work.
        inserted = await connection.execute(
            _INSERT_EVENT, {"event_type": event_type, "data": data, "emitted_at": emitted_at}
        )
        primary_key = inserted.inserted_primary_key
        assert primary_key is not None
        event_id = int(primary_key[0])
        if unique_rooms:
            await connection.execute(
                _INSERT_ROOM, [{"event_id": event_id, "room": room} for room in unique_rooms]
            )
        meta = EventMeta(event_id=event_id, event_type=event_type, emitted_at=emitted_at)
        return LoggedEvent(meta=meta, data=data, rooms=unique_rooms)

    async def read(
        self,
        session: AsyncSession,
        room: str | Sequence[str],
        *,
        after: int = 0,
        limit: int = 100,
        all_rooms: bool = False,
    ) -> list[LoggedEvent]:
        """Retained events carried by delivery room `room` (or by any of several) with
        id > `after`, in id order, each once.

        Each event's `rooms` is `(room,)`, or with `all_rooms` every delivery room of it (a
        replay needs them to tell whether the socket already received it through another).
        """
        query = select(EventRecord)
        if isinstance(room, str):
            query = query.join(EventRoom, EventRoom.event_id == EventRecord.id).where(
                EventRoom.room == room
            )
        else:  # an event in several of them once; `(room,)` would then say nothing
            all_rooms = True
            in_rooms = select(EventRoom.event_id).where(EventRoom.room.in_(list(room)))
            query = query.where(EventRecord.id.in_(in_rooms))
        query = (
            query.where(EventRecord.id > after, EventRecord.emitted_at >= self.cutoff())
            .order_by(EventRecord.id)
            .limit(limit)
        )
        records = (await session.scalars(query)).all()
        if not all_rooms or not records:
            return [LoggedEvent.from_record(record, (str(room),)) for record in records]
        rooms: dict[int, list[str]] = {record.id: [] for record in records}
        pairs = await session.execute(
            select(EventRoom.event_id, EventRoom.room).where(EventRoom.event_id.in_(rooms))
        )
        for event_id, event_room in pairs:
            rooms[event_id].append(event_room)
        return [LoggedEvent.from_record(record, tuple(rooms[record.id])) for record in records]

    async def read_all(self, session: AsyncSession, *, after: int, limit: int) -> list[LoggedEvent]:
        """Events with id > `after`, in id order, with all their delivery rooms (the relay).

        One query: the next `limit` events, outer-joined to their rooms (one row per room).
        """
        connection = await session.connection()
        rows = (await connection.execute(READ_ALL, {"after": after, "limit": limit})).all()
        return _grouped_rows(rows)

    async def ensure_relay_cursor(self, session: AsyncSession) -> None:
        """On a database's first start, the relay starts after the newest event."""
        if await session.get(EventRelayCursor, _WATERMARK_ID) is not None:
            return
        newest = await session.scalar(select(func.max(EventRecord.id)))
        session.add(EventRelayCursor(id=_WATERMARK_ID, relayed_through=int(newest or 0)))
        try:
            await session.commit()
        except IntegrityError:  # another process made it first
            await session.rollback()

    async def relay_cursor(self, session: AsyncSession) -> int:
        """Where the relay resumes: after the last event it sent."""
        cursor = await session.get(EventRelayCursor, _WATERMARK_ID)
        return cursor.relayed_through if cursor is not None else 0

    async def save_relay_cursor(self, session: AsyncSession, event_id: int) -> None:
        """Move the stored cursor forward (never back); `ensure_relay_cursor` made the row."""
        await session.execute(
            update(EventRelayCursor)
            .where(EventRelayCursor.id == _WATERMARK_ID)
            .where(EventRelayCursor.relayed_through < event_id)
            .values(relayed_through=event_id)
        )
        await session.commit()

    async def is_complete_after(self, session: AsyncSession, since: int) -> bool:
        """False when some event with id > `since` has left the retention window."""
        complete, _oldest = await self.completeness_after(session, since)
        return complete

    async def completeness_after(
        self, session: AsyncSession, since: int
    ) -> tuple[bool, datetime | None]:
        """`is_complete_after`, and the oldest time among the events after `since` (None:
        none), in one statement (`src/events/completeness.py` keeps the answer)."""
        params = {"since": since, "cutoff": self.cutoff()}
        connection = await session.connection()
        pruned, expired, oldest = (await connection.execute(COMPLETE, params)).one()
        complete = not (pruned is not None and pruned > since) and not expired
        return complete, None if oldest is None else as_utc(oldest)

    async def read_room(
        self, session: AsyncSession, room: str, *, after: int, limit: int
    ) -> list[LoggedEvent]:
        """`read(room, after=..., limit=..., all_rooms=True)` in one statement (a replay's
        batch): the events outer-joined to all their rooms, as `read_all` reads them."""
        params = {"room": room, "after": after, "limit": limit, "cutoff": self.cutoff()}
        connection = await session.connection()
        rows = (await connection.execute(READ_ROOM, params)).all()
        return _grouped_rows(rows)

    async def prune(self, session: AsyncSession) -> int:
        """Delete expired events, remembering the highest id deleted; returns how many."""
        cutoff = self.cutoff()
        newest_expired = await session.scalar(
            select(func.max(EventRecord.id)).where(EventRecord.emitted_at < cutoff)
        )
        if newest_expired is None:
            return 0
        await session.execute(delete(EventRoom).where(EventRoom.event_id <= newest_expired))
        result = await session.execute(delete(EventRecord).where(EventRecord.id <= newest_expired))
        watermark = await session.get(EventLogWatermark, _WATERMARK_ID)
        if watermark is None:
            session.add(EventLogWatermark(id=_WATERMARK_ID, pruned_through=newest_expired))
        else:
            watermark.pruned_through = max(watermark.pruned_through, newest_expired)
        await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)
