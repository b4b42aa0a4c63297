"""`RoomIndex`: each socket's rooms, kept beside python-socketio's map of each room's sockets.

python-socketio finds a socket's rooms (`rooms(sid)`, and at every disconnect) by looking
into every room of the namespace: one lookup per room, and each socket has a room of its own.
With 10,000 sockets a connect and subscribe (the gateway stores the socket's rooms for
recovery, the subscription counts them) cost two such passes over 20,000 rooms, and a
reconnect storm's disconnects one each: quadratic in the sockets. Here each socket's rooms are
a short list kept as it enters and leaves them, so both are as cheap as the socket's rooms.
A socket's own room is a `SidRoom` (`sid_room.py`) rather than a `bidict`; the connected set
and the named rooms are the dicts of `room_maps.py`.
"""

from __future__ import annotations

from typing import Any

import socketio

from src.transport.room_maps import ConnectedRoom, NamedRoom
from src.transport.sid_room import SidRoom


class RoomIndex(socketio.AsyncManager):  # type: ignore[misc]
    """An `AsyncManager` that answers `get_rooms` and disconnects from its index."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rooms_by_sid: dict[tuple[str, str], list[Any]] = {}
        """(namespace, sid) -> the rooms it is in, in the order it entered them (python-socketio's
        own "connected" room, None, among them)."""

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        rooms_here = self.rooms.get(namespace)
        if rooms_here is None and eio_sid is not None:  # python-socketio would create it
            rooms_here = self.rooms[namespace] = {}
        if (
            rooms_here is not None
            and room not in rooms_here
            and (room == sid or not self.is_sid_room(namespace, room))
        ):  # the room python-socketio would create (a bidict), filled by it
            rooms_here[room] = _new_room(sid, room)
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        rooms = self._rooms_by_sid.setdefault((namespace, sid), [])
        if room not in rooms:
            rooms.append(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        rooms = self._rooms_by_sid.get((namespace, sid))
        if rooms is not None and room in rooms:
            rooms.remove(room)
            if not rooms:
                del self._rooms_by_sid[(namespace, sid)]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        return [room for room in self._rooms_by_sid.get((namespace, sid), ()) if room is not None]

    def basic_disconnect(self, sid: str, namespace: str, **_options: Any) -> None:
        """python-socketio's (it takes no option), with the socket's rooms from the index."""
        for room in list(self._rooms_by_sid.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            if sid in pending.get(namespace, ()):
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]


def _new_room(sid: str, room: Any) -> ConnectedRoom | SidRoom | NamedRoom:
    """The connected set (`None`), the socket's own room, or a named room."""
    if room is None:
        return ConnectedRoom()
    return SidRoom() if room == sid else NamedRoom()
