"""Statements of the event log's replay side, built once (`log.py` runs them).

`READ_ROOM`: a room's next retained events outer-joined to all their rooms, one statement for
a replay's batch (not the events, then their rooms); `READ_ALL`: the same for every room (the
relay). `COMPLETE`: the prune watermark,
whether an expired event follows an id and the oldest time of those that follow it, one
statement for `completeness_after`.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Integer, Select, Subquery, Table, bindparam, exists, func, select

from src.events.models import EventLogWatermark, EventRecord, EventRoom

_EVENTS = cast(Table, EventRecord.__table__)
_ROOMS = cast(Table, EventRoom.__table__)
_WATERMARK_ID = 1


def _read_room_query() -> Select[Any]:
    """A room's next retained events with all their rooms (`EventLog.read_room`)."""
    in_room = select(_ROOMS.c.event_id).where(_ROOMS.c.room == bindparam("room"))
    batch = (
        select(_EVENTS.c.id, _EVENTS.c.event_type, _EVENTS.c.data, _EVENTS.c.emitted_at)
        .where(
            _EVENTS.c.id.in_(in_room),
            _EVENTS.c.id > bindparam("after", type_=_EVENTS.c.id.type),
            _EVENTS.c.emitted_at >= bindparam("cutoff", type_=_EVENTS.c.emitted_at.type),
        )
        .order_by(_EVENTS.c.id)
        .limit(bindparam("limit", type_=Integer()))
        .subquery("batch")
    )
    return _with_rooms(batch)


def _read_all_query() -> Select[Any]:
    """The next events of every room with all their rooms (`EventLog.read_all`: the relay)."""
    batch = (
        select(_EVENTS.c.id, _EVENTS.c.event_type, _EVENTS.c.data, _EVENTS.c.emitted_at)
        .where(_EVENTS.c.id > bindparam("after", type_=_EVENTS.c.id.type))
        .order_by(_EVENTS.c.id)
        .limit(bindparam("limit", type_=Integer()))
        .subquery("batch")
    )
    return _with_rooms(batch)


def _with_rooms(batch: Subquery) -> Select[Any]:
    """A batch of events outer-joined to all their rooms, a row per event and room."""
    return (
        select(batch, _ROOMS.c.room)
        .outerjoin(_ROOMS, _ROOMS.c.event_id == batch.c.id)
        .order_by(batch.c.id, _ROOMS.c.room)
    )


READ_ROOM = _read_room_query()
READ_ALL = _read_all_query()
COMPLETE = select(
    select(EventLogWatermark.pruned_through)
    .where(EventLogWatermark.id == _WATERMARK_ID)
    .scalar_subquery(),
    exists()
    .where(
        _EVENTS.c.id > bindparam("since", type_=_EVENTS.c.id.type),
        _EVENTS.c.emitted_at < bindparam("cutoff", type_=_EVENTS.c.emitted_at.type),
    )
    .label("expired"),
    select(func.min(_EVENTS.c.emitted_at))
    .where(_EVENTS.c.id > bindparam("since", type_=_EVENTS.c.id.type))
    .scalar_subquery(),
)
