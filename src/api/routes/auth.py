"""Register, sign in, and the signed-in user's profile and status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from src.api.deps import (
    ADMINS_ONLY,
    BAD_BODY,
    UNAUTHORIZED,
    AdminUser,
    CurrentUser,
    EmitterDep,
    Responses,
    ServicesDep,
    SessionDep,
    SettingsDep,
    error,
    oauth2_scheme,
)
from src.api.limiters import (
    WRITE_LIMIT_RESPONSES,
    WRITE_LIMITED,
    LoginAttemptDep,
    throttle_registration,
)
from src.api.snapshot import ListSnapshotDep
from src.auth import revocation
from src.auth import service as auth_service
from src.auth.exceptions import AccountDisabled, InvalidCredentials
from src.auth.schemas import (
    PresencePublic,
    StatusPublic,
    StatusUpdate,
    Token,
    UserCreate,
    UserPublic,
)
from src.core.log_position import POSITIONED
from src.core.security import read_access_token
from src.core.strict_json import StrictJSONRoute

router = APIRouter(tags=["auth"], route_class=StrictJSONRoute)

HASHING_BUSY: Responses = {
    503: error(
        "PASSWORD_HASH_QUEUE password checks are waiting already: refused at once",
        headers={"Retry-After": "seconds to wait before trying again"},
    )
}


@router.post(
    "/api/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    dependencies=[Depends(throttle_registration)],
    responses={
        **BAD_BODY,
        409: error("a user with this email already exists (emails are compared lowercased)"),
        429: error(
            "too many registrations from this address (REGISTER_RATE_LIMIT)",
            headers={"Retry-After": "seconds to wait before trying again"},
        ),
        **HASHING_BUSY,
    },
)
async def register(data: UserCreate, session: SessionDep, settings: SettingsDep) -> UserPublic:
    user = await auth_service.create_user(
        session,
        email=data.email,
        password=data.password,
        display_name=data.display_name,
        hash_queue=settings.password_hash_queue,
    )
    return UserPublic.model_validate(user)


@router.post(
    "/api/auth/token",
    response_model=Token,
    responses={
        401: error(
            "incorrect email or password (the same answer for an unknown email)",
            headers={"WWW-Authenticate": "`Bearer`"},
        ),
        403: error("the password is right but an admin disabled this account"),
        429: error(
            "too many sign-in attempts from this address, or too many failed ones for this "
            "email from an address that never signed in to it (LOGIN_RATE_LIMIT)",
            headers={"Retry-After": "seconds to wait before trying again"},
        ),
        **HASHING_BUSY,
    },
)
async def login(
    attempt: LoginAttemptDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    user = await auth_service.authenticate(
        session,
        email=form.username,
        password=form.password,
        hash_queue=settings.password_hash_queue,
    )
    if user is None:
        raise InvalidCredentials()
    if not user.is_active:
        raise AccountDisabled()
    await attempt.succeeded()
    return auth_service.issue_token(
        user.id, secret_key=settings.secret_key, ttl_seconds=settings.access_token_ttl_seconds
    )


@router.post(
    "/api/auth/refresh",
    response_model=Token,
    responses=UNAUTHORIZED,
    summary="A new access token for the signed-in user, without the password",
)
async def refresh(user: CurrentUser, settings: SettingsDep) -> Token:
    """Trade a valid bearer token for a new one (new `jti`, full `ACCESS_TOKEN_TTL_SECONDS`).

    The old token stays valid until it expires (sign out revokes it); an expired or revoked
    token, or one of a deleted user, gets 401 like on every route, so a client must refresh
    before `exp`. Send the new token on live sockets with `refresh_token`.
    """
    return auth_service.issue_token(
        user.id, secret_key=settings.secret_key, ttl_seconds=settings.access_token_ttl_seconds
    )


@router.post(
    "/api/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=UNAUTHORIZED,
    summary="Sign out: revoke this token and close its sockets",
)
async def logout(
    _user: CurrentUser,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    session: SessionDep,
    services: ServicesDep,
) -> Response:
    """Revoke the bearer token of this request until it expires.

    From then on REST answers it 401 and a socket connect with it fails (`unauthorized`).
    Sockets opened with it (and not refreshed to another token since) are sent an `error`
    (`unauthorized`) and closed at once, on every worker (through Redis; should a notice be
    lost, within `ADMIN_RECHECK_SECONDS`). The user's other tokens keep working.
    """
    claims = read_access_token(token or "", secret_key=services.settings.secret_key)
    if claims is not None and claims.jti is not None:
        await revocation.revoke(session, claims)
        await services.notices.token_revoked(claims.jti)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/users/me", response_model=UserPublic, responses=UNAUTHORIZED)
async def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.put(
    "/api/users/me/status",
    response_model=StatusPublic,
    dependencies=WRITE_LIMITED,
    responses={**UNAUTHORIZED, **BAD_BODY, **WRITE_LIMIT_RESPONSES},
)
async def update_my_status(
    data: StatusUpdate, user: CurrentUser, session: SessionDep, emitter: EmitterDep
) -> StatusPublic:
    return await auth_service.set_status(session, emitter, user_id=user.id, status=data.status)


@router.get(
    "/api/users/online",
    response_model=list[PresencePublic],
    responses={**UNAUTHORIZED, **ADMINS_ONLY, **POSITIONED},
)
async def list_online_users(
    _admin: AdminUser, session: SessionDep, _snapshot: ListSnapshotDep
) -> list[PresencePublic]:
    """Users whose status is not `offline` (for the admin's who-is-online view).

    The body stays a bare list (older clients read it so): the position is in the header only.
    """
    return [PresencePublic.model_validate(user) for user in await auth_service.list_online(session)]
