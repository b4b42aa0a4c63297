"""`POST /api/notifications`: admins send a message to everyone, to admins, or to one user."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from src.api.deps import (
    ADMINS_ONLY,
    BAD_BODY,
    UNAUTHORIZED,
    EmitterDep,
    SessionDep,
    TokenHolder,
    error,
)
from src.api.limiters import WRITE_LIMIT_RESPONSES, WRITE_LIMITED
from src.core.strict_json import StrictJSONRoute
from src.notifications import service
from src.notifications.schemas import NotificationAccepted, NotificationCreate

router = APIRouter(tags=["notifications"], route_class=StrictJSONRoute)
JSON = "application/json"


@router.post(
    "/api/notifications",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=NotificationAccepted,
    dependencies=WRITE_LIMITED,
    responses={
        **UNAUTHORIZED,
        **ADMINS_ONLY,
        **BAD_BODY,
        404: error("audience `user` with a `user_id` that names no user"),
        **WRITE_LIMIT_RESPONSES,
    },
)
async def send_notification(
    data: NotificationCreate, claims: TokenHolder, session: SessionDep, emitter: EmitterDep
) -> Response:
    # The admin check is in the write (`src/notifications/service.py`), not an ORM load of the
    # user; the answer is serialised once, straight to JSON. (A comment: a docstring would
    # become the route's OpenAPI description.)
    meta = await service.send_as_holder(session, emitter, claims, data)
    accepted = NotificationAccepted(event_id=meta.event_id, audience=data.audience)
    return Response(accepted.model_dump_json(), status.HTTP_202_ACCEPTED, media_type=JSON)
