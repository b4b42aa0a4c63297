"""`SocketServer`: the contract's `Sockets` (`src/events/socket_service.py`) on python-socketio.

The only code that emits through `socketio.AsyncServer`: one-socket events, the relay's live
room events (`deliver`), room moves, and the replays of the event log to a socket that
resubscribes, held against its live events by the client manager (`holding.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import socketio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from src.core.metrics import Metrics
from src.events.completeness import Completeness
from src.events.log import EventLog, LoggedEvent, log_position
from src.transport.replay_reads import ReplayReads

REPLAY_BATCH = 200
"""Events a replay reads from the log at once: what one replay waiting for its reader holds
(at most ~2 MB of the largest events)."""
SLICE_BYTES = 256 * 1024
"""Bytes of replayed frames written at once when no outbox bounds a socket."""


class SocketServer:
    """Sends events through a `socketio.AsyncServer` whose manager is a `HoldingManager`."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        event_log: EventLog,
        metrics: Metrics,
    ) -> None:
        self.sio = sio
        self.sessionmaker = sessionmaker
        self.event_log = event_log
        self.metrics = metrics
        self.completeness = Completeness(sessionmaker, event_log)
        """Replays asking whether the log is complete after the same id at once ask once."""
        self.replay_reads = ReplayReads(
            self._read_batch,
            batch=REPLAY_BATCH,
            position=lambda: int(self.sio.manager.live_through),
            room_live=lambda room: int(self.sio.manager.room_live.get(room, 0)),
        )
        """Each room's batches, read once for all the replays while they stay whole."""
        self._turns: dict[str, asyncio.Future[None]] = {}
        """Per socket, the future its last replay sets when it ends (`_in_turn`)."""

    async def send_to_sid(self, sid: str, event_type: str, data: dict[str, Any]) -> None:
        """A socket of this process is written to directly, without a trip through Redis (so
        `pong` and `error` keep working while Redis is down); another worker's via Redis."""
        local = self.sio.manager.is_connected(sid, "/")
        await self.sio.emit(event_type, data, to=sid, ignore_queue=local)
        self.metrics.emitted(event_type).inc()

    async def deliver(self, logged: LoggedEvent) -> None:
        """Send a stored event live (the `EventRelay`'s emit). A socket in several of its
        rooms receives it once.

        Raises when the message cannot reach the other workers (Redis down): the relay then
        keeps its cursor and sends the event again later.
        """
        # Before the manager marks it live: the rooms' last batches still kept take it in.
        self.replay_reads.went_live(logged)
        await self._emit_logged(logged, list(logged.rooms))
        self.metrics.emitted(logged.meta.event_type).inc()

    async def _emit_logged(self, logged: LoggedEvent, to: str | list[str], **options: Any) -> None:
        """A stored event on the wire, as live and replay both send it: its name, then the
        payload and `meta = {event_id, event_type, emitted_at}`."""
        meta = logged.meta.model_dump(mode="json")
        await self.sio.emit(meta["event_type"], (logged.data, meta), to=to, **options)

    async def enter_room(self, sid: str, room: str) -> int:
        """Live room events go out in id order and each takes its recipients when it is
        emitted (`HoldingManager.emit`, with no pause between raising `live_through` and
        reading the room). So with no pause between joining and reading it here: every live
        event with a greater id is emitted after the join and reaches `sid`; none at or below
        it does through this room (the socket was not in it yet)."""
        await self.sio.enter_room(sid, room)
        return int(self.sio.manager.live_through)

    async def leave_room(self, sid: str, room: str) -> None:
        await self.sio.leave_room(sid, room)

    def rooms_of(self, sid: str) -> list[str]:
        return [room for room in self.sio.rooms(sid) if room != sid]

    async def join_and_replay(
        self, sid: str, rooms: list[str], since: int, *, checked: bool = False
    ) -> tuple[int, bool, int]:
        """Live events for `sid` are held until its last replay in progress ends (a client
        resubscribes all its rooms at once after a reconnect): an event committed meanwhile
        is in the log (sent by the replay) or arrives live after the replays, never before
        an older replayed one. The replay skips what the socket already has (received live
        through another room, or sent by another replay), and the manager drops the live copy
        of a replayed event, and of an event at or below `since` that had not gone out live
        yet (`_skip_known`). One owed nothing gets no hold nor join (`owes_nothing`)."""
        manager = self.sio.manager
        if sid not in self._turns and manager.owes_nothing(sid, rooms, since):
            head = int(manager.live_through)  # all of it handed over once settled, as at release
            await manager.deliveries.settle(sid)
            return 0, checked or await self.completeness.after(since), head
        await manager.hold_settled(sid)
        try:
            head = 0
            for each in rooms:
                head = await self.enter_room(sid, each)  # the live position only grows
            live_at_join = head
            # The live stream behind `since` (a restarted process whose relay is catching
            # up): what it has yet to send up to `since` would come as repeats.
            if since > head:
                head = await self._skip_known(sid, rooms, head, since)
            replayed, complete = await self._replay(sid, rooms, since, live_at_join, checked)
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

    async def _replay(
        self, sid: str, rooms: list[str], since: int, live_at_join: int, checked: bool = False
    ) -> tuple[int, bool]:
        """Send the events in batches read from the log, a slice at a time once the socket has
        drained to half `SOCKET_WRITE_BUFFER_LIMIT` (`Outbox.drain`): a socket that reads
        nothing holds at most that much and a slice, and its replay stops when it is closed.
        The batches are read per room and shared with the other replays (`ReplayReads`).

        Nothing is read or sent when the socket already has every event of `rooms` after
        `since` (`HoldingManager.has_after`): a client resubscribing from where its Connection
        State Recovery replay began."""
        async with self._in_turn(sid):
            return await self._replay_in_turn(sid, rooms, since, live_at_join, checked)

    async def _replay_in_turn(
        self, sid: str, rooms: list[str], since: int, live_at_join: int, checked: bool
    ) -> tuple[int, bool]:
        manager = self.sio.manager
        replayed = 0
        # Read after this replay asked, or kept while the answer cannot have changed.
        complete = checked or await self.completeness.after(since)
        if manager.has_after(sid, rooms, since, live_at_join):
            return replayed, complete
        async with aclosing(self.replay_reads.batches(rooms, since)) as batches:
            async for batch in batches:
                sent = await self._send_batch(sid, batch)
                if sent is None:
                    return replayed, complete  # closed: it resubscribes with `since`
                replayed += sent
        return replayed, complete

    @asynccontextmanager
    async def _in_turn(self, sid: str) -> AsyncIterator[None]:
        """One replay of a socket at a time, in the order they began: the next one then finds
        what the last one sent (`has_after`) instead of going through it again beside it (a
        client's `subscribe_event` arrives while its Connection State Recovery replay runs).
        Only a saving: replays side by side are correct too (`claim`)."""
        previous = self._turns.get(sid)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._turns[sid] = mine
        try:
            if previous is not None:
                await asyncio.wait([previous])  # never cancels it
            yield
        finally:
            mine.set_result(None)
            if self._turns.get(sid) is mine:
                del self._turns[sid]

    async def _send_batch(self, sid: str, batch: list[LoggedEvent]) -> int | None:
        """Send what `sid` lacks of `batch`, in order: on the WebSocket fast path as frames
        joined into one write per slice of `SOCKET_WRITE_BUFFER_LIMIT` / 4 bytes, else an
        event at a time. Returns how many were sent, None once the socket is gone."""
        manager = self.sio.manager
        outbox = manager.outbox
        budget = outbox.limit // 4 if outbox is not None else SLICE_BYTES
        link = self._link(sid)
        marked = sid in manager.offset_sids
        if link is not None and batch:
            if outbox is not None and not await outbox.drain(sid):
                return None
            runs = self.replay_reads.runs
            if runs.send(manager, link, sid, batch, (marked, self._encoded, budget)):
                return len(batch)  # every event owed: one write, joined once for all
        encodings = self.replay_reads.encodings
        claim = manager.claim
        frames: list[bytes] = []
        size = sent = 0
        direct = False
        for logged in batch:
            meta = logged.meta
            if not frames:  # nothing unwritten: the socket's state may have changed
                if outbox is not None and not await outbox.drain(sid):
                    return None
                direct = link is not None and link.direct()
            if not claim(sid, meta.event_id, logged.rooms):
                continue  # the socket has it already
            sent += 1
            if direct:
                found = encodings.get((meta.event_id, marked))
                if found is None:
                    found = self._encoded(logged, marked)
                frame = found[1]
                if frame is not None:
                    frames.append(frame)
                    size += len(frame)
                    if size < budget:
                        continue
            if frames:
                link.write(b"".join(frames))
                frames, size = [], 0
                if direct and frame is not None:
                    continue
            await self._send_replayed(sid, logged)
        if frames:
            link.write(b"".join(frames))
        if direct:
            # Out now, not at the hub's next flush: the hub flushes a slice of links per loop
            # pass, and a storm's replays waited seconds there while their clients were idle.
            link.flush()
        return sent

    def _link(self, sid: str) -> Any:
        """The fast path's `Link` of `sid` (None: another manager or transport)."""
        manager = self.sio.manager
        hub = getattr(manager, "hub", None)
        direct = getattr(manager, "fanout_mode", None) == "direct"
        if hub is None or not direct or getattr(manager, "emit_encoded", None) is None:
            return None
        return hub.links.get(manager.eio_sid_from_sid(sid, "/"))

    def _encoded(self, logged: LoggedEvent, marked: bool) -> Any:
        """`logged`'s Engine.IO packets and WebSocket frame (None: it has binary parts), made
        once per form for every socket it is replayed to, kept under the key and in the form
        `FanoutManager.emit_encoded` uses."""
        manager = self.sio.manager
        meta = logged.meta

        def make() -> Any:
            listed = [logged.data, meta.model_dump(mode="json")]
            offset = [str(meta.event_id)] if marked else []
            return manager._encode("/", meta.event_type, [*listed, *offset])

        return self.replay_reads.encoding((meta.event_id, marked), make)

    async def _send_replayed(self, sid: str, logged: LoggedEvent) -> None:
        """As `_emit_logged` to `sid`, with the encoding shared among the sockets replaying
        `logged` (the fast path's managers; another manager encodes it for each)."""
        emit_encoded = getattr(self.sio.manager, "emit_encoded", None)
        if emit_encoded is None:
            await self._emit_logged(logged, sid, ignore_queue=True)
            return
        await emit_encoded(
            sid,
            logged.meta.event_type,
            lambda: [logged.data, logged.meta.model_dump(mode="json")],
            logged.meta.event_id,
            self.replay_reads.encoding,
        )

    async def _read_batch(self, room: str, after: int) -> list[LoggedEvent]:
        # A session per batch: a replay waiting for a slow reader holds no connection.
        async with self.sessionmaker() as session:
            return await self.event_log.read_room(session, room, after=after, limit=REPLAY_BATCH)
