"""`choose_backend(settings)`: the one place that decides memory or Redis for one app.

Without `REDIS_URL` the app is a lone process (`MemoryBackend`): an in-memory Socket.IO client
manager, `LocalCluster`, `LocalPresence`, throttles counted in memory. With it
(`RedisBackend`), everything shared goes through one `redis.asyncio.Redis` client
(`backend.redis`): the cluster (heartbeats, relay lease, wake-ups, notices), presence, the
REST and sign-in throttles, the readiness check and `mindwire disable-user`.

The Socket.IO client manager is the one exception, by python-socketio's design:
`AsyncRedisManager` takes a URL, builds its own client (`_redis_connect`, again after each
failure) and holds a pub/sub connection for its listener task, so it cannot be handed a
client. It gets the same URL and channel, and is closed with the server
(`close_client_manager`).
"""

from __future__ import annotations

from collections.abc import Callable

import redis.asyncio as aioredis

from src.cluster.cluster import LocalCluster, RedisCluster
from src.cluster.presence import LocalPresence, Presence, RedisPresence
from src.cluster.signals import Signals
from src.core.config import FanoutMode, Settings
from src.transport import fastpath
from src.transport.managers import HoldingManager

REDIS_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
"""The shared client's timeouts: a Redis that stops answering fails a call in seconds."""


class MemoryBackend:
    """One process: nothing to share, nobody else to tell."""

    redis: aioredis.Redis | None = None

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def client_manager(self, mode: FanoutMode) -> HoldingManager:
        return fastpath.memory_manager(mode)

    def signals(self) -> Signals:
        return Signals(shared=False)

    def cluster(
        self,
        signals: Signals,
        on_notice: Callable[[str], None],  # noqa: ARG002 (no other process sends any)
    ) -> LocalCluster:
        return LocalCluster(signals)

    def presence(self, process_id: str) -> Presence:  # noqa: ARG002
        return LocalPresence()

    async def close(self) -> None:
        return None


class RedisBackend:
    """Processes sharing one Redis under one `REDIS_CHANNEL`, through one client."""

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        self.channel = channel
        self.redis: aioredis.Redis = aioredis.from_url(url, **REDIS_OPTIONS)
        """Opens no connection yet: the pool connects on first use, in the running loop."""

    def client_manager(self, mode: FanoutMode) -> HoldingManager:
        return fastpath.redis_manager(self.url, self.channel, mode)

    def signals(self) -> Signals:
        return Signals(shared=True)

    def cluster(self, signals: Signals, on_notice: Callable[[str], None]) -> RedisCluster:
        return RedisCluster(self.redis, self.channel, signals, on_notice=on_notice)

    def presence(self, process_id: str) -> Presence:
        return RedisPresence(self.redis, self.channel, process_id)

    async def close(self) -> None:
        await self.redis.aclose()


Backend = MemoryBackend | RedisBackend
"""What differs between one process and many: `client_manager`, `signals`, `cluster`,
`presence`, the shared client `redis` (None in memory) and `close`."""


def choose_backend(settings: Settings) -> Backend:
    """`RedisBackend` when `REDIS_URL` is set, else `MemoryBackend`: decided here only."""
    if settings.redis_url:
        return RedisBackend(settings.redis_url, settings.redis_channel)
    return MemoryBackend(settings.redis_channel)
