"""How a refusal or a database error is answered, decided in one place.

FastAPI's exception handlers (`add_error_handlers`) and the plain ASGI hot writes
(`src/api/hot_writes.py`, which run outside FastAPI's exception middleware) both send what
`error_answer` makes, so a 401, 403 or 429 and a database outage read the same whichever path
answered them: an `HTTPException` as `{"detail": ...}` with its headers (no body for a status
that has none, as FastAPI's own handler), a database error as `src/core/outages.py` says.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from src.core.outages import DATABASE_ERRORS, database_error

NO_BODY_STATUSES = frozenset({204, 205, 304})


def http_error(exc: HTTPException) -> Response:
    """An `HTTPException`'s answer: `{"detail": ...}` with its status and headers."""
    if exc.status_code < 200 or exc.status_code in NO_BODY_STATUSES:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def error_answer(exc: Exception, method: str, path: str) -> Response | None:
    """The answer to `exc` raised by a request's `method` and `path`; None when it is no
    refusal or database error (the caller lets it go on: a 500)."""
    if isinstance(exc, HTTPException):
        return http_error(exc)
    if isinstance(exc, DATABASE_ERRORS):
        return database_error(exc, method, path)
    return None


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return http_error(exc)


async def _database_error(request: Request, exc: Exception) -> Response:
    return database_error(exc, request.method, request.url.path)


def add_error_handlers(app: FastAPI) -> None:
    """FastAPI answers refusals and database errors through `error_answer`'s functions."""
    app.add_exception_handler(HTTPException, _http_error)
    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, _database_error)
