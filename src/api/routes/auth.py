"""Register, sign in, and the signed-in user's profile and status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from src.auth import service as auth_service
from src.auth.exceptions import InvalidCredentials
from src.auth.schemas import (
    PresencePublic,
    StatusPublic,
    StatusUpdate,
    Token,
    UserCreate,
    UserPublic,
)
from src.auth.throttle import throttle_login
from src.core.deps import (
    ADMINS_ONLY,
    BAD_BODY,
    UNAUTHORIZED,
    AdminUser,
    CurrentUser,
    EmitterDep,
    SessionDep,
    SettingsDep,
    error,
)
from src.core.security import create_access_token
from src.core.strict_json import StrictJSONRoute

router = APIRouter(tags=["auth"], route_class=StrictJSONRoute)


@router.post(
    "/api/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses={
        **BAD_BODY,
        409: error("a user with this email already exists (emails are compared lowercased)"),
    },
)
async def register(data: UserCreate, session: SessionDep) -> UserPublic:
    user = await auth_service.create_user(
        session, email=data.email, password=data.password, display_name=data.display_name
    )
    return UserPublic.model_validate(user)


@router.post(
    "/api/auth/token",
    response_model=Token,
    dependencies=[Depends(throttle_login)],
    responses={
        401: error(
            "incorrect email or password (the same answer for an unknown email)",
            headers={"WWW-Authenticate": "`Bearer`"},
        ),
        429: error(
            "too many sign-in attempts from this address or for this email (LOGIN_RATE_LIMIT)",
            headers={"Retry-After": "seconds to wait before trying again"},
        ),
    },
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    user = await auth_service.authenticate(session, email=form.username, password=form.password)
    if user is None:
        raise InvalidCredentials()
    token = create_access_token(
        user.id, secret_key=settings.secret_key, ttl_seconds=settings.access_token_ttl_seconds
    )
    return Token(access_token=token, expires_in=settings.access_token_ttl_seconds)


@router.get("/api/users/me", response_model=UserPublic, responses=UNAUTHORIZED)
async def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.put(
    "/api/users/me/status", response_model=StatusPublic, responses={**UNAUTHORIZED, **BAD_BODY}
)
async def update_my_status(
    data: StatusUpdate, user: CurrentUser, session: SessionDep, emitter: EmitterDep
) -> StatusPublic:
    return await auth_service.set_status(session, emitter, user_id=user.id, status=data.status)


@router.get(
    "/api/users/online",
    response_model=list[PresencePublic],
    responses={**UNAUTHORIZED, **ADMINS_ONLY},
)
async def list_online_users(_admin: AdminUser, session: SessionDep) -> list[PresencePublic]:
    """Users whose status is not `offline` (for the admin's who-is-online view)."""
    return [PresencePublic.model_validate(user) for user in await auth_service.list_online(session)]
