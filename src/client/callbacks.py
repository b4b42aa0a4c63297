"""What the caller plugs into `MindwireClient` (callbacks) and reads back (`ClientStats`)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from src.client.events import RoomEvent
from src.events.schemas import ErrorEvent, SubscribeAck

IncompleteHandler = Callable[[str, SubscribeAck], Awaitable[None] | None]
"""`(room, ack)`: events after the room's `since` left the retention window: reload via REST."""
ErrorHandler = Callable[[ErrorEvent], Awaitable[None] | None]
"""Every `error` event the server sends (a refused subscription also raises `SubscribeError`)."""
HandlerErrorHandler = Callable[[Exception, RoomEvent], None]

logger = logging.getLogger("mindwire.client")


@dataclass
class ClientStats:
    """Counters, for tests and monitoring."""

    delivered: int = 0
    """Room events handed (or held, to be handed at the subscription's ack) to handlers."""
    duplicates: int = 0
    """Room events dropped because their id had been handed over already."""
    replayed: int = 0
    """Events the server reported as replayed, over every (re)subscription."""
    resubscriptions: int = 0
    """Subscriptions sent again after a reconnect."""
    connects: int = 0
    """Socket.IO connections made, the first one included."""
    token_refreshes: int = 0


async def maybe_await(result: Awaitable[None] | None) -> None:
    if inspect.isawaitable(result):
        await result


def first_argument(raw: Any) -> Any:
    """An ack or event's first argument; further ones (a recovery offset) are ignored."""
    return raw[0] if isinstance(raw, tuple | list) and raw else raw


def parse_error_event(args: tuple[Any, ...]) -> ErrorEvent | None:
    """An `error` event's payload; `None` (logged) when it does not parse."""
    try:
        return ErrorEvent.model_validate(first_argument(args))
    except ValidationError:
        logger.warning("mindwire: an error event that does not parse: %r", args)
        return None
