"""Socket.IO Connection State Recovery (CSR), backed by the event log (docs/contract.md §3).

A plain `socket.io-client` 4.x recovers on its own when the server (1) sends a private
session id `pid` in the CONNECT reply, (2) appends each room event's offset as the event's
last argument, a string, and (3) on a CONNECT whose auth carries `{pid, offset}` answers
with the same `pid` (`socket.recovered === true`), puts the socket back in its rooms and
sends what it missed after `offset`. Node's socket.io keeps those sessions in process memory
for 2 minutes; here they are rows of `socket_sessions` (`SessionStore`), so a client resumes
on any worker and after a restart, for up to `EVENT_RETENTION_SECONDS`, and the missed events
come from the event log through `SocketService.join_and_replay` (the gateway calls it).

This module decides who gets offsets (`sends_offsets`) and whether a CONNECT resumes (in one
place, `Recovery.read_ahead`, whose `Claim` `Recovery.resume` acts on); the rooms it restores
are re-authorised by `RoomPolicy`, never taken from the client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row

from src.events.rooms import RoomPolicy, Viewer, user_room
from src.transport.recovery_store import SessionStore, new_pid

logger = logging.getLogger("mindwire.events")

PYTHON_CLIENT_AGENTS = ("aiohttp/", "python-requests/")
"""User-Agent marks of python-socketio's clients: aiohttp's `Python/3.x aiohttp/...`
(`AsyncClient`) and requests' `python-requests/...` (`Client` over long-polling)."""
MAX_OFFSET_DIGITS = 19
KEEP_ALIVE_BATCH = 500
"""Sessions marked seen per statement by `keep_alive`."""


def sends_offsets(environ: Any, auth: Any) -> bool:
    """Whether this socket's room events carry their offset as an extra last argument.

    The offset is what lets a client recover, but python-socketio's clients call
    `handler(*args)`: one more argument breaks every handler written `def h(data)`. So it is
    on for every client except python-socketio's (told by the handshake's User-Agent, see
    `PYTHON_CLIENT_AGENTS`), and a client decides for itself with CONNECT auth
    `recover: true|false` (a python client without a User-Agent, e.g. the sync `Client`
    over `websocket-client`, sends `recover: false`).
    """
    choice = auth.get("recover") if isinstance(auth, dict) else None
    if isinstance(choice, bool):
        return choice
    agent = environ.get("HTTP_USER_AGENT", "") if isinstance(environ, dict) else ""
    return not any(mark in str(agent) for mark in PYTHON_CLIENT_AGENTS)


def claimed_session(auth: Any) -> tuple[str, int] | None:
    """The `(pid, offset)` a reconnecting `socket.io-client` puts in its CONNECT auth."""
    if not isinstance(auth, dict):
        return None
    pid, offset = auth.get("pid"), auth.get("offset")
    if not isinstance(pid, str) or not 0 < len(pid) <= 64:
        return None
    if isinstance(offset, str) and offset.isascii() and offset.isdigit():
        if len(offset) <= MAX_OFFSET_DIGITS:
            return pid, int(offset)
    return None


@dataclass(frozen=True, slots=True)
class Resumption:
    """What a CONNECT gets: its `pid`, whether it gets offsets, and what it recovered."""

    pid: str | None
    """None when recovery is off server-wide (`SOCKET_RECOVERY=false`): no `pid` is sent."""
    offsets: bool
    after: int | None = None
    """Set when the session was recovered: replay every event of `rooms` after it."""
    rooms: tuple[str, ...] = ()
    """The restored delivery rooms, re-authorised (the user's own room is always joined)."""
    stored: tuple[str, ...] = ()
    """The session's rooms as stored: once restored, rooms equal to them are not written."""

    @property
    def recovered(self) -> bool:
        return self.after is not None


@dataclass(frozen=True, slots=True)
class Claim:
    """What `Recovery.read_ahead` decided of a CONNECT, for `Recovery.resume` to act on."""

    offsets: bool
    """Whether the socket gets offsets (`sends_offsets`): only such a socket can resume."""
    pid: str | None = None
    """The session it claims to resume (`claimed_session`), if any."""
    offset: int = 0
    reading: asyncio.Task[Row[Any] | None] | None = None
    """The read of that session's row, begun while the token is checked."""


class Recovery:
    """Decides what a CONNECT resumes. `enabled=False` (`SOCKET_RECOVERY=false`): nothing."""

    def __init__(self, store: SessionStore, rooms: RoomPolicy, *, enabled: bool = True) -> None:
        self.store = store
        self.rooms = rooms
        self.enabled = enabled
        self._sessions: dict[str, str] = {}
        """The stored session's pid of each socket that has one."""
        self._saved: dict[str, list[str]] = {}
        """The rooms last written (or being written) for each socket: a change to the same
        rooms writes nothing."""
        self._kept_at: float | None = None

    def read_ahead(self, auth: Any, environ: Any) -> Claim | None:
        """Decide what a CONNECT claims (`Claim`; None when recovery is off) and begin reading
        the session it claims, so that read and the token check's overlap instead of following
        each other. Nothing read is used unless the token holds: `resume` takes the claim, or
        `drop` lets it go (a refused CONNECT)."""
        if not self.enabled:
            return None
        if not sends_offsets(environ, auth):
            return Claim(False)
        session = claimed_session(auth)
        if session is None:
            return Claim(True)
        pid, offset = session
        return Claim(True, pid, offset, asyncio.ensure_future(self.store.record(pid)))

    async def resume(self, viewer: Viewer, claim: Claim | None) -> Resumption:
        """The CONNECT's `Resumption` for what it claims (`read_ahead`): its old `pid` and
        rooms when it may recover, else a fresh `pid` (stored only for a socket that gets
        offsets: no other can resume)."""
        if claim is None:
            return Resumption(None, offsets=False)
        if not claim.offsets:
            return Resumption(new_pid(), offsets=False)
        if claim.reading is not None:  # it claims session `claim.pid`
            found = await claim.reading
            rooms = await self.store.take_over(found, viewer.user_id, claim.offset)
            if rooms is not None:
                allowed = self.reauthorise(rooms, viewer)
                return Resumption(claim.pid, True, claim.offset, allowed, stored=tuple(rooms))
        return Resumption(await self.store.open(viewer.user_id), offsets=True)

    @staticmethod
    def drop(claim: Claim | None) -> None:
        """Let go of a claim's read nobody will await (a refused CONNECT)."""
        reading = claim.reading if claim is not None else None
        if reading is None:
            return
        if reading.done():
            if not reading.cancelled():
                reading.exception()  # retrieved: a failed read is the refusal's business
        else:
            reading.cancel()

    def reauthorise(self, rooms: Iterable[str], viewer: Viewer) -> tuple[str, ...]:
        """The stored rooms `viewer` may hold now (`RoomPolicy.reassess`); the others go."""
        own = user_room(viewer.user_id)
        allowed = (self.rooms.reassess(room, viewer) for room in rooms)
        return tuple(dict.fromkeys(room for room in allowed if room is not None and room != own))

    def track(self, sid: str, resumption: Resumption, *, restored: bool = False) -> None:
        """`sid` holds `resumption`'s stored session: its room changes are written to it.

        A recovered socket is tracked once its rooms are `restored` (joining them one by one
        must not store the rooms half restored); then its rooms are written only if they
        differ from those stored (a room re-authorisation took away).
        """
        if not resumption.offsets or resumption.pid is None:
            return
        if resumption.recovered and not restored:
            return
        self._sessions[sid] = resumption.pid
        self._saved[sid] = sorted(resumption.stored)

    async def rooms_changed(self, sid: str, rooms: Iterable[str]) -> None:
        """Store the socket's rooms (its own user room aside); returns once they are stored.

        No lock per socket: the store queues writes in the order they are asked for (this
        method reaches the queue before its first pause) and stores a session's last room
        write of a group, so concurrent changes end with the latest rooms stored. A failure is
        logged (the socket then resumes with the rooms stored before) and forgotten, so the
        next change writes the whole set again."""
        pid = self._sessions.get(sid)
        if pid is None:
            return
        current = sorted(rooms)
        if self._saved.get(sid) == current:
            return
        self._saved[sid] = current
        try:
            await self.store.save_rooms(pid, current)
        except Exception as exc:
            if self._saved.get(sid) is current:
                del self._saved[sid]
            logger.warning("recovery: could not store the rooms of session %s: %s", sid, exc)

    async def closed(self, sid: str, *, voluntary: bool) -> None:
        """The socket disconnected: its session goes when it left on purpose (as in Node's
        socket.io), else it stays resumable from now for `EVENT_RETENTION_SECONDS`."""
        pid = self._sessions.pop(sid, None)
        self._saved.pop(sid, None)
        if pid is None:
            return
        try:
            await (self.store.forget(pid) if voluntary else self.store.seen(pid))
        except Exception as exc:
            logger.warning("recovery: could not close session of socket %s: %s", sid, exc)

    async def keep_alive(self, every: float) -> None:
        """Mark this process's open sessions seen, at most once per `every` seconds (the
        pruner calls it with half the retention, before pruning): a socket connected longer
        than `EVENT_RETENTION_SECONDS` stays resumable."""
        now = time.monotonic()
        if self._kept_at is not None and now - self._kept_at < every:
            return
        self._kept_at = now
        pids = list(self._sessions.values())
        for start in range(0, len(pids), KEEP_ALIVE_BATCH):
            await self.store.seen(*pids[start : start + KEEP_ALIVE_BATCH])

    def __len__(self) -> int:
        """Sockets of this process with a stored session (none left behind by a closed one)."""
        return len(self._sessions)
