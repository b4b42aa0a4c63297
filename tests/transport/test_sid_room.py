"""A socket's own room as a `SidRoom`: python-socketio's managers read and update it as before."""

from __future__ import annotations

import pytest
import socketio

from src.transport.fastpath import memory_manager
from src.transport.sid_room import SidRoom


async def test_a_sockets_own_room_behaves_as_pythons_socketios() -> None:
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=memory_manager())
    manager = sio.manager
    sid = await manager.connect("eio-1", "/")
    other = await manager.connect("eio-2", "/")
    own = manager.rooms["/"][sid]
    assert isinstance(own, SidRoom)
    assert list(manager.get_participants("/", sid)) == [(sid, "eio-1")]
    assert dict(manager.get_participants("/", [sid, other])) == {sid: "eio-1", other: "eio-2"}
    await manager.enter_room(sid, "/", "notifications")
    assert sorted(manager.get_rooms(sid, "/")) == sorted([sid, "notifications"])
    with pytest.raises(ValueError):  # nobody else enters a socket's own room
        await manager.enter_room(other, "/", sid)
    with pytest.raises(ValueError):
        await manager.close_room(sid, "/")
    assert manager.is_connected(sid, "/")
    await manager.disconnect(sid, "/")
    assert sid not in manager.rooms["/"]
    assert list(manager.get_participants("/", sid)) == []
    assert list(manager.get_participants("/", other)) == [(other, "eio-2")]


def test_a_sid_room_holds_one_pair() -> None:
    room = SidRoom()
    assert len(room) == 0 and "a" not in room and room.get("a") is None
    room["a"] = "eio-a"
    assert room["a"] == "eio-a" and list(room) == ["a"] and room.items() == [("a", "eio-a")]
    assert room._fwdm == {"a": "eio-a"} and room._invm == {"eio-a": "a"}
    with pytest.raises(ValueError):
        room["b"] = "eio-b"
    with pytest.raises(KeyError):
        del room["b"]
    del room["a"]
    assert len(room) == 0 and room._fwdm == {}
