"""Handing events to room handlers: one at a time, in the order the client decided, so an
`async def` handler that awaits still sees its room in event id order."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from src.client.callbacks import HandlerErrorHandler, maybe_await
from src.client.events import RoomEvent
from src.client.subscriptions import Subscription

logger = logging.getLogger("mindwire.client")


class Dispatcher:
    """A queue and the one task that empties it into the handlers."""

    def __init__(self, on_handler_error: HandlerErrorHandler | None = None) -> None:
        self._on_handler_error = on_handler_error
        self._queue: asyncio.Queue[tuple[Subscription, RoomEvent]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def put(self, subscription: Subscription, event: RoomEvent) -> None:
        self._queue.put_nowait((subscription, event))

    async def stop(self) -> None:
        """Stop handing over; events still queued are dropped."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            subscription, event = await self._queue.get()
            if not subscription.active:
                continue  # unsubscribed meanwhile
            try:
                await maybe_await(subscription.handler(event))
            except Exception as exc:  # a handler's failure must not stop the others
                if self._on_handler_error is None:
                    logger.exception("mindwire: the handler of %s failed", subscription.room)
                else:
                    self._on_handler_error(exc, event)
