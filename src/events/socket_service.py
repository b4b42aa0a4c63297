"""`SocketService`: what handlers, emitters and routes call to send events and move sockets.

It stores room events in the event log before they are sent (the outbox rule) and hands
everything that touches a socket to a `Sockets`: the contract names what it needs from the
socket server here, and the transport (`src/transport/sockets.py`, on python-socketio)
implements it. This package never imports python-socketio.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import Insert, Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from src.events.grouped_writes import EventFor, GroupedWrites
from src.events.log import EventLog, LoggedEvent
from src.events.rooms import delivery_rooms
from src.events.schemas import EventMeta, SocketEvent


class Sockets(Protocol):
    """What the contract needs from the socket server (`SocketService` delegates to it)."""

    async def send_to_sid(self, sid: str, event_type: str, data: dict[str, Any]) -> None:
        """Send a one-socket event (not logged, no `meta`), even with the cluster down when
        the socket is this process's own."""

    async def enter_room(self, sid: str, room: str) -> int:
        """Put `sid` in `room`; returns the live position at that moment (the ack's `head`).

        Every live event of the room with a greater id reaches `sid`; none at or below it
        does through this room. Joining a room it is already in returns the current
        position: everything at or below it came live before.
        """

    async def leave_room(self, sid: str, room: str) -> None: ...

    def rooms_of(self, sid: str) -> list[str]:
        """The delivery rooms `sid` is in, without its private sid room."""

    async def join_and_replay(
        self, sid: str, rooms: list[str], since: int, *, checked: bool = False
    ) -> tuple[int, bool, int]:
        """Join `rooms` and send `sid` every retained event of them after `since`, in id
        order, each once, with no live event overtaking a replayed one. `checked`: the
        caller has just found the log complete after `since` (a recovery's `take_over`),
        which is then not read again.

        Returns how many were sent, whether the log still held everything, and the head: the
        live position when `sid` joined, or `since` when that is ahead (but not past the
        log's position). Every event of the rooms above the head reaches `sid`; none at or
        below it comes live after the replay.
        """


class SocketService:
    """Sends events: room events through the event log, one-socket events straight away.

    Example::

        meta = await socket_service.publish(
            EventType.NOTIFICATION, NotificationEvent(...), rooms=["notifications"]
        )
        await socket_service.emit_event(SocketEvent(event_type="pong", data={...}, sid=sid))
    """

    def __init__(
        self,
        sockets: Sockets,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        event_log: EventLog,
        wake_relay: Callable[[], None],
        hand_off: Callable[[LoggedEvent], None] | None = None,
    ) -> None:
        """`wake_relay` is called after each event commit (`Signals.wake`): the relay, which
        sends logged events through the transport, is built after it and waits on the same
        signals. `hand_off` (`Signals.hand_off`) does so for a grouped write's event and
        gives it to the relay as committed, so it need not read it back."""
        self.sockets = sockets
        self.sessionmaker = sessionmaker
        self.event_log = event_log
        self.wake_relay = wake_relay
        self.hand_off = hand_off
        self.grouped: GroupedWrites | None = None
        """Set on a SQLite file (`src/app/build.py`): the hot writes are group-committed."""

    async def send_to_sid(
        self, sid: str, event_type: str, payload: BaseModel | dict[str, Any]
    ) -> None:
        """Send an event to one socket; not stored in the event log, no `meta`."""
        await self.sockets.send_to_sid(sid, str(event_type), json_safe(payload))

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
        data = json_safe(payload)
        if session is None:
            async with self.sessionmaker() as own_session:
                logged = await self.event_log.append(own_session, str(event_type), data, rooms)
                await own_session.commit()
        else:
            logged = await self.event_log.append(session, str(event_type), data, rooms)
            await session.commit()
        self.wake_relay()  # returns at once: the write does not wait for its fan-out
        return logged.meta

    async def write_with_event(
        self, statement: Insert | Select[Any], params: dict[str, Any], event_for: EventFor
    ) -> tuple[Any, EventMeta | None]:
        """A hot write through `grouped` (only when set): `statement`'s result and the meta
        of the event `event_for` made of it, both committed, in one group commit. The relay
        is woken as by `publish`, and handed the event when `hand_off` is set."""
        assert self.grouped is not None
        value, logged = await self.grouped.write(statement, params, event_for)
        if logged is None:
            return value, None
        if self.hand_off is None:
            self.wake_relay()
        else:
            self.hand_off(logged)
        return value, logged.meta

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

    async def enter_room(self, sid: str, room: str) -> int:
        """Put `sid` in `room`; returns the live position then (`Sockets.enter_room`)."""
        return await self.sockets.enter_room(sid, room)

    async def leave_room(self, sid: str, room: str) -> None:
        await self.sockets.leave_room(sid, room)

    def rooms_of(self, sid: str) -> list[str]:
        """The delivery rooms `sid` is in, without its private sid room."""
        return self.sockets.rooms_of(sid)

    async def join_and_replay(
        self, sid: str, room: str | Sequence[str], since: int, *, checked: bool = False
    ) -> tuple[int, bool, int]:
        """Join `room` (or each of several rooms: Connection State Recovery replays several
        at once) and replay its retained events after `since`: `(replayed, complete, head)`,
        as `Sockets.join_and_replay` says."""
        rooms = [room] if isinstance(room, str) else list(room)
        return await self.sockets.join_and_replay(sid, rooms, since, checked=checked)


def json_safe(payload: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """Plain JSON values (datetimes as ISO 8601 strings), as stored and as sent."""
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json")
    data: dict[str, Any] = to_jsonable_python(payload)
    return data
