"""The one exception socket code raises to answer a client with an `error` event."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from src.core.echo import echo, safe_text
from src.events.schemas import ErrorCode


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
                "input": echo(error.get("input")),
            }
            for error in exc.errors(include_url=False, include_context=False)
        ]
        return cls(ErrorCode.VALIDATION_ERROR, "the payload is not valid", details)


def _safe_key(part: Any) -> str | int:
    return part if isinstance(part, int) else safe_text(str(part))
