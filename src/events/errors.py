"""The one exception socket code raises to answer a client with an `error` event."""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from src.events.schemas import ErrorCode

MAX_ECHOED_CHARS = 100
"""How much of a rejected string value `validation_error` details echo back."""


class SocketError(Exception):
    """Raise from a handler (or a guard) to send `error {code, message, details}` and a failed ack.

    Example::

        raise SocketError(ErrorCode.FORBIDDEN, "room 'admin' is for admins only")
    """

    def __init__(self, code: ErrorCode, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @classmethod
    def from_validation(cls, exc: ValidationError) -> SocketError:
        """A `validation_error` carrying Pydantic's errors (`type`, `loc`, `msg`, `input`).

        Whatever the client sent, the details are plain JSON: a rejected string is echoed
        truncated, a number only when finite, and a list, object or binary attachment only
        by its kind (`"<list>"`, `"<object>"`, `"<binary, 3 bytes>"`).
        """
        details = [
            {
                "type": error["type"],
                "loc": [_safe_key(part) for part in error["loc"]],
                "msg": error["msg"],
                "input": _echo(error.get("input")),
            }
            for error in exc.errors(include_url=False, include_context=False)
        ]
        return cls(ErrorCode.VALIDATION_ERROR, "the payload is not valid", details)


def safe_text(text: str, limit: int = MAX_ECHOED_CHARS) -> str:
    """`text` cut to `limit` characters, lone surrogates replaced (valid UTF-8 on the wire)."""
    return text[:limit].encode("utf-8", "replace").decode("utf-8")


def _safe_key(part: Any) -> str | int:
    return part if isinstance(part, int) else safe_text(str(part))


def _echo(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else f"<integer, {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, bytes | bytearray):
        return f"<binary, {len(value)} bytes>"
    if isinstance(value, dict):
        return "<object>"
    if isinstance(value, list | tuple):
        return "<list>"
    return f"<{type(value).__name__}>"
