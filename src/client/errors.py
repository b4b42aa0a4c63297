"""The exceptions the client raises."""

from __future__ import annotations

import importlib.util

from src.events.schemas import ErrorCode


class MindwireClientError(Exception):
    """Base of the client's own errors."""


class SubscribeError(MindwireClientError):
    """The server refused a subscription: `code` is e.g. `forbidden` or `unknown_room`."""

    def __init__(self, room: str, code: ErrorCode, message: str) -> None:
        super().__init__(f"subscribe {room!r} refused: {code}: {message}")
        self.room = room
        self.code = code
        self.message = message


class ClientClosedError(MindwireClientError):
    """The client was closed (or the room unsubscribed) before the subscription was answered."""


class ConnectError(MindwireClientError):
    """`connect()` failed: `reason` is the server's `connect_error` message (`unauthorized`,
    `too_many_connections`, `service unavailable`) or why the connection could not be made."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"could not connect: {reason}")
        self.reason = reason


def require_aiohttp() -> None:
    """python-socketio's AsyncClient only logs that aiohttp is missing, and never connects."""
    if importlib.util.find_spec("aiohttp") is None:
        raise MindwireClientError("MindwireClient needs aiohttp: pip install 'mindwire[client]'")
