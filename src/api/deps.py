"""`Annotated` dependency aliases, defined once and used by every route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from src.app.services import AppServices
from src.auth import service as auth_service
from src.auth.exceptions import AdminRequired, NotAuthenticated
from src.auth.models import User
from src.core.config import Settings
from src.core.security import TokenClaims, read_access_token
from src.events.emitters import EventEmitter
from src.events.rooms import RoomPolicy, Viewer

Responses = dict[int | str, dict[str, Any]]
"""The `responses=` of a route: every status it may answer, so the OpenAPI schema is true."""


class ErrorMessage(BaseModel):
    """The body of every error but 422: `{"detail": "…"}`, as FastAPI writes it."""

    detail: str


def error(description: str, *, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """One entry of `responses=`: an error status, its `{detail}` body and its headers.

    Example::

        @router.get("/x", responses={401: error("not signed in"), 404: error("no such x")})
    """
    entry: dict[str, Any] = {"model": ErrorMessage, "description": description}
    if headers:
        entry["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return entry


UNAUTHORIZED: Responses = {
    401: error(
        "missing, malformed, expired, forged or revoked (signed-out) token, or its user "
        "no longer exists or was disabled",
        headers={"WWW-Authenticate": "`Bearer`"},
    )
}
"""The 401 of every route that needs a bearer token."""
ADMINS_ONLY: Responses = {403: error("admins only")}
BAD_BODY: Responses = {400: error("the body could not be parsed (for example, it is not UTF-8)")}
"""The 400 of every route that reads a JSON body (FastAPI answers it before validation)."""

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def services_of(request: Request) -> AppServices:
    """The app's services (built in the lifespan), read straight from the request."""
    services: AppServices = request.app.state.services
    return services


async def get_services(request: Request) -> AppServices:
    return services_of(request)


ServicesDep = Annotated[AppServices, Depends(get_services)]
"""Plain dependencies are `async def` (FastAPI runs a `def` one in a worker thread). Those
of every write take `request` rather than `ServicesDep`: FastAPI solves a dependency's own
dependencies again each time it is used, even when its value is cached."""


async def get_settings_dep(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request (an AsyncSession must not be shared between tasks)."""
    async with services_of(request).sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_emitter(request: Request) -> EventEmitter:
    return services_of(request).emitter


EmitterDep = Annotated[EventEmitter, Depends(get_emitter)]


async def get_rooms(request: Request) -> RoomPolicy:
    """Who may join which room: the app's one `RoomPolicy` (rooms allowed at run time too)."""
    return services_of(request).rooms


RoomsDep = Annotated[RoomPolicy, Depends(get_rooms)]


async def get_token_claims(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> TokenClaims | None:
    """The request's bearer token, verified once per request (FastAPI caches a dependency's
    value within a request: the write throttle and the signed-in user share it)."""
    if not token:
        return None
    return read_access_token(token, secret_key=services_of(request).settings.secret_key)


TokenClaimsDep = Annotated[TokenClaims | None, Depends(get_token_claims)]


async def get_token_holder(claims: TokenClaimsDep) -> TokenClaims:
    """A token that is well formed, signed with our key and in date, else 401 before the body
    is validated (as `CurrentUser` answers). Whether its user may still act (not signed out,
    deleted or disabled) the hot writes check in their own statement (`src/auth/guard.py`)."""
    if claims is None:
        raise NotAuthenticated()
    return claims


TokenHolder = Annotated[TokenClaims, Depends(get_token_holder)]


async def get_current_user(session: SessionDep, claims: TokenClaimsDep) -> User:
    """The signed-in user, loaded from the database so admin rights are always current."""
    user = await auth_service.user_for_claims(session, claims)
    if user is None:
        raise NotAuthenticated()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise AdminRequired()
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]


def viewer_of(user: User) -> Viewer:
    return Viewer(user_id=user.id, is_admin=user.is_admin)
