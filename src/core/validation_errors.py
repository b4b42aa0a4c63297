"""422 answers that are short and always encodable, whatever the request held.

FastAPI's own 422 echoes each rejected value whole (`input`): a 50 MiB email came back as a
52 MB answer, and a lone surrogate (`"\\ud800"`, valid JSON, not encodable as UTF-8) made
the answer itself fail, a 500. Here each error keeps FastAPI's shape (`type`, `loc`, `msg`,
`input`, `ctx`), but a rejected string is echoed cut to 100 characters with surrogates
replaced, and a non-empty list or object only by its kind (`"<list>"`, `"<object>"`), the
rules of the socket's `validation_error` (`src/events/errors.py`).
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from src.events.errors import MAX_ECHOED_CHARS, safe_text

MAX_MESSAGE_CHARS = 300
"""A message may quote the input (the email validator's do): cut like the input."""


def echo(value: Any) -> Any:
    """What a 422 may say about one rejected value: small scalars as they are, else its kind."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else f"<integer, {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return safe_text(value, MAX_ECHOED_CHARS)
    if isinstance(value, bytes | bytearray):
        return f"<binary, {len(value)} bytes>"
    if isinstance(value, dict):
        return "<object>" if value else {}  # `{}`: FastAPI's input of a JSON decode error
    if isinstance(value, list | tuple):
        return "<list>" if value else []
    return f"<{type(value).__name__}>"


def _plain(value: Any) -> Any:
    """`ctx` made plain JSON, every string cut and encodable."""
    if isinstance(value, dict):
        return {safe_text(str(key)): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return echo(value)


def short_error(error: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "type": error["type"],
        "loc": [part if isinstance(part, int) else safe_text(str(part)) for part in error["loc"]],
        "msg": safe_text(str(error["msg"]), MAX_MESSAGE_CHARS),
    }
    if "input" in error:
        answer["input"] = echo(error["input"])
    if "ctx" in error:
        answer["ctx"] = _plain(jsonable_encoder(error["ctx"]))
    return answer


async def _validation_failed(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        {"detail": [short_error(error) for error in exc.errors()]},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def add_validation_handler(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_failed)
