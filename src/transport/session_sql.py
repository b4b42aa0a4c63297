"""A group of `socket_sessions` writes on SQLite as plain `sqlite3` statements, in one trip.

`SessionStore` (`recovery_store.py`) hands a group to `SessionWrites.apply` when the database
is a SQLite file (`SocketService.grouped`): it runs on the group committer's thread
(`src/core/sqlite_group.py`) in one `BEGIN IMMEDIATE ... COMMIT`, with whatever hot or status
writes came at the same moment, so a connect burst's session inserts and room updates hold
SQLite's write turn for that trip only, and pay no SQLAlchemy execution path per group. The
statements are Core statements compiled once for SQLite with their type processors
(`Compiled`), so the rows read back exactly as the session path's.

`plan` decides what a group writes, for this path and the session path alike.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, delete, insert, update
from sqlalchemy.exc import DBAPIError

from src.events.grouped_writes import Compiled, GroupedWrites
from src.events.models import SocketSession

_TABLE = cast(Table, SocketSession.__table__)


@dataclass(frozen=True, slots=True)
class Write:
    """One socket's write to its session row."""

    kind: Literal["open", "rooms", "seen", "forget"]
    pid: str
    value: Any = None
    """The row's user id (`open`) or its rooms (`rooms`)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """A group's writes, at most one statement per kind, run in this order: opened (pid,
    user id), rooms (pid -> a pid's last rooms), seen, forgotten."""

    opened: list[tuple[str, int]]
    rooms: dict[str, list[str]]
    seen: set[str]
    forgotten: set[str]


def plan(writes: Sequence[Write]) -> Plan:
    """What `writes` (in the order asked for) store: of two room writes of one `pid` the
    later; a `seen` of a pid whose rooms are written is that write's own `seen_at`."""
    rooms = {w.pid: w.value for w in writes if w.kind == "rooms"}  # a pid's last, in order
    return Plan(
        opened=[(w.pid, w.value) for w in writes if w.kind == "open"],
        rooms=rooms,
        seen={w.pid for w in writes if w.kind == "seen"} - rooms.keys(),
        forgotten={w.pid for w in writes if w.kind == "forget"},
    )


@dataclass(frozen=True, slots=True)
class _Statements:
    opened: Compiled
    rooms: Compiled
    seen: Compiled
    forgotten: Compiled


def _run(db: sqlite3.Connection, sql: _Statements, group: Plan, now: datetime) -> None:
    """On the committer's thread, inside its transaction; raises, keeping nothing, when any
    statement (or a value's bind, e.g. rooms that are not JSON) fails."""
    if group.opened:
        rows = [{"pid": p, "user_id": u, "rooms": [], "seen_at": now} for p, u in group.opened]
        db.executemany(sql.opened.sql, [sql.opened.args(row) for row in rows])
    if group.rooms:
        rows = [{"p": p, "r": r, "s": now} for p, r in group.rooms.items()]
        db.executemany(sql.rooms.sql, [sql.rooms.args(row) for row in rows])
    if group.seen:
        db.executemany(sql.seen.sql, [sql.seen.args({"p": p, "s": now}) for p in group.seen])
    if group.forgotten:
        db.executemany(sql.forgotten.sql, [sql.forgotten.args({"p": p}) for p in group.forgotten])


class SessionWrites:
    """The session writes of one app on its SQLite file, through its group committer."""

    def __init__(self, grouped: GroupedWrites) -> None:
        self.group = grouped.group
        t, dialect = _TABLE, grouped.dialect
        pid = t.c.pid == bindparam("p", type_=t.c.pid.type)
        seen_at = bindparam("s", type_=t.c.seen_at.type)
        self._sql = _Statements(
            opened=Compiled.of(insert(t), dialect, ("pid", "user_id", "rooms", "seen_at")),
            rooms=Compiled.of(
                update(t)
                .where(pid)
                .values(rooms=bindparam("r", type_=t.c.rooms.type), seen_at=seen_at),
                dialect,
            ),
            seen=Compiled.of(update(t).where(pid).values(seen_at=seen_at), dialect),
            forgotten=Compiled.of(delete(t).where(pid), dialect),
        )

    async def apply(self, writes: Sequence[Write], now: datetime) -> None:
        """`writes` committed in one trip (as `plan` says), stamped `now`; raises as
        SQLAlchemy would for a database error, nothing of the group kept."""
        try:
            await self.group.run(partial(_run, sql=self._sql, group=plan(writes), now=now))
        except sqlite3.Error as exc:  # as a session raises it (callers and logs see the same)
            raise DBAPIError.instance("session writes", None, exc, sqlite3.Error) from exc
