"""Hot writes on SQLite: a guarded row and its event in one trip, group-committed.

`POST /api/memory-logs`, `POST /api/mental-notes` and `POST /api/notifications` go through
here when the database is a SQLite file: the bearer's check and the row (one `INSERT ...
SELECT ... WHERE` the holder may write, `src/auth/guard.py`), the event and its rooms run
as plain `sqlite3` statements on the group committer's thread (`src/core/sqlite_group.py`):
no session, no SQLAlchemy execution path, one hand-off for the whole group, one COMMIT for
all the writes that arrived meanwhile. The statements are the same Core statements as on
PostgreSQL, compiled once for SQLite with their type processors (timestamps, JSON), so the
rows read back exactly as the ORM's.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    BindParameter,
    Delete,
    Insert,
    Select,
    Table,
    Update,
    bindparam,
    insert,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from src.core.clock import as_utc
from src.core.db import UTCDateTime
from src.core.sqlite_group import GroupCommit
from src.events.log import _EVENTS, _ROOMS, EventLog, LoggedEvent
from src.events.schemas import EventMeta

EventSpec = tuple[str, dict[str, Any], tuple[str, ...]]
"""An event to store: its type, its JSON-safe data and its delivery rooms."""
EventFor = Callable[[Any], EventSpec | None]
"""Given what the row's statement returned (None: no row), the event to store, if any."""


_EVENT_ID = bindparam("event_id", type_=BigInteger)
"""The event's id in each row of its rooms' INSERT."""
Bind = Callable[[Any], Any] | None
"""A parameter's processor (None: passed as is)."""
_PROBES = (
    datetime(2026, 12, 7, 18, 6, 16, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(1, 1, 1),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
)
"""Times `utc_text` must bind as SQLAlchemy's processor does before it stands in."""
_JSON_PROBES: tuple[Any, ...] = ({"a": [1, 2.5, "é\u2028", None, True], "b": {"c": ""}}, None, [])
"""Values `json.dumps` must bind as SQLAlchemy's `JSON` processor does before it stands in."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_last_time: tuple[datetime | None, str | None] = (None, None)
_last_second: tuple[tuple[int, int] | None, str] = (None, "")


def utc_text(value: datetime | None) -> str | None:
    """`sqlite_utc_text`, cheaper: the text of the time bound last is given again for that
    same object (a row's `created_at` is its `updated_at`), and the text of its second is
    kept for the next time in that second (`isoformat`'s `sprintf` and the offset it formats
    only to be cut off, or a `replace(tzinfo=None)`, cost more than the rest of the bind)."""
    global _last_time, _last_second
    last = _last_time  # one read each: another committer thread may replace them meanwhile
    if value is last[0]:
        return last[1]
    if value is None:
        return None
    utc = value if value.tzinfo is UTC else as_utc(value)
    since = utc - _EPOCH
    second = _last_second
    if second[0] != (since.days, since.seconds):
        second = _last_second = ((since.days, since.seconds), utc.isoformat(" ", "seconds")[:19])
    text = f"{second[1]}.{utc.microsecond:06d}"
    _last_time = (value, text)
    return text


def _processor(bind: BindParameter[Any], process: Bind, dialect: Dialect) -> Bind:
    """`process`, SQLAlchemy's, or a cheaper call that gives the same text: `utc_text` for a
    `UTCDateTime` (instead of SQLAlchemy's two wrappers and a `%` format), `json.dumps` for
    a `JSON` (its processor's serializer, without the wrapper that looks for SQL NULLs)."""
    if process is None:
        return process
    if isinstance(bind.type, UTCDateTime):
        same = all(utc_text(probe) == process(probe) for probe in _PROBES)
        return utc_text if same else process
    if isinstance(bind.type, JSON) and dialect._json_serializer is None:
        same = all(json.dumps(probe) == process(probe) for probe in _JSON_PROBES)
        return json.dumps if same else process
    return process


@dataclass(frozen=True)
class Compiled:
    """A Core statement compiled once for SQLite: its SQL and, per positional parameter,
    the name it is bound from and the type's processor (None: passed as is)."""

    sql: str
    binds: tuple[tuple[str, Bind], ...]
    rowid: bool = False
    """An INSERT whose RETURNING was only its row's id, run without it: the id is the
    cursor's `lastrowid` (a RETURNING and its fetch cost SQLite and `sqlite3` ~7 µs more)."""

    @classmethod
    def of(
        cls,
        statement: Insert | Update | Delete | Select[Any],
        dialect: Dialect,
        keys: Sequence[str] | None = None,
    ) -> Compiled:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
        names = tuple(compiled.positiontup or ())
        processors: dict[str, Any] = dict(compiled._bind_processors)  # one callable each here
        binds = tuple(
            (name, _processor(compiled.binds[name], processors.get(name), dialect))
            for name in names
        )
        suffix = _rowid_returning(statement, dialect)
        sql = compiled.string
        if suffix is not None and sql.endswith(suffix):
            return cls(sql[: -len(suffix)], binds, rowid=True)
        return cls(sql, binds)

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[n] if process is None else process(params[n]) for n, process in self.binds]

    def first(self, db: sqlite3.Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row (None: no row); a `rowid` INSERT's new id."""
        cursor = db.execute(self.sql, self.args(params))
        if self.rowid:
            return cursor.lastrowid if cursor.rowcount == 1 else None
        rows = cursor.fetchall()
        return rows[0][0] if rows else None


def _rowid_returning(
    statement: Insert | Update | Delete | Select[Any], dialect: Dialect
) -> str | None:
    """` RETURNING id` when `statement` is an INSERT returning only its table's INTEGER
    PRIMARY KEY (SQLite's rowid itself, so `lastrowid` is that id); else None."""
    if not isinstance(statement, Insert):
        return None
    returned = statement.returning_column_descriptions
    table = statement.table
    if len(returned) != 1 or not isinstance(table, Table):
        return None
    column = returned[0]["expr"]
    keys = list(table.primary_key.columns)
    if keys != [column] or column.type.compile(dialect=dialect) != "INTEGER":
        return None
    return f" RETURNING {column.name}"


class GroupedWrites:
    """Hot writes of one app on its SQLite file (`SocketService.grouped`)."""

    def __init__(self, group: GroupCommit, dialect: Dialect, event_log: EventLog) -> None:
        self.group = group
        self.dialect = dialect
        self.event_log = event_log
        """Its `clock` stamps the events, as `EventLog.append` does."""
        keys = ("event_type", "data", "emitted_at")
        self._event = Compiled.of(insert(_EVENTS), dialect, keys)  # its id: `lastrowid`
        self._rooms: dict[int, str] = {}
        self._compiled: dict[int, Compiled] = {}

    def compiled(self, statement: Insert | Select[Any]) -> Compiled:
        """`statement` compiled for SQLite, once (statements are built once, at import)."""
        found = self._compiled.get(id(statement))
        if found is None:
            found = self._compiled[id(statement)] = Compiled.of(statement, self.dialect)
        return found

    def _rooms_insert(self, count: int) -> str:
        """One INSERT of an event's `count` rooms, bound `event_id, room, event_id, room...`
        (`_room_args`): checked once against the compiled parameters."""
        found = self._rooms.get(count)
        if found is None:
            rows = [{"event_id": _EVENT_ID, "room": bindparam(f"room_{i}")} for i in range(count)]
            compiled = Compiled.of(insert(_ROOMS).values(rows), self.dialect)
            pairs = [(("event_id", None), (f"room_{i}", None)) for i in range(count)]
            if compiled.binds != tuple(bind for pair in pairs for bind in pair):
                raise RuntimeError(f"unexpected parameters for the rooms: {compiled.binds}")
            found = self._rooms[count] = compiled.sql
        return found

    async def write(
        self, statement: Insert | Select[Any], params: dict[str, Any], event_for: EventFor
    ) -> tuple[Any, LoggedEvent | None]:
        """Run `statement` (a guarded INSERT ... RETURNING, or a read), then store the event
        `event_for` makes of its result, in one savepoint of the next group; returns the
        statement's result and the stored event once both are committed."""
        row = self.compiled(statement)

        def work(db: sqlite3.Connection) -> tuple[Any, LoggedEvent | None]:
            value = row.first(db, params)
            spec = event_for(value)
            return value, None if spec is None else self.append(db, spec)

        try:
            return await self.group.run(work)
        except sqlite3.Error as exc:  # as SQLAlchemy raises it: a locked database is a 503
            raise DBAPIError.instance(row.sql, None, exc, sqlite3.Error) from exc

    def append(self, db: sqlite3.Connection, spec: EventSpec) -> LoggedEvent:
        """The event row and its rooms (on the committer's thread, inside the savepoint),
        and the event exactly as a read of the log returns it (`EventLog.read_all`: its
        rooms in order, its time in UTC, its data JSON as stored), which the relay is
        handed instead of reading it back (`Signals.hand_off`)."""
        event_type, data, rooms = spec
        emitted_at = as_utc(self.event_log.clock())
        params = {"event_type": event_type, "data": data, "emitted_at": emitted_at}
        event_id = db.execute(self._event.sql, self._event.args(params)).lastrowid
        assert event_id is not None  # an INSERT of one row sets it
        if rooms:
            room_args = [value for room in rooms for value in (event_id, room)]
            db.execute(self._rooms_insert(len(rooms)), room_args)
        meta = EventMeta(event_id=event_id, event_type=event_type, emitted_at=emitted_at)
        return LoggedEvent(meta=meta, data=data, rooms=tuple(sorted(rooms)))
