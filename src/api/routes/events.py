"""`GET /api/events`: the retained events of a room, for clients that reload through REST."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel

from src.api.deps import (
    UNAUTHORIZED,
    CurrentUser,
    RoomsDep,
    ServicesDep,
    SessionDep,
    error,
    viewer_of,
)
from src.api.snapshot import ListSnapshotDep
from src.core.log_position import POSITIONED, PositionedList
from src.events.rooms import RoomError
from src.events.schemas import ErrorCode, UTCTimestamp

router = APIRouter(tags=["events"])


class LoggedEventPublic(BaseModel):
    event_id: int
    event_type: str
    data: dict[str, Any]
    emitted_at: UTCTimestamp


class LoggedEventsPublic(PositionedList):
    items: list[LoggedEventPublic]


@router.get(
    "/api/events",
    response_model=LoggedEventsPublic,
    responses={
        **UNAUTHORIZED,
        **POSITIONED,
        403: error("a room the caller may not subscribe to"),
        404: error("no such room"),
    },
)
async def list_events(
    user: CurrentUser,
    session: SessionDep,
    services: ServicesDep,
    rooms: RoomsDep,
    snapshot: ListSnapshotDep,
    room: Annotated[str, Query(min_length=1, max_length=128)],
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LoggedEventsPublic:
    """The room's retained events after `after`, and the position the page reaches: the log's
    position in the snapshot, or the last item's id when the page stops at `limit`."""
    try:
        delivery_room = rooms.delivery_room(room, viewer_of(user))
    except RoomError as exc:
        code = 403 if exc.code == ErrorCode.FORBIDDEN else status.HTTP_404_NOT_FOUND
        raise HTTPException(code, exc.message) from None
    events = await services.event_log.read(session, delivery_room, after=after, limit=limit)
    if len(events) == limit:
        snapshot.stop_at(events[-1].meta.event_id)
    return LoggedEventsPublic(
        position=snapshot.position,
        items=[
            LoggedEventPublic(
                event_id=e.meta.event_id,
                event_type=e.meta.event_type,
                data=e.data,
                emitted_at=e.meta.emitted_at,
            )
            for e in events
        ],
    )
