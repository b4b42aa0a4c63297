"""`HotWrites`: the hot creates as plain ASGI, off FastAPI's per-request machinery.

`POST /api/memory-logs`, `POST /api/mental-notes` and `POST /api/notifications` (to everyone
or the admins) on a SQLite file (`SocketService.grouped`) are answered here, inside the CORS,
body-limit and allowed-methods middleware: the bearer read once, the JSON body parsed and
validated once, the write's throttle, the grouped write (`src/events/grouped_writes.py`:
the holder's check, the row and its event in one group commit), the answer serialised once.
No `Request`, no dependency solving, no session.

Anything but the plain case goes on to the FastAPI route with the body it sent, untouched:
no token or a bad one, a body that is not JSON or does not validate, a notification to one
user. The route answers those exactly as before (its 401, 400, 422), and the OpenAPI schema
still comes from it. What is decided here answers as FastAPI would: a refusal's
`HTTPException` (401, 403, 429) as `{"detail": ...}` with its headers, a database outage as
`src/core/outages.py` does.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from src.api.limiters import write_slot
from src.app.services import AppServices
from src.auth.exceptions import NotAuthenticated
from src.core.outages import DATABASE_ERRORS, database_unavailable
from src.core.security import TokenClaims, read_access_token
from src.core.strict_json import lone_surrogate
from src.memory_logs import service as memory_logs
from src.memory_logs.schemas import MemoryLogCreate
from src.mental_notes import service as mental_notes
from src.mental_notes.schemas import MentalNoteCreate
from src.notifications import service as notifications
from src.notifications.schemas import NotificationAccepted, NotificationCreate

Answer = tuple[int, BaseModel]
"""The status and the body to send."""


@dataclass(frozen=True)
class HotRoute:
    body: type[BaseModel]
    write: Callable[[AppServices, TokenClaims, Any], Awaitable[Answer]]
    takes: Callable[[Any], bool] = lambda _data: True
    """Whether this body is handled here (else the route, before any throttle or write)."""


async def _memory_log(services: AppServices, claims: TokenClaims, data: Any) -> Answer:
    log = await memory_logs.create_memory_log_grouped(services.emitter, holder=claims, data=data)
    if log is None:
        raise NotAuthenticated()
    return 201, log


async def _mental_note(services: AppServices, claims: TokenClaims, data: Any) -> Answer:
    note = await mental_notes.create_mental_note_grouped(services.emitter, holder=claims, data=data)
    if note is None:
        raise NotAuthenticated()
    return 201, note


async def _notification(services: AppServices, claims: TokenClaims, data: Any) -> Answer:
    meta = await notifications.send_grouped(services.emitter, claims, data)
    return 202, NotificationAccepted(event_id=meta.event_id, audience=data.audience)


def _not_to_one_user(data: Any) -> bool:
    """To one user, the route looks the user up first (its 404)."""
    return bool(data.audience != "user")


ROUTES = {
    "/api/memory-logs": HotRoute(MemoryLogCreate, _memory_log),
    "/api/mental-notes": HotRoute(MentalNoteCreate, _mental_note),
    # To one user the route looks the user up first (its 404).
    "/api/notifications": HotRoute(
        NotificationCreate, _notification, lambda d: d.audience != "user"
    ),
}


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token if scheme.lower() == "bearer" and token else None
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.split(b";", 1)[0].strip().lower() == b"application/json")
    return False


def _parse(route: HotRoute, body: bytes) -> BaseModel | None:
    """The validated body, or None when the route must say what is wrong with it."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if lone_surrogate(parsed):
        return None
    try:
        data = route.body.model_validate(parsed)
    except ValidationError:
        return None
    return data if route.takes(data) else None


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body; None when the client left first (nobody to answer)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for the route after the body was read here: the body, then the rest."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


async def _send_json(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    raw += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class HotWrites:
    """The plain ASGI hot creates, in front of the FastAPI router (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = ROUTES.get(scope["path"]) if scope["type"] == "http" else None
        if route is None or scope["method"] != "POST" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        services: AppServices | None = getattr(scope["app"].state, "services", None)
        if services is None or services.socket_service.grouped is None:
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        claims = None if token is None else _claims(services, token)
        body = await _read_body(receive)
        if body is None:
            return
        data = None if claims is None else _parse(route, body)
        if claims is None or data is None:
            await self.app(scope, _replay(body, receive), send)
            return
        await self._write(services, claims, route, data, scope, send)

    async def _write(
        self,
        services: AppServices,
        claims: TokenClaims,
        route: HotRoute,
        data: BaseModel,
        scope: Scope,
        send: Send,
    ) -> None:
        """Write and answer, as the route would."""
        try:
            async with write_slot(services, claims):
                answer = await route.write(services, claims, data)
        except HTTPException as exc:
            detail = json.dumps({"detail": exc.detail}).encode()
            await _send_json(send, exc.status_code, detail, dict(exc.headers or {}))
            return
        except DATABASE_ERRORS as exc:
            response = await database_unavailable(Request(scope), exc)
            await response(scope, _no_body, send)
            return
        status, model = answer
        await _send_json(send, status, model.model_dump_json().encode(), {})


def _claims(services: AppServices, token: str) -> TokenClaims | None:
    return read_access_token(token, secret_key=services.settings.secret_key)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
