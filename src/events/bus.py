"""`EventBus`: in-process publish/subscribe for domain events (`memory_log.created`, ...).

Services may publish domain events here instead of calling the emitter; `forward_to_sockets`
subscribes the emitter so each domain event becomes its Socket.IO event.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from src.events.emitters import EventEmitter

logger = logging.getLogger("mindwire.bus")

BusHandler = Callable[[Any], Awaitable[object]]


class EventBus:
    """Topic -> async handlers, called in subscription order.

    Example::

        bus.subscribe("memory_log.created", handler)
        await bus.publish("memory_log.created", log)

    A failing handler is logged and does not stop the others.
    """

    def __init__(self) -> None:
        self._handlers: defaultdict[str, list[BusHandler]] = defaultdict(list)

    def subscribe(self, topic: str, handler: BusHandler) -> None:
        self._handlers[topic].append(handler)

    def unsubscribe(self, topic: str, handler: BusHandler) -> None:
        if handler in self._handlers.get(topic, []):
            self._handlers[topic].remove(handler)

    async def publish(self, topic: str, event_data: Any) -> int:
        """Call every handler of `topic`; returns how many succeeded."""
        succeeded = 0
        for handler in list(self._handlers.get(topic, [])):
            try:
                await handler(event_data)
                succeeded += 1
            except Exception:
                logger.exception("bus handler %r for %r failed", handler, topic)
        return succeeded


def forward_to_sockets(bus: EventBus, emitter: EventEmitter) -> None:
    """Subscribe the emitter to the domain topics that have a Socket.IO event."""
    bus.subscribe("memory_log.created", emitter.emit_memory_log_created)
    bus.subscribe("memory_log.updated", emitter.emit_memory_log_updated)
    bus.subscribe("mental_note.created", emitter.emit_mental_note_created)
    bus.subscribe("mental_note.updated", emitter.emit_mental_note_updated)
    bus.subscribe("user.status_changed", emitter.emit_user_status_changed)
