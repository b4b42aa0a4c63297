"""A database that does not answer is a 503 with a reason, never a 500.

Each request's write is one transaction, so a write cut off by an outage is rolled back
whole; the client is told to retry. The connection pool checks connections before use
(`pool_pre_ping`), so the first request after the database is back succeeds.

A database that is busy is answered the same way: no free connection in the pool within
`DATABASE_POOL_TIMEOUT_SECONDS` (SQLAlchemy's pool `TimeoutError`), or PostgreSQL refusing
new connections (SQLSTATE class 53, `too_many_connections`, or starting / shutting down).
"""

from __future__ import annotations

import logging

from fastapi import status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

logger = logging.getLogger("mindwire.outages")

RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "the database is unavailable; nothing was changed, retry shortly"
BUSY = "the database is busy (no free connection); nothing was changed, retry shortly"


BUSY_SQLSTATES = ("08", "53", "57P01", "57P02", "57P03")
"""PostgreSQL codes of "cannot serve you now": connection failures, insufficient resources
(too many connections, out of memory or disk), and a server shutting down or starting."""


def is_outage(exc: BaseException) -> bool:
    """True for errors that mean "cannot reach the database now", not "bad query"."""
    outage = ConnectionError | TimeoutError | PoolTimeout | OperationalError | InterfaceError
    if isinstance(exc, outage):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    busy = isinstance(sqlstate, str) and sqlstate.startswith(BUSY_SQLSTATES)
    return busy or exc.connection_invalidated


def database_error(exc: Exception, method: str, path: str) -> JSONResponse:
    """The answer to a database error: 503 for an outage, 500 for anything else (FastAPI's
    handlers and the plain ASGI hot writes both answer so, `src/core/error_answers.py`)."""
    if not is_outage(exc):
        logger.error("database error on %s %s", method, path, exc_info=exc)
        return JSONResponse(
            {"detail": "internal error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR
        )
    logger.warning("database unavailable on %s %s: %s", method, path, exc)
    return JSONResponse(
        {"detail": BUSY if isinstance(exc, PoolTimeout) else UNAVAILABLE},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


DATABASE_ERRORS = (DBAPIError, ConnectionError, TimeoutError, PoolTimeout)
"""What `database_error` answers (`src/core/error_answers.py` registers it for each)."""
