"""WebSocket frames built once per emit and written as they are by every recipient's `Link`."""

from __future__ import annotations

import struct


def websocket_frame(message: str | bytes) -> bytes:
    """One unfragmented, unmasked server-to-client frame: text for `str`, binary for `bytes`."""
    if isinstance(message, str):
        payload, first = message.encode(), 0x81
    else:
        payload, first = bytes(message), 0x82
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload
