"""`HotWrites`: the hot creates as plain ASGI, off FastAPI's per-request machinery.

`POST /api/memory-logs`, `POST /api/mental-notes` and `POST /api/notifications` (to everyone
or the admins) on a SQLite file (`SocketService.grouped`) are answered here, in front of the
FastAPI app (Socket.IO's ASGI app hands it the REST traffic: FastAPI's `__call__`, Starlette's
error middleware and the middleware below are not on the hot path; an exception answered
neither here nor by `error_answer` reaches uvicorn, which logs it and answers 500 as Starlette
would): the bearer read once, the JSON body parsed and
validated once, the write's throttle, the grouped write (`src/events/grouped_writes.py`:
the holder's check, the row and its event in one group commit), the answer serialised once.
No `Request`, no dependency solving, no session, no middleware layers. That middleware has
nothing to do for what is answered here: a request with an `Origin` (CORS adds its headers)
and a body over `MAX_REQUEST_BODY_BYTES` (`BodyLimit`'s 413) go on to it; the allowed
methods only answer `OPTIONS` and 405s.

Anything but the plain case goes on to the FastAPI route with the body it sent, untouched:
no token or a bad one, a body that is not JSON or does not validate, a notification to one
user. The route answers those exactly as before (its 401, 400, 422), and the OpenAPI schema
still comes from it. What is decided here (a refusal's `HTTPException`, 401, 403, 429, or
a database outage) is answered by `src/core/error_answers.py`, as FastAPI's handlers answer
it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from src.api.limiters import write_slot
from src.app.services import AppServices
from src.auth.exceptions import NotAuthenticated
from src.core.error_answers import error_answer
from src.core.security import TokenClaims, read_access_token
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


_WANTED = frozenset({b"authorization", b"content-type", b"content-length", b"origin"})


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The first value of each header this path looks at (as Starlette's `Headers.get`)."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _WANTED and name not in found:
            found[name] = value
    return found


def _bearer(headers: dict[bytes, bytes]) -> str | None:
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _is_plain(headers: dict[bytes, bytes], max_bytes: int) -> bool:
    """A JSON body, not from a browser's other origin (CORS adds its headers to those), not
    announced larger than the body limit (`BodyLimit` refuses it unread)."""
    content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    if content_type != b"application/json" or b"origin" in headers:
        return False
    declared = headers.get(b"content-length")
    return declared is None or not declared.isdigit() or int(declared) <= max_bytes


def _parse(route: HotRoute, body: bytes) -> BaseModel | None:
    """The validated body, or None when the route must say what is wrong with it.

    Parsed and validated in one call (pydantic's own JSON parser), which refuses what the
    route's `json.loads` then `lone_surrogate` would refuse (a lone surrogate, escaped or raw,
    anywhere; bad JSON) and reads the rest alike; what it refuses and `json.loads` reads (a
    BOM, UTF-16) goes to the route, which answers as before."""
    try:
        data = route.body.model_validate_json(body)
    except ValidationError:
        return None
    return data if route.takes(data) else None


async def _read_body(receive: Receive, max_bytes: int) -> tuple[bytes, bool] | None:
    """The body, and whether it is all of it (False: past `max_bytes`, the rest unread);
    None when the client left first (nobody to answer)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if not more or size > max_bytes:
            return b"".join(chunks), not more


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """`receive` for the app after the body was read here: what was read, then the rest."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": more}

    return again


async def _send_json(send: Send, status: int, body: bytes) -> None:
    raw = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class HotWrites:
    """The plain ASGI hot creates, in front of the FastAPI `app` (see the module); `max_bytes`
    is `BodyLimit`'s."""

    def __init__(self, app: Starlette, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # The state's dict itself: `State.__getattr__` is a Python call per request.
        self._state: dict[str, Any] = app.state._state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = ROUTES.get(scope["path"]) if scope["type"] == "http" else None
        if route is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        services: AppServices | None = self._state.get("services")
        grouped = services is not None and services.socket_service.grouped is not None
        if services is None or not grouped or not _is_plain(headers, self.max_bytes):
            await self.app(scope, receive, send)
            return
        token = _bearer(headers)
        claims = None if token is None else _claims(services, token)
        read = await _read_body(receive, self.max_bytes)
        if read is None:
            return
        body, whole = read
        data = None if claims is None or not whole else _parse(route, body)
        if claims is None or data is None:  # the app answers (`BodyLimit` a body too large)
            await self.app(scope, _replay(body, not whole, receive), send)
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
        except Exception as exc:
            response = error_answer(exc, scope["method"], scope["path"])
            if response is None:
                raise
            await response(scope, _no_body, send)
            return
        status, model = answer
        # `model_dump_json` without its keywords and its decode: the same bytes.
        await _send_json(send, status, model.__pydantic_serializer__.to_json(model))


def _claims(services: AppServices, token: str) -> TokenClaims | None:
    return read_access_token(token, secret_key=services.settings.secret_key)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
