"""Writes that lose a race to a delete answer 404, never 500, and a delete happens once.

Two requests may load the same item and both write it. Before, a PATCH whose item was
deleted meanwhile failed in the ORM's flush (`StaleDataError`, a 500: 55 of 80 racing
requests on SQLite), and concurrent DELETEs of one item all answered 204, each logging its
own `*_deleted` event. Now the UPDATE or DELETE that finds no row is the loser's 404: the
item is gone, as a read would have said a moment later. On PostgreSQL the losing statement
waits for the winner's row lock and then finds no row; on SQLite writers take turns.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import CursorResult, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

logger = logging.getLogger("mindwire.races")


class ItemGone(HTTPException):
    """The item was deleted by another request after this one loaded it."""

    def __init__(self, model: type[Any], item_id: int) -> None:
        super().__init__(status.HTTP_404_NOT_FOUND, f"{model.__name__} {item_id} not found")


async def flush_or_gone(session: AsyncSession, item: Any) -> None:
    """Flush `item`'s changes; `ItemGone` when its row was deleted meanwhile."""
    item_id = item.id  # read now: a failed flush expires the item
    try:
        await session.flush()
    except StaleDataError:
        raise ItemGone(type(item), item_id) from None


async def delete_or_gone(session: AsyncSession, item: Any) -> None:
    """Delete `item`'s row; `ItemGone` when another request deleted it first (no row)."""
    model = type(item)
    statement = delete(model).where(model.id == item.id)
    result = await session.execute(statement.execution_options(synchronize_session=False))
    if cast(CursorResult[Any], result).rowcount != 1:
        raise ItemGone(model, item.id)
    session.expunge(item)


async def _changed_meanwhile(request: Request, exc: Exception) -> JSONResponse:
    """Any other ORM write that found its row changed or gone: 409, retry after a read."""
    logger.warning("write lost a race on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "the item changed while this request ran; read it and try again"},
        status_code=status.HTTP_409_CONFLICT,
    )


def add_race_handler(app: FastAPI) -> None:
    app.add_exception_handler(StaleDataError, _changed_meanwhile)
