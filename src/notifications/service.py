"""Sending notifications: stored in the event log and emitted to the audience's room."""

from __future__ import annotations

from fastapi import HTTPException, status
from sqlalchemy.ext.asyncio import AsyncSession

from src.auth import service as auth_service
from src.events.emitters import EventEmitter
from src.events.schemas import EventMeta
from src.notifications.schemas import NotificationCreate


async def send_notification(
    session: AsyncSession, emitter: EventEmitter, *, data: NotificationCreate
) -> EventMeta:
    if data.audience == "user":
        assert data.user_id is not None  # NotificationCreate requires it for audience "user"
        if not await auth_service.user_exists(session, data.user_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"user {data.user_id} not found")
    return await emitter.emit_notification(
        data.message,
        level=data.level,
        audience=data.audience,
        user_id=data.user_id if data.audience == "user" else None,
        session=session,
    )
