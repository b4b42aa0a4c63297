"""Admins manage other users' access: disable, re-enable, grant or withdraw admin rights."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from src.api.deps import (
    ADMINS_ONLY,
    BAD_BODY,
    UNAUTHORIZED,
    AdminUser,
    ServicesDep,
    SessionDep,
    error,
)
from src.auth import service as auth_service
from src.auth.exceptions import UserNotFound
from src.auth.schemas import UserAccessUpdate, UserPublic
from src.core.db import MAX_INTEGER_ID
from src.core.strict_json import StrictJSONRoute

router = APIRouter(tags=["users"], route_class=StrictJSONRoute)

UserId = Annotated[int, Path(ge=1, le=MAX_INTEGER_ID, description="the user's id")]


@router.patch(
    "/api/users/{user_id}",
    response_model=UserPublic,
    responses={
        **UNAUTHORIZED,
        **BAD_BODY,
        **ADMINS_ONLY,
        404: error("no such user"),
        409: error("an admin cannot disable or demote their own account"),
    },
    summary="Disable, re-enable, promote or demote a user (admins only)",
)
async def change_user_access(
    user_id: UserId,
    change: UserAccessUpdate,
    admin: AdminUser,
    session: SessionDep,
    services: ServicesDep,
) -> UserPublic:
    """Only the fields given change. A disabled user cannot sign in (`403`), and every token
    of theirs is refused (`401`) until an admin sets `is_active` back to true. The open
    sockets of a disabled user receive an `error` `unauthorized` and are closed, and those of
    a demoted admin leave the admin-only rooms (`error` `forbidden`): at once, on every worker.
    """
    user = await auth_service.get_user(session, user_id)
    if user is None:
        raise UserNotFound()
    if await auth_service.change_access(session, user, change, by=admin):
        await services.notices.user_changed(user.id)
    return UserPublic.model_validate(user)
