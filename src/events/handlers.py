"""`EventHandlerRegistry`: routes inbound client events to handlers, with validation and acks.

Handlers register with a decorator; the registry validates the payload against the model
given at registration, calls the handler, returns its result as the Socket.IO ack, and turns
every failure into an `error` event without ever dropping the connection.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ValidationError

from src.core.echo import safe_text
from src.core.outages import RETRY_AFTER_SECONDS, is_outage
from src.events.errors import SocketError
from src.events.rooms import RoomError, RoomPolicy, Viewer
from src.events.schemas import AckError, ErrorAck, ErrorCode, ErrorEvent, EventType

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from src.core.metrics import Metrics
    from src.events.emitters import EventEmitter
    from src.events.socket_service import SocketService


class TokenRefresher(Protocol):
    """Swaps a socket's access token in band (the gateway)."""

    async def refresh(self, sid: str, token: str) -> datetime: ...


@dataclass
class HandlerContext:
    """What a handler may use: who sent the event and the services to answer with."""

    sid: str
    viewer: Viewer
    socket_service: SocketService
    emitter: EventEmitter
    sessionmaker: async_sessionmaker[AsyncSession]
    logger: logging.Logger
    rooms: RoomPolicy = field(default_factory=RoomPolicy)
    """Who may join which room: the app's policy (`context_for` passes it); a context built
    by hand without it gets the default rules."""
    max_subscriptions: int = 100
    tokens: TokenRefresher | None = None

    async def reply(self, event_type: str, payload: BaseModel) -> None:
        """Send an event to the socket that sent the current one (not logged, no meta)."""
        await self.socket_service.send_to_sid(self.sid, event_type, payload)


Handler = Callable[[str, Any, HandlerContext], Awaitable[Any]]


@dataclass(frozen=True)
class Registration:
    """A registered handler and the models that describe its payload and ack."""

    event: str
    handler: Handler
    payload: type[BaseModel] | None
    ack: type[BaseModel] | None
    summary: str


class EventHandlerRegistry:
    """Maps client event names to handlers.

    Example::

        registry = EventHandlerRegistry(logger)

        @registry.register(EventType.PING, payload=PingEvent, ack=PongEvent)
        async def handle_ping(sid: str, data: PingEvent, context: HandlerContext) -> PongEvent:
            ...

        ack = await registry.handle_event("ping", sid, {"timestamp": 1}, context)

    With `payload=`, the handler receives the validated model; without, the raw data.
    """

    def __init__(
        self, logger: logging.Logger | None = None, metrics: Metrics | None = None
    ) -> None:
        self.logger = logger or logging.getLogger("mindwire.events")
        self.metrics = metrics
        self._registrations: dict[str, Registration] = {}

    @property
    def registrations(self) -> Mapping[str, Registration]:
        """A read-only view, not a copy: every inbound event asks it whether its name is known."""
        return MappingProxyType(self._registrations)

    def register(
        self,
        event_type: EventType | str,
        *,
        payload: type[BaseModel] | None = None,
        ack: type[BaseModel] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Decorator: route client event `event_type` to the decorated coroutine."""
        name = str(event_type)

        def decorator(handler: Handler) -> Handler:
            if name in self._registrations:
                raise ValueError(f"a handler for {name!r} is already registered")
            summary = (handler.__doc__ or "").strip().split("\n")[0]
            self._registrations[name] = Registration(name, handler, payload, ack, summary)
            return handler

        return decorator

    async def handle_event(self, event: str, sid: str, data: Any, context: HandlerContext) -> Any:
        """Run the handler for `event`; returns the ack (an error ack on failure)."""
        registration = self._registrations.get(event)
        if registration is None:
            name = safe_text(event)
            error = SocketError(ErrorCode.UNKNOWN_EVENT, f"no handler for event {name!r}")
            return await self.reject(event, error, context)
        started = time.perf_counter()
        try:
            argument = data
            if registration.payload is not None:
                argument = registration.payload.model_validate(data)
            result = await registration.handler(sid, argument, context)
        except ValidationError as exc:
            return await self.reject(event, SocketError.from_validation(exc), context)
        except RoomError as exc:
            return await self.reject(event, SocketError(exc.code, exc.message), context)
        except SocketError as exc:
            return await self.reject(event, exc, context)
        except Exception as exc:
            if is_outage(exc):  # no free database connection in time, or none at all
                self.logger.warning("handler for %r: database unavailable: %s", event, exc)
                return await self.reject(event, _unavailable(), context)
            trace_id = uuid.uuid4().hex
            self.logger.exception("handler for %r failed (trace_id=%s)", event, trace_id)
            error = SocketError(
                ErrorCode.INTERNAL_ERROR,
                "the server failed to handle this event",
                {"trace_id": trace_id},
            )
            return await self.reject(event, error, context)
        finally:
            if self.metrics is not None:
                self.metrics.latency(event).observe(time.perf_counter() - started)
        return result.model_dump(mode="json") if isinstance(result, BaseModel) else result

    async def reject(self, event: str | None, error: SocketError, context: HandlerContext) -> Any:
        """Send the `error` event for `error` to the sender and return the failed ack.

        `event` is the client event that caused it (None when its name could not be read).
        """
        if self.metrics is not None:
            self.metrics.errors(error.code.value).inc()
        payload = ErrorEvent(
            code=error.code,
            message=error.message,
            event=None if event is None else safe_text(event, 128),
            details=error.details,
        )
        await context.emitter.emit_error(context.sid, payload)
        return ErrorAck(error=AckError(code=error.code, message=error.message)).model_dump(
            mode="json"
        )


def _unavailable() -> SocketError:
    """A refusal the client retries, as REST answers 503 with `Retry-After`."""
    return SocketError(
        ErrorCode.UNAVAILABLE,
        "the database is busy or unavailable; nothing was changed, retry shortly",
        {"retry_after": RETRY_AFTER_SECONDS},
    )
