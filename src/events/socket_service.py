"""`SocketService`: the only wrapper around `socketio.AsyncServer` that other code calls.

It stores room events in the event log before sending them (with `meta`), sends one-socket
events, moves sockets between rooms and replays the log to a socket that resubscribes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import socketio
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from src.core.metrics import Metrics
from src.events.log import EventLog, LoggedEvent, log_position
from src.events.rooms import delivery_rooms
from src.events.schemas import EventMeta, SocketEvent
from src.events.shared_reads import SharedReads

logger = logging.getLogger("mindwire.events")
T = TypeVar("T")

REPLAY_BATCH = 200
"""Events a replay reads from the log at once: what one replay waiting for its reader holds
(at most ~2 MB of the largest events)."""


class SocketService:
    """Sends events through a `socketio.AsyncServer`.

    Example::

        meta = await socket_service.publish(
            EventType.NOTIFICATION, NotificationEvent(...), rooms=["notifications"]
        )
        await socket_service.emit_event(SocketEvent(event_type="pong", data={...}, sid=sid))
    """

    def __init__(
        self,
        sio: socketio.AsyncServer,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        event_log: EventLog,
        metrics: Metrics,
        wake_relay: Callable[[], None],
    ) -> None:
        """`wake_relay` is called after each event commit (`Signals.wake`): the relay, which
        delivers through this service, is built after it and waits on the same signals."""
        self.sio = sio
        self.sessionmaker = sessionmaker
        self.event_log = event_log
        self.metrics = metrics
        self.wake_relay = wake_relay
        self.shared_reads = SharedReads()
        """Replays of the same rooms from the same id at once read each batch once."""

    async def send_to_sid(
        self, sid: str, event_type: str, payload: BaseModel | dict[str, Any]
    ) -> None:
        """Send an event to one socket; not stored in the event log, no `meta`.

        A socket of this process is written to directly, without a trip through Redis (so
        `pong` and `error` keep working while Redis is down); another worker's via Redis.
        """
        local = self.sio.manager.is_connected(sid, "/")
        await self.sio.emit(str(event_type), _json_safe(payload), to=sid, ignore_queue=local)
        self.metrics.events_emitted.labels(str(event_type)).inc()

    async def publish(
        self,
        event_type: str,
        payload: BaseModel | dict[str, Any],
        rooms: list[str],
        *,
        session: AsyncSession | None = None,
    ) -> EventMeta:
        """Store an event for `rooms` and commit; the relay then sends it with its `meta`.

        With `session`, the event row joins that session's transaction and this call commits
        it: the caller's write and its event become visible together, and the event is sent
        only after the commit (the outbox rule), by the `EventRelay`, in id order.
        """
        data = _json_safe(payload)
        if session is None:
            async with self.sessionmaker() as own_session:
                logged = await self.event_log.append(own_session, str(event_type), data, rooms)
                await own_session.commit()
        else:
            logged = await self.event_log.append(session, str(event_type), data, rooms)
            await session.commit()
        self.wake_relay()  # returns at once: the write does not wait for its fan-out
        return logged.meta

    async def emit_event(
        self, event: SocketEvent, *, session: AsyncSession | None = None
    ) -> EventMeta | None:
        """Send a `SocketEvent`: to its `room` (stored, with meta) or to its `sid` (not stored)."""
        if event.sid is not None:
            await self.send_to_sid(event.sid, event.event_type, event.data)
            return None
        assert event.room is not None  # SocketEvent guarantees exactly one target
        owner = event.data.get("user_id")
        rooms = delivery_rooms([event.room], owner if isinstance(owner, int) else None)
        return await self.publish(event.event_type, event.data, rooms, session=session)

    async def deliver(self, logged: LoggedEvent) -> None:
        """Send a stored event live. A socket in several of its rooms receives it once.

        Raises when the message cannot reach the other workers (Redis down): the relay then
        keeps its cursor and sends the event again later.
        """
        await self._emit_logged(logged, list(logged.rooms))
        self.metrics.events_emitted.labels(logged.meta.event_type).inc()

    async def _emit_logged(self, logged: LoggedEvent, to: str | list[str], **options: Any) -> None:
        """A stored event on the wire, as live and replay both send it: its name, then the
        payload and `meta = {event_id, event_type, emitted_at}`."""
        meta = logged.meta.model_dump(mode="json")
        await self.sio.emit(meta["event_type"], (logged.data, meta), to=to, **options)

    async def enter_room(self, sid: str, room: str) -> int:
        """Put `sid` in `room`; returns the live position at that moment (the ack's `head`).

        Live room events go out in id order and each takes its recipients when it is emitted
        (`HoldingManager.emit`, with no pause between raising `live_through` and reading the
        room). So with no pause between joining and reading it here: every live event with a
        greater id is emitted after the join and reaches `sid`; none at or below it does
        through this room (the socket was not in it yet). Joining a room it is already in
        returns the current position: everything at or below it came live before.
        """
        await self.sio.enter_room(sid, room)
        return int(self.sio.manager.live_through)

    async def leave_room(self, sid: str, room: str) -> None:
        await self.sio.leave_room(sid, room)

    def rooms_of(self, sid: str) -> list[str]:
        """The delivery rooms `sid` is in, without its private sid room."""
        return [room for room in self.sio.rooms(sid) if room != sid]

    async def join_and_replay(
        self, sid: str, room: str | Sequence[str], since: int
    ) -> tuple[int, bool, int]:
        """Join `room` (or each of several rooms) and send `sid` every retained event of it
        after `since`, in id order (Connection State Recovery replays several at once).

        Live events for `sid` are held until its last replay in progress ends (a client
        resubscribes all its rooms at once after a reconnect): an event committed meanwhile
        is in the log (sent by the replay) or arrives live after the replays, never before
        an older replayed one. The replay skips what the socket already has (received live
        through another room, or sent by another replay), and the manager drops the live copy
        of a replayed event, and of an event at or below `since` that had not gone out live
        yet (`_skip_known`). Returns how many were sent, whether the log still held
        everything, and the head: the live position when `sid` joined, or `since` when that is
        ahead (but not past the log's position). Every event of the room above the head
        reaches `sid`; none at or below it comes live after the replay.
        """
        rooms = [room] if isinstance(room, str) else list(room)
        manager = self.sio.manager
        manager.hold(sid)
        try:
            head = 0
            for each in rooms:
                head = await self.enter_room(sid, each)  # the live position only grows
            if since > head:
                head = await self._skip_known(sid, rooms, head, since)
            replayed, complete = await self._replay(sid, rooms, since)
            for each in rooms:
                manager.covered(sid, each, since)
            return replayed, complete, head
        finally:
            await manager.release(sid)

    async def _skip_known(self, sid: str, rooms: list[str], joined_at: int, since: int) -> int:
        """Mark the events of `rooms` in (`joined_at`, `since`] as sent to `sid`, so that their
        live copies are dropped: the client has them (it said so with `since`, for example the
        `position` of a list it loaded), but the relay had not sent them here yet when `sid`
        joined, so they would arrive live after the join, as repeats.

        Returns how far that goes: `since`, or the log's position when `since` is beyond it
        (ids commit in order, so every event up to that position is read here; a later one
        is new and comes live).
        """
        manager = self.sio.manager
        async with self.sessionmaker() as session:
            through = min(since, await log_position(session))
        cursor = joined_at
        while cursor < through:
            async with self.sessionmaker() as session:
                batch = await self.event_log.read(
                    session, rooms, after=cursor, limit=REPLAY_BATCH, all_rooms=True
                )
            for logged in batch:
                if logged.meta.event_id > through:
                    break
                manager.claim(sid, logged.meta.event_id, logged.rooms)
            if len(batch) < REPLAY_BATCH:
                break
            cursor = batch[-1].meta.event_id
        return max(joined_at, through)

    async def _replay(self, sid: str, rooms: list[str], since: int) -> tuple[int, bool]:
        """Send the events in batches read from the log, each one once the socket has drained
        to half `SOCKET_WRITE_BUFFER_LIMIT` (`Outbox.drain`): a socket that reads nothing
        holds at most that much, and its replay stops when it is closed."""
        manager = self.sio.manager
        outbox = manager.outbox
        replayed = 0
        complete = await self._shared(("complete", since), self._is_complete_after, since)
        key = tuple(sorted(set(rooms)))
        cursor = since
        while True:
            batch = await self._shared(("read", key, cursor), self._read_batch, key, cursor)
            for logged in batch:
                if outbox is not None and not await outbox.drain(sid):
                    return replayed, complete  # closed: it resubscribes with `since`
                if not manager.claim(sid, logged.meta.event_id, logged.rooms):
                    continue  # the socket has it already
                await self._emit_logged(logged, sid, ignore_queue=True)
                replayed += 1
            if len(batch) < REPLAY_BATCH:
                break
            cursor = batch[-1].meta.event_id
        return replayed, complete

    async def _shared(
        self, key: tuple[Any, ...], read: Callable[..., Awaitable[T]], *args: Any
    ) -> T:
        """`read(*args)` shared with the replays asking the same at the same time.

        The key holds the live position now: every event at or below it was committed before
        any read started at that position, so a shared read sees all that a read of its own
        would have to (what a replay must send; later events come live).
        """
        position = int(self.sio.manager.live_through)
        return await self.shared_reads.run((*key, position), lambda: read(*args))

    async def _is_complete_after(self, since: int) -> bool:
        async with self.sessionmaker() as session:
            return await self.event_log.is_complete_after(session, since)

    async def _read_batch(self, rooms: tuple[str, ...], after: int) -> list[LoggedEvent]:
        # A session per batch: a replay waiting for a slow reader holds no connection.
        async with self.sessionmaker() as session:
            return await self.event_log.read(
                session, list(rooms), after=after, limit=REPLAY_BATCH, all_rooms=True
            )


def _json_safe(payload: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """Plain JSON values (datetimes as ISO 8601 strings), as stored and as sent."""
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json")
    data: dict[str, Any] = to_jsonable_python(payload)
    return data
