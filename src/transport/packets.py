"""`TolerantPacket`: Socket.IO packet decoding that tells odd content from a broken protocol.

python-socketio decodes each packet with `engineio.json`, which refuses integers of more than
100 digits (against slow big-int parsing), and lets a nesting too deep for Python's parser
raise. Either way the message vanished: no ack, no `error`, only a traceback in the log.
Here such an integer parses as a float (`since: 1e300` is then a `validation_error` like any
other wrong type), and an event nested too deep arrives as `MALFORMED_EVENT`, which the
gateway answers with `validation_error`: the packet is well formed, its content is not.

A packet no Socket.IO client sends (an unknown type, JSON that does not parse, an event that
is not `[name, ...args]`, an ack id followed by letters, a binary placeholder that points at
no attachment) raises `ProtocolError`; the door (`src/transport/door.py`) then closes the
connection, as Socket.IO's own servers do on a parse error. It is never acknowledged.
"""

from __future__ import annotations

import json
from typing import Any

from socketio import packet as sio_packet

MAX_INT_DIGITS = 100
CLIENT_PACKET_TYPES = frozenset(
    {
        sio_packet.CONNECT,
        sio_packet.DISCONNECT,
        sio_packet.EVENT,
        sio_packet.ACK,
        sio_packet.BINARY_EVENT,
        sio_packet.BINARY_ACK,
    }
)
"""What a client may send: everything but CONNECT_ERROR, which only a server sends."""


class ProtocolError(ValueError):
    """A packet that breaks the Socket.IO protocol: the connection is closed, not answered."""


class _MalformedEvent(str):
    """The name given to an event that could not be decoded (tested by identity)."""

    __slots__ = ()


MALFORMED_EVENT = _MalformedEvent("<malformed>")


def _parse_int(text: str) -> int | float:
    # float() is linear in the length of the text, int() is not: past MAX_INT_DIGITS the
    # value is a float (inf beyond 1e308), which no payload model accepts as an integer.
    return int(text) if len(text) <= MAX_INT_DIGITS else float(text)


class TolerantJSON:
    """The `json` of `TolerantPacket`: deep nesting is `MALFORMED_EVENT`, bad JSON a
    `ProtocolError`; nothing else escapes from a client's text."""

    @staticmethod
    def dumps(value: Any, **kwargs: Any) -> str:
        return json.dumps(value, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        try:
            return json.loads(text, parse_int=_parse_int, **kwargs)
        except RecursionError:
            return [MALFORMED_EVENT]
        except ValueError:
            raise ProtocolError("the packet's JSON does not parse") from None


class TolerantPacket(sio_packet.Packet):  # type: ignore[misc]
    """A Socket.IO packet decoded with `TolerantJSON`, checked against the protocol."""

    json = TolerantJSON
    data: Any
    packet_type: int
    attachment_count: int
    received_bytes = 0
    """Bytes of this message received so far (its header, then its attachments)."""

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        """python-socketio's answer (a `bytes` or `bytearray` among the lists' items and the
        dicts' values, at any depth), found by one walk: its own recursion builds a list and
        runs a `reduce` per container (~2.5 us of a connect's four outgoing packets each)."""
        return _holds_binary(data)

    def decode(self, encoded_packet: Any) -> int:
        if not isinstance(encoded_packet, str) or not encoded_packet:
            raise ProtocolError("a binary frame that no binary packet announced")
        if encoded_packet[0] not in "0123456":
            raise ProtocolError(f"unknown packet type {encoded_packet[:1]!r}")
        try:
            attachments: int = super().decode(encoded_packet)
        except ProtocolError:
            raise
        except (ValueError, TypeError, IndexError) as exc:
            raise ProtocolError(f"the packet does not decode: {exc}") from None
        if self.packet_type not in CLIENT_PACKET_TYPES:
            raise ProtocolError(f"a client may not send packets of type {self.packet_type}")
        if self.packet_type in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
            data = self.data
            if not (isinstance(data, list) and data and isinstance(data[0], str)):
                raise ProtocolError("an event is a JSON array [name, ...arguments]")
        self.received_bytes = len(encoded_packet)
        return attachments

    @classmethod
    def reconstruct_binary(cls, data: Any, attachments: list[Any]) -> Any:
        """The data with each placeholder replaced by its attachment; a placeholder whose
        `num` is not the index of an attachment is a `ProtocolError`."""
        try:
            return _reconstruct(data, attachments)
        except RecursionError:
            return [MALFORMED_EVENT]


_SCALARS = frozenset({str, int, float, bool, type(None)})
WALK_LIMIT = 100_000
"""Items `_holds_binary` looks at before it leaves the data to python-socketio's recursion
(which refuses a structure that contains itself with a `RecursionError`; a walk would not end)."""


def _holds_binary(data: Any) -> bool:
    if type(data) in _SCALARS:
        return False
    pending = [data]
    walked = 0
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind in _SCALARS:
            continue
        walked += 1
        if walked > WALK_LIMIT:
            return bool(sio_packet.Packet.data_is_binary(data))
        if kind is dict:
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
        elif isinstance(item, (bytes, bytearray)):
            return True
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
    return False


def _reconstruct(data: Any, attachments: list[Any]) -> Any:
    if isinstance(data, list):
        return [_reconstruct(item, attachments) for item in data]
    if isinstance(data, dict):
        if data.get("_placeholder") and "num" in data:
            num = data["num"]
            if type(num) is not int or not 0 <= num < len(attachments):
                raise ProtocolError(f"a binary placeholder points at no attachment: {num!r}")
            return attachments[num]
        return {key: _reconstruct(value, attachments) for key, value in data.items()}
    return data
