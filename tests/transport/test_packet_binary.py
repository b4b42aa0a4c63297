"""`TolerantPacket.data_is_binary` gives python-socketio's answer, and so does the packet type of
what the server sends: an event or ack carrying bytes anywhere is a binary one."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
from socketio import packet as sio_packet

from src.transport.packets import WALK_LIMIT, TolerantPacket


class Items(list):  # type: ignore[type-arg]
    pass


class Fields(dict):  # type: ignore[type-arg]
    pass


class Raw(bytes):
    pass


CASES: list[Any] = [
    None, 0, 1.5, True, "text", b"bytes", bytearray(b"b"), Raw(b"r"), [], {},
    ["connection_established", {"sid": "a", "user_id": 7, "recovered": False}],
    [{"ok": True, "rooms": ["notifications"], "replayed": 0}],
    ["event", {"nested": [{"deeper": [1, 2, {"file": b"\x00"}]}]}],
    ["event", {"a": [1, 2, 3]}, {"b": bytearray(b"x")}],
    {"key_is_bytes": "not a value"}, {b"bytes key": "value"},
    ("tuple", b"not walked"), {"set": {b"not walked"}},
    Items([1, Items(["x", b"y"])]), Fields(a=Fields(b=Raw(b"z"))), OrderedDict(a=[b"q"]),
    [memoryview(b"not bytes")], [[[[[[[[[[b"deep"]]]]]]]]]],
]  # fmt: skip


@pytest.mark.parametrize("data", CASES, ids=repr)
def test_the_answer_is_python_socketios(data: Any) -> None:
    assert TolerantPacket.data_is_binary(data) is sio_packet.Packet.data_is_binary(data)


@pytest.mark.parametrize("data", CASES, ids=repr)
def test_an_outgoing_event_and_ack_carry_binary_as_before(data: Any) -> None:
    for packet_type in (sio_packet.EVENT, sio_packet.ACK):
        ours = TolerantPacket(packet_type, data=["e", data])
        theirs = sio_packet.Packet(packet_type, data=["e", data])
        assert ours.packet_type == theirs.packet_type
        assert _encoded(ours) == _encoded(theirs)


def _encoded(packet: Any) -> Any:
    """The packet's encoding, or the type of what its encoder raised (data JSON cannot hold)."""
    try:
        return packet.encode()
    except Exception as exc:
        return type(exc)


def test_a_structure_that_contains_itself_is_refused_as_before() -> None:
    looped: list[Any] = ["a"]
    looped.append(looped)
    with pytest.raises(RecursionError):
        sio_packet.Packet.data_is_binary(looped)
    with pytest.raises(RecursionError):
        TolerantPacket.data_is_binary(looped)


def test_a_large_payload_past_the_walk_limit_gets_the_same_answer() -> None:
    wide = [{"n": n} for n in range(WALK_LIMIT + 10)]
    assert TolerantPacket.data_is_binary(wide) is False
    assert TolerantPacket.data_is_binary([*wide, b"x"]) is True
