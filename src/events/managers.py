"""The Socket.IO client manager, chosen by URL: in-memory for one process, Redis for many."""

from __future__ import annotations

from typing import Any

import socketio


def create_client_manager(redis_url: str | None) -> Any:
    """`AsyncRedisManager` when `redis_url` is set (emits reach every worker), else in-memory."""
    if redis_url:
        return socketio.AsyncRedisManager(redis_url)
    return socketio.AsyncManager()
