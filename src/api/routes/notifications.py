"""`POST /api/notifications`: admins send a message to everyone, to admins, or to one user."""

from __future__ import annotations

from fastapi import APIRouter, status

from src.api.deps import (
    ADMINS_ONLY,
    BAD_BODY,
    UNAUTHORIZED,
    AdminUser,
    EmitterDep,
    SessionDep,
    error,
)
from src.api.limiters import WRITE_LIMIT_RESPONSES, WRITE_LIMITED
from src.core.strict_json import StrictJSONRoute
from src.notifications import service
from src.notifications.schemas import NotificationAccepted, NotificationCreate

router = APIRouter(tags=["notifications"], route_class=StrictJSONRoute)


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
    data: NotificationCreate, _admin: AdminUser, session: SessionDep, emitter: EmitterDep
) -> NotificationAccepted:
    meta = await service.send_notification(session, emitter, data=data)
    return NotificationAccepted(event_id=meta.event_id, audience=data.audience)
