"""A group of status syncs on SQLite as plain `sqlite3` statements, in one group-commit trip.

`StatusWrites` hands `write_statuses` to the group committer (`src/core/sqlite_group.py`):
it runs on the committer's connection thread inside `BEGIN IMMEDIATE ... COMMIT`, so the
users' rows are read, the changed ones updated and their events appended (by the grouped
writes' own event append, `GroupedWrites`, so one place decides how an event row is written)
in one trip to that thread and one turn at SQLite's write lock, instead of a trip and an
event-loop pass per statement through a session.

`next_status` decides a user's status from their connection count, for this path and the
session path alike. Times are stored as the ORM stores a `UTCDateTime` on SQLite
(`sqlite_utc_text`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from src.auth.models import User
from src.auth.schemas import StatusPublic
from src.core.clock import utcnow
from src.core.db import sqlite_utc_text
from src.events.grouped_writes import EventSpec, GroupedWrites
from src.events.log import LoggedEvent

_USERS = User.__tablename__
_UPDATE = f"UPDATE {_USERS} SET status = ?, status_changed_at = ? WHERE id = ?"

SpecFor = Callable[[StatusPublic], EventSpec]
"""The `user_status_changed` event to store for a change (`EventEmitter.event_spec`)."""


def next_status(current: str, connections: int) -> str | None:
    """The status to store for a user whose status is `current` and who has `connections`
    open, or None to leave it: a status the user chose (away, busy) stays while connected."""
    online = connections > 0
    if online == (current != "offline"):
        return None
    return "online" if online else "offline"


@dataclass
class StatusTrip:
    """What a group's trip wrote: its events in id order and, per user found, the status
    the trip left them with (changed or not)."""

    logged: list[LoggedEvent] = field(default_factory=list)
    left: dict[int, str] = field(default_factory=dict)


def _read(db: sqlite3.Connection, user_ids: Sequence[int]) -> list[tuple[int, str]]:
    marks = ", ".join("?" * len(user_ids))
    sql = f"SELECT id, status FROM {_USERS} WHERE id IN ({marks}) ORDER BY id"
    return [(int(row[0]), str(row[1])) for row in db.execute(sql, list(user_ids))]


def write_statuses(
    db: sqlite3.Connection,
    grouped: GroupedWrites,
    counts: Mapping[int, int],
    spec_for: SpecFor,
) -> StatusTrip:
    """On the committer's thread, inside its transaction: each user of `counts` (a user no
    longer there is skipped) stored as their count says, with their event; raises, keeping
    nothing, when any statement fails."""
    trip = StatusTrip()
    for user_id, current in _read(db, sorted(counts)):
        status = next_status(current, counts[user_id])
        if status is None:
            trip.left[user_id] = current
            continue
        changed_at = utcnow()
        db.execute(_UPDATE, (status, sqlite_utc_text(changed_at), user_id))
        trip.left[user_id] = status
        change = StatusPublic(user_id=user_id, status=status, changed_at=changed_at)
        trip.logged.append(grouped.append(db, spec_for(change)))
    return trip
