"""The connected set and named rooms as dicts: read and written as python-socketio's bidicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import socketio
from bidict import KeyAndValueDuplicationError, ValueDuplicationError, bidict

from src.transport.fastpath import memory_manager
from src.transport.room_maps import ConnectedRoom, NamedRoom
from src.transport.sid_room import SidRoom

Step = Callable[[Any], object]

# Each step runs on a bidict and on a ConnectedRoom; the outcomes (result or exception type)
# and the maps after it must agree.
STEPS: list[tuple[str, Step]] = [
    ("set a", lambda room: room.__setitem__("a", "eio-a")),
    ("set b", lambda room: room.__setitem__("b", "eio-b")),
    ("same pair again", lambda room: room.__setitem__("a", "eio-a")),
    ("another sid, a held eio_sid", lambda room: room.__setitem__("c", "eio-a")),
    ("known sid, another's eio_sid", lambda room: room.__setitem__("a", "eio-b")),
    ("known sid, new eio_sid", lambda room: room.__setitem__("a", "eio-a2")),
    ("the old eio_sid is free", lambda room: room.__setitem__("c", "eio-a")),
    ("read", lambda room: (room["a"], room.get("x"), "b" in room, len(room), sorted(room))),
    ("inverse", lambda room: room._invm["eio-a"]),
    ("delete", lambda room: room.__delitem__("b")),
    ("delete missing", lambda room: room.__delitem__("b")),
    ("read missing", lambda room: room["b"]),
    ("reuse the freed eio_sid", lambda room: room.__setitem__("d", "eio-b")),
]


def _outcome(step: Step, room: Any) -> object:
    try:
        return step(room)
    except (KeyError, ValueDuplicationError) as exc:
        return type(exc)


def test_the_connected_set_is_written_as_a_bidict() -> None:
    ours, theirs = ConnectedRoom(), bidict()
    for name, step in STEPS:
        assert _outcome(step, ours) == _outcome(step, theirs), name
        assert dict(ours) == dict(theirs) and ours._invm == dict(theirs.inverse), name
        assert ours._fwdm == theirs._fwdm, name
    with pytest.raises(KeyAndValueDuplicationError):  # as bidict's, a ValueDuplicationError
        ours["a"] = "eio-b"
    with pytest.raises(TypeError):
        ours.pop("a")


def test_a_named_room_reads_as_a_bidicts_forward_map() -> None:
    room = NamedRoom()
    room["a"] = "eio-a"
    room["b"] = "eio-b"
    del room["a"]
    assert room._fwdm is room and room._fwdm.copy() == {"b": "eio-b"}
    assert "b" in room and "a" not in room and len(room) == 1 and list(room) == ["b"]
    with pytest.raises(KeyError):
        del room["a"]


async def test_python_socketios_manager_reads_and_writes_them() -> None:
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=memory_manager())
    manager = sio.manager
    sid = await manager.connect("eio-1", "/")
    other = await manager.connect("eio-2", "/")
    rooms = manager.rooms["/"]
    assert isinstance(rooms[None], ConnectedRoom) and isinstance(rooms[sid], SidRoom)
    assert await manager.pre_connect("eio-1", "/") is None  # that Engine.IO socket is connected
    assert manager.sid_from_eio_sid("eio-2", "/") == other
    assert manager.eio_sid_from_sid(sid, "/") == "eio-1"
    assert manager.is_connected(sid, "/") and manager.is_sid_room("/", other)
    await manager.enter_room(sid, "/", "notifications")
    await manager.enter_room(other, "/", "notifications")
    await manager.enter_room(sid, "/", "user:1")
    assert isinstance(rooms["notifications"], NamedRoom)
    assert dict(manager.get_participants("/", "notifications")) == {
        sid: "eio-1",
        other: "eio-2",
    }
    assert dict(manager.get_participants("/", ["user:1", other])) == {
        sid: "eio-1",
        other: "eio-2",
    }
    with pytest.raises(ValueError):  # a socket's own room is not entered by another
        await manager.enter_room(sid, "/", other)
    assert other not in rooms or len(rooms[other]) == 1
    with pytest.raises(ValueError):  # nor entered unconnected in an unknown namespace
        await manager.enter_room("nobody", "/elsewhere", "notifications")
    assert "/elsewhere" not in manager.rooms
    await manager.close_room("notifications", "/")
    assert "notifications" not in rooms
    await manager.disconnect(sid, "/")
    assert sid not in rooms[None] and "eio-1" not in rooms[None]._invm
    assert "user:1" not in rooms and manager.sid_from_eio_sid("eio-1", "/") is None
    again = await manager.connect("eio-1", "/")  # the Engine.IO socket may connect again
    assert manager.sid_from_eio_sid("eio-1", "/") == again != sid
