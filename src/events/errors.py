"""The one exception socket code raises to answer a client with an `error` event."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

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
        """A `validation_error` carrying Pydantic's errors, made JSON-safe."""
        details = json.loads(exc.json(include_url=False, include_context=False))
        return cls(ErrorCode.VALIDATION_ERROR, "the payload is not valid", details)
