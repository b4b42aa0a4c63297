"""Handlers for client -> server events, one `register_*` function per domain.

Add a domain by writing `register_<domain>_handlers(registry, sio)` and calling it from
`register_all_handlers` (step 2 of src/events/README.md).
"""

from __future__ import annotations

from typing import Any

from src.events.errors import SocketError
from src.events.handlers import EventHandlerRegistry, HandlerContext
from src.events.schemas import (
    ErrorCode,
    EventType,
    PingEvent,
    PongEvent,
    RefreshTokenAck,
    RefreshTokenEvent,
    SubscribeAck,
    SubscribeEvent,
    UnsubscribeAck,
    UnsubscribeEvent,
)


def register_connection_handlers(registry: EventHandlerRegistry, sio: Any = None) -> None:  # noqa: ARG001
    @registry.register(EventType.PING, payload=PingEvent, ack=PongEvent)
    async def handle_ping(sid: str, data: PingEvent, context: HandlerContext) -> PongEvent:
        """Answer `pong {timestamp, server_time}`, as an event and as the ack."""
        return await context.emitter.emit_pong(sid, data.timestamp)

    @registry.register(EventType.REFRESH_TOKEN, payload=RefreshTokenEvent, ack=RefreshTokenAck)
    async def handle_refresh_token(
        sid: str, data: RefreshTokenEvent, context: HandlerContext
    ) -> RefreshTokenAck:
        """Swap the socket's access token for a new one of the same user, before it closes."""
        if context.tokens is None:
            raise SocketError(ErrorCode.INTERNAL_ERROR, "tokens cannot be refreshed here")
        expires_at = await context.tokens.refresh(sid, data.token)
        return RefreshTokenAck(expires_at=expires_at)


def register_subscription_handlers(registry: EventHandlerRegistry, sio: Any = None) -> None:  # noqa: ARG001
    @registry.register(EventType.SUBSCRIBE_EVENT, payload=SubscribeEvent, ack=SubscribeAck)
    async def handle_subscribe(
        sid: str, data: SubscribeEvent, context: HandlerContext
    ) -> SubscribeAck:
        """Join a room; with `since`, first replay the retained events after it.

        `head` (in the ack and in `subscribed`, one value) is the live position when the socket
        joined, or `since` when that is ahead of it (up to the log's position): events of the
        room with a greater id reach the socket (live, or by the replay); none at or below it
        comes live after the ack. A list read at `position` and a subscribe with
        `since=position` therefore meet without a gap or a repeat (docs/contract.md, 6).
        """
        service = context.socket_service
        room = context.rooms.delivery_room(data.event_type, context.viewer)
        joined = service.rooms_of(sid)
        limit = context.max_subscriptions
        if room not in joined and len(joined) >= limit:
            raise SocketError(
                ErrorCode.TOO_MANY_SUBSCRIPTIONS,
                f"a socket may hold at most {limit} subscriptions",
            )
        replayed, complete = 0, True
        if data.since is None:
            head = await service.enter_room(sid, room)
        else:
            replayed, complete, head = await service.join_and_replay(sid, room, data.since)
        await context.emitter.emit_subscribed(sid, data.event_type, replayed, complete, head)
        return SubscribeAck(
            event_type=data.event_type, replayed=replayed, complete=complete, head=head
        )

    @registry.register(EventType.UNSUBSCRIBE_EVENT, payload=UnsubscribeEvent, ack=UnsubscribeAck)
    async def handle_unsubscribe(
        sid: str, data: UnsubscribeEvent, context: HandlerContext
    ) -> UnsubscribeAck:
        """Leave a room (a room never joined is left without complaint)."""
        room = context.rooms.delivery_room(data.event_type, context.viewer)
        await context.socket_service.leave_room(sid, room)
        await context.emitter.emit_unsubscribed(sid, data.event_type)
        return UnsubscribeAck(event_type=data.event_type)


def register_all_handlers(registry: EventHandlerRegistry, sio: Any = None) -> None:
    """Register every built-in client event handler."""
    register_connection_handlers(registry, sio)
    register_subscription_handlers(registry, sio)


def build_default_registry() -> EventHandlerRegistry:
    """The registry `build_services` makes, without a server (no handler needs `sio`).

    `mindwire asyncapi` and `mindwire gen-ts` describe the built-in events from it.
    """
    registry = EventHandlerRegistry()
    register_all_handlers(registry)
    return registry
