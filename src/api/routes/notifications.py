"""`POST /api/notifications`: admins send a message to everyone, to admins, or to one user."""

from __future__ import annotations

from fastapi import APIRouter, status

from src.core.deps import AdminUser, EmitterDep, SessionDep
from src.notifications import service
from src.notifications.schemas import NotificationAccepted, NotificationCreate

router = APIRouter(tags=["notifications"])


@router.post(
    "/api/notifications",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=NotificationAccepted,
    responses={
        401: {"description": "not signed in"},
        403: {"description": "admins only"},
        404: {"description": "audience 'user' names no user"},
    },
)
async def send_notification(
    data: NotificationCreate, _admin: AdminUser, session: SessionDep, emitter: EmitterDep
) -> NotificationAccepted:
    meta = await service.send_notification(session, emitter, data=data)
    return NotificationAccepted(event_id=meta.event_id, audience=data.audience)
