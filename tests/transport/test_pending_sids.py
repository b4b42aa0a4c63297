"""`PendingSids`: python-socketio's pending-connect and pending-disconnect lists, as sets.

The manager's own code (`pre_connect`, `connect`, `is_connected`, `pre_disconnect`,
`disconnect`) runs unchanged on them; only `sid in ...` and `remove` stop scanning.
"""

from __future__ import annotations

from typing import Any

import pytest

from src.transport.door import DoorLimits, DoorServer
from src.transport.managers import HoldingManager
from src.transport.pending_sids import PendingByNamespace, PendingSids, install


def _manager() -> Any:
    """A manager python-socketio's way: with its server (which generates the sids)."""
    sio = DoorServer(door=DoorLimits(), async_mode="asgi", client_manager=HoldingManager())
    sio.manager.set_server(sio)
    sio.manager.initialize()
    return sio.manager


def test_list_semantics() -> None:
    sids = PendingSids()
    assert not sids and len(sids) == 0 and "a" not in sids
    sids.append("a")
    sids.append("b")
    sids.append("a")  # a list holds it twice: two removals
    assert len(sids) == 3 and list(sids) == ["a", "a", "b"]
    sids.remove("a")
    assert "a" in sids and len(sids) == 2
    sids.remove("a")
    assert "a" not in sids and list(sids) == ["b"]
    with pytest.raises(ValueError):
        sids.remove("a")


def test_the_door_servers_manager_gets_them() -> None:
    """Fails on a plain manager: its pending maps hold lists, scanned on every check."""
    sio = DoorServer(door=DoorLimits(), async_mode="asgi", client_manager=HoldingManager())
    manager: Any = sio.manager
    assert isinstance(manager.pending_connect, PendingByNamespace)
    assert isinstance(manager.pending_disconnect, PendingByNamespace)


async def test_python_socketios_connect_and_disconnect_run_on_them() -> None:
    manager = _manager()
    plain: Any = HoldingManager()
    plain.pending_connect["/"] = ["kept"]  # what a manager held before stays
    install(plain)
    assert isinstance(plain.pending_connect["/"], PendingSids)
    assert "kept" in plain.pending_connect["/"]

    sid = await manager.pre_connect("eio-1", "/")
    assert isinstance(manager.pending_connect["/"], PendingSids)
    assert manager.is_pre_connected(sid, "/")
    assert not manager.is_connected(sid, "/")  # still connecting
    assert await manager.connect(sid, "/") == sid
    assert "/" not in manager.pending_connect and manager.is_connected(sid, "/")

    manager.pre_disconnect(sid, "/")
    assert isinstance(manager.pending_disconnect["/"], PendingSids)
    assert not manager.is_connected(sid, "/")  # on its way out
    await manager.disconnect(sid, "/")
    assert "/" not in manager.pending_disconnect
    assert manager.sid_from_eio_sid("eio-1", "/") is None


async def test_a_socket_that_leaves_while_connecting_is_no_longer_pending() -> None:
    manager = _manager()
    first = await manager.pre_connect("eio-1", "/")
    second = await manager.pre_connect("eio-2", "/")
    await manager.disconnect(first, "/")
    assert first not in manager.pending_connect["/"] and second in manager.pending_connect["/"]
    assert len(manager.pending_connect["/"]) == 1
