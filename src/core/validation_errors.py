"""422 answers that are short and always encodable, whatever the request held.

FastAPI's own 422 echoes each rejected value whole (`input`): a 50 MiB email came back as a
52 MB answer, and a lone surrogate (`"\\ud800"`, valid JSON, not encodable as UTF-8) made
the answer itself fail, a 500. Here each error keeps FastAPI's shape (`type`, `loc`, `msg`,
`input`, `ctx`), but a rejected string is echoed cut to 100 characters with surrogates
replaced, and a non-empty list or object only by its kind (`"<list>"`, `"<object>"`), the
rules of the socket's `validation_error` (`src/events/errors.py`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from src.core.echo import echo, safe_text

MAX_MESSAGE_CHARS = 300
"""A message may quote the input (the email validator's do): cut like the input."""


def _plain(value: Any) -> Any:
    """`ctx` made plain JSON, every string cut and encodable."""
    if isinstance(value, dict):
        return {safe_text(str(key)): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return echo(value, keep_empty=True)


def short_error(error: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "type": error["type"],
        "loc": [part if isinstance(part, int) else safe_text(str(part)) for part in error["loc"]],
        "msg": safe_text(str(error["msg"]), MAX_MESSAGE_CHARS),
    }
    if "input" in error:
        answer["input"] = echo(error["input"], keep_empty=True)
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
