"""`TolerantPacket`: Socket.IO packets whose JSON never makes the server drop a message.

python-socketio decodes each packet with `engineio.json`, which refuses integers of more than
100 digits (against slow big-int parsing), and lets a nesting too deep for Python's parser
raise. Either way the message vanished: no ack, no `error`, only a traceback in the log.
Here such an integer parses as a float (`since: 1e300` is then a `validation_error` like any
other wrong type), and an event whose JSON still cannot be decoded, or is not
`[name, ...args]`, arrives as `MALFORMED_EVENT`, which the gateway answers with
`validation_error`.
"""

from __future__ import annotations

import json
from typing import Any

from socketio import packet as sio_packet

MAX_INT_DIGITS = 100


class _MalformedEvent(str):
    """The name given to an event that could not be decoded (tested by identity)."""

    __slots__ = ()


MALFORMED_EVENT = _MalformedEvent("<malformed>")


def _parse_int(text: str) -> int | float:
    # float() is linear in the length of the text, int() is not: past MAX_INT_DIGITS the
    # value is a float (inf beyond 1e308), which no payload model accepts as an integer.
    return int(text) if len(text) <= MAX_INT_DIGITS else float(text)


class TolerantJSON:
    """The `json` of `TolerantPacket`: `loads` never raises on a client's text."""

    @staticmethod
    def dumps(value: Any, **kwargs: Any) -> str:
        return json.dumps(value, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        try:
            return json.loads(text, parse_int=_parse_int, **kwargs)
        except (ValueError, RecursionError):
            return [MALFORMED_EVENT]


class TolerantPacket(sio_packet.Packet):  # type: ignore[misc]
    """A Socket.IO packet decoded with `TolerantJSON`, its event checked to be `[name, ...]`."""

    json = TolerantJSON
    data: Any
    packet_type: int

    def decode(self, encoded_packet: Any) -> int:
        attachments: int = super().decode(encoded_packet)
        if self.packet_type in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
            data = self.data
            if not (isinstance(data, list) and data and isinstance(data[0], str)):
                self.data = [MALFORMED_EVENT]
        return attachments
