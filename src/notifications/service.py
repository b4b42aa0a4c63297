"""Sending notifications: stored in the event log and emitted to the audience's room.

On a SQLite file (`SocketService.grouped`) a notification to everyone or to the admins is a
grouped hot write: the sender's check (an active, not signed-out admin) and the event in one
savepoint of a group commit (`src/events/grouped_writes.py`).
"""

from __future__ import annotations

from fastapi import HTTPException, status
from sqlalchemy.ext.asyncio import AsyncSession

from src.auth import service as auth_service
from src.auth.exceptions import AdminRequired, NotAuthenticated
from src.auth.guard import HOLDER_IS_ADMIN, holder_is_admin, holder_params
from src.core.security import TokenClaims
from src.events.emitters import EventEmitter, notification_data
from src.events.grouped_writes import EventSpec
from src.events.schemas import EventMeta, EventType
from src.notifications.schemas import NotificationCreate


async def send_as_holder(
    session: AsyncSession,
    emitter: EventEmitter,
    claims: TokenClaims | None,
    data: NotificationCreate,
) -> EventMeta:
    """Send `data` if the token's holder may: `NotAuthenticated` (401) when it names no
    active, signed-in user, `AdminRequired` (403) when that user is not an admin."""
    if emitter.socket_service.grouped is not None and data.audience != "user":
        return await send_grouped(emitter, claims, data)
    is_admin = await holder_is_admin(session, claims)
    meta = await send_notification(session, emitter, data=data) if is_admin else None
    return _sent_or_refused(is_admin, meta)


def _sent_or_refused(is_admin: bool | None, meta: EventMeta | None) -> EventMeta:
    if is_admin is None:
        raise NotAuthenticated()
    if meta is None:
        raise AdminRequired()
    return meta


async def send_grouped(
    emitter: EventEmitter, claims: TokenClaims | None, data: NotificationCreate
) -> EventMeta:
    """The check and the event in one group-committed savepoint (`SocketService.grouped`
    set, an audience other than one user: no user to look up), raising as `send_as_holder`."""
    params = holder_params(claims)
    if params is None:
        raise NotAuthenticated()
    payload = notification_data(data.message, data.level, data.audience)

    def event_for(is_admin: object) -> EventSpec | None:
        return emitter.event_spec(EventType.NOTIFICATION, payload) if is_admin else None

    writes = emitter.socket_service
    is_admin, meta = await writes.write_with_event(HOLDER_IS_ADMIN, params, event_for)
    return _sent_or_refused(None if is_admin is None else bool(is_admin), meta)


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
