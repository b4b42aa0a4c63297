"""The Socket.IO client manager, chosen by URL: in-memory for one process, Redis for many."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import socketio


def create_client_manager(redis_url: str | None, channel: str = "mindwire") -> Any:
    """`AsyncRedisManager` when `redis_url` is set (emits reach every worker), else in-memory."""
    if redis_url:
        return socketio.AsyncRedisManager(redis_url, channel=channel)
    return socketio.AsyncManager()


async def close_client_manager(manager: Any) -> None:
    """Stop a Redis manager's listener task and close its connections (no-op in memory)."""
    listener = getattr(manager, "thread", None)
    if isinstance(listener, asyncio.Task):
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
    for name in ("pubsub", "redis"):
        connection = getattr(manager, name, None)
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.aclose()
