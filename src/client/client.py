"""`MindwireClient`: a python-socketio `AsyncClient` that never misses an event still retained.

The same guarantees as `clients/typescript`: per room, the newest event id handed over is kept;
after every reconnect (python-socketio reconnects on its own) each room is subscribed again with
`since`, so the server replays what was missed; repeats are dropped by event id; an ack that
says `complete: false` (retention cut the gap: reload through REST) is reported to the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from functools import partial
from types import TracebackType
from typing import Any

import socketio
from pydantic import ValidationError

from src.client.callbacks import (
    ClientStats,
    ErrorHandler,
    HandlerErrorHandler,
    IncompleteHandler,
    first_argument,
    maybe_await,
    parse_error_event,
)
from src.client.dispatch import Dispatcher
from src.client.errors import ClientClosedError, ConnectError, SubscribeError, require_aiohttp
from src.client.events import ROOM_EVENT_TYPES, parse_room_event
from src.client.subscriptions import Arrivals, RoomHandler, Subscription
from src.client.tokens import TokenSource, can_refresh, current_token, send_refreshed_token
from src.events.schemas import (
    ErrorAck,
    ErrorCode,
    EventType,
    SubscribeAck,
    SubscribeEvent,
    UnsubscribeEvent,
)

logger = logging.getLogger("mindwire.client")


class MindwireClient:
    """Connect with a token, `subscribe(room, handler)`, and receive every event once, in order.

    Use it as `async with MindwireClient(url, token=...) as client:`, or call `connect()` and
    `close()`. `token` is a string or a (sync or async) callable: it is asked at every
    (re)connect and when the server says `token_expired`, then sent as `refresh_token`.
    """

    def __init__(
        self,
        url: str,
        *,
        token: TokenSource,
        on_incomplete: IncompleteHandler | None = None,
        on_error: ErrorHandler | None = None,
        on_handler_error: HandlerErrorHandler | None = None,
        ack_timeout: float = 10.0,
        reconnection_delay: float = 1.0,
        reconnection_delay_max: float = 5.0,
        transports: Sequence[str] = ("websocket",),
    ) -> None:
        self.url = url
        self.stats = ClientStats()
        self.user_id: int | None = None
        """The signed-in user's id, from `connection_established`."""
        self.sio = socketio.AsyncClient(
            reconnection_delay=reconnection_delay, reconnection_delay_max=reconnection_delay_max
        )
        self._token = token
        self._on_incomplete = on_incomplete
        self._on_error = on_error
        self._ack_timeout = ack_timeout
        self._transports = list(transports)
        self._subscriptions: dict[str, Subscription] = {}
        self._arrivals = Arrivals()
        self._dispatcher = Dispatcher(on_handler_error)
        self._connect_error: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._register_handlers()

    # -- the public API -------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    async def connect(self) -> None:
        """Connect; raises `ConnectError` (`.reason`, e.g. `unauthorized`) when it cannot."""
        require_aiohttp()
        self._dispatcher.start()
        self._connect_error = None
        try:
            await self.sio.connect(
                self.url,
                auth=self._auth,
                transports=self._transports,
                wait_timeout=self._ack_timeout,
            )
        except socketio.exceptions.ConnectionError as exc:
            await self._dispatcher.stop()
            raise ConnectError(self._connect_error or str(exc)) from exc

    async def close(self) -> None:
        """Disconnect for good (no reconnect); pending `subscribe()` calls raise
        `ClientClosedError`, and events not yet handed to a handler are dropped."""
        for subscription in self._subscriptions.values():
            subscription.active = False
            if not subscription.first.done():
                subscription.first.set_exception(ClientClosedError("the client was closed"))
        self._subscriptions.clear()
        await self.sio.shutdown()
        for task in [*self._tasks]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._dispatcher.stop()

    async def __aenter__(self) -> MindwireClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def subscribe(
        self, room: str, handler: RoomHandler, *, since: int | None = None
    ) -> SubscribeAck:
        """Subscribe to `room`; `handler(event)` gets each new `RoomEvent` of it, in id order.

        Returns the first ack (sent once connected); raises `SubscribeError` when the server
        refuses (`forbidden`, `unknown_room`, ...). `since` resumes after an event id kept from
        an earlier session.
        """
        if room in self._subscriptions:
            raise ValueError(f"already subscribed to {room!r}")
        self._dispatcher.start()
        subscription = Subscription(room, handler, since=since, floor=self._arrivals.seen.newest)
        if since is not None:
            self.stats.delivered += self._arrivals.hand_to(subscription, since)
        self._subscriptions[room] = subscription
        if self.connected:
            self._sync(subscription)
        return await asyncio.shield(subscription.first)

    async def unsubscribe(self, room: str) -> None:
        subscription = self._subscriptions.pop(room, None)
        if subscription is None:
            return
        subscription.active = False
        if not subscription.first.done():
            subscription.first.set_exception(ClientClosedError(f"unsubscribed from {room!r}"))
        if self.connected:
            request = UnsubscribeEvent(event_type=room).model_dump()
            await self.sio.call(EventType.UNSUBSCRIBE_EVENT, request, timeout=self._ack_timeout)

    def last_event_id(self, room: str) -> int | None:
        """The newest event id handed over for `room`: the `since` of its next resubscription."""
        subscription = self._subscriptions.get(room)
        return None if subscription is None else subscription.resume_from

    # -- socket handlers (called by python-socketio as handler(*args)) ----------------------------

    def _register_handlers(self) -> None:
        self.sio.on("connect", self._on_connect)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on(EventType.CONNECTION_ESTABLISHED, self._on_established)
        self.sio.on(EventType.ERROR, self._on_error_event)
        for name in ROOM_EVENT_TYPES:
            self.sio.on(name, partial(self._on_room_event, name))

    async def _auth(self) -> dict[str, str]:
        """The CONNECT payload, asked again by python-socketio at every reconnect."""
        for subscription in self._subscriptions.values():
            # Events can come before the `connect` handler runs: held, they do not move `since`.
            subscription.syncing = True
        return {"token": await current_token(self._token)}

    def _on_connect(self, *_args: Any) -> None:
        self.stats.connects += 1
        for subscription in self._subscriptions.values():
            self._sync(subscription)

    def _on_connect_error(self, *args: Any) -> None:
        """The reason of a refusal: `{message: "unauthorized"}` from the server, or a text."""
        data = first_argument(args)
        self._connect_error = str(data.get("message") if isinstance(data, dict) else data)

    def _on_established(self, *args: Any) -> None:
        payload = first_argument(args)
        if isinstance(payload, dict) and isinstance(payload.get("user_id"), int):
            self.user_id = payload["user_id"]

    def _on_error_event(self, *args: Any) -> None:
        error = parse_error_event(args)
        if error is None:
            return
        if error.code == ErrorCode.TOKEN_EXPIRED and can_refresh(self._token):
            self._spawn(self._refresh_token())
        if self._on_error is not None:
            self._spawn(maybe_await(self._on_error(error)))
        else:
            logger.warning("mindwire: server error %s: %s", error.code, error.message)

    def _on_room_event(self, name: str, *args: Any) -> None:
        """Runs in arrival order (no await here): the bookkeeping decides, the queue hands over."""
        try:
            event = parse_room_event(name, args)
        except (ValidationError, ValueError):
            logger.exception("mindwire: %s does not match its model: %r", name, args)
            return
        targets = self._arrivals.route(event, self._subscriptions.values())
        if targets is None:
            self.stats.duplicates += 1
            return
        for subscription in targets:
            self.stats.delivered += 1
            if subscription.receive(event):
                self._dispatcher.put(subscription, event)

    # -- background work ------------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _sync(self, subscription: Subscription) -> None:
        """(Re)subscribe one room, with `since` = its resume point after the first time.

        The room is marked as syncing at once, before anything can arrive, so no event moves
        its resume point until the ack; the request and its ack are awaited in a task.
        """
        again = subscription.sent
        generation, since = subscription.start_sync()
        if again:
            self.stats.resubscriptions += 1
        request = SubscribeEvent(event_type=subscription.room, since=since)
        self._spawn(self._send_subscribe(subscription, generation, request))

    async def _send_subscribe(
        self, subscription: Subscription, generation: int, request: SubscribeEvent
    ) -> None:
        try:
            raw = await self.sio.call(
                EventType.SUBSCRIBE_EVENT,
                request.model_dump(exclude_none=True),
                timeout=self._ack_timeout,
            )
        except socketio.exceptions.SocketIOError:
            # No ack (a timeout, or the connection dropped): the next `connect` subscribes again.
            if generation == subscription.generation and self.connected:
                self._sync(subscription)
            return
        current = self._subscriptions.get(subscription.room) is subscription
        if current and generation == subscription.generation:
            await self._acknowledged(subscription, first_argument(raw))

    async def _acknowledged(self, subscription: Subscription, ack: Any) -> None:
        room = subscription.room
        if not (isinstance(ack, dict) and ack.get("ok")):
            refusal = ErrorAck.model_validate(ack).error
            del self._subscriptions[room]
            if not subscription.first.done():
                subscription.first.set_exception(
                    SubscribeError(room, refusal.code, refusal.message)
                )
            return
        parsed = SubscribeAck.model_validate(ack)
        for event in subscription.acknowledged(self._arrivals.seen.newest):
            self._dispatcher.put(subscription, event)
        self.stats.replayed += parsed.replayed
        if subscription.incomplete:  # some early events were dropped unkept
            subscription.incomplete = False
            parsed = parsed.model_copy(update={"complete": False})
        if not parsed.complete and self._on_incomplete is not None:
            try:
                await maybe_await(self._on_incomplete(room, parsed))
            except Exception:
                logger.exception("mindwire: on_incomplete(%r) failed", room)
        if not subscription.first.done():
            subscription.first.set_result(parsed)

    async def _refresh_token(self) -> None:
        """`token_expired`: ask the token source for a new one and send `refresh_token`."""
        if await send_refreshed_token(self.sio, self._token, self._ack_timeout):
            self.stats.token_refreshes += 1
