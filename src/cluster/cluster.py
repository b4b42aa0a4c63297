"""Who else is out there: this process's id, heartbeats, the relay lease and wake-ups.

One process alone (no `REDIS_URL`) is its own cluster: always the relay's leader, woken
in-process. With Redis, every process writes a heartbeat key, one process at a time holds
the relay lease, and a write on any process wakes the leader through a pub/sub channel.
Notices (`src/auth/notices.py`) reach every process through a second channel of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from src.cluster.signals import Signals

logger = logging.getLogger("mindwire.cluster")

HEARTBEAT_SECONDS = 1.0
PROCESS_TTL_SECONDS = 3.0
LISTEN_POLL_SECONDS = 0.05
"""How often the wake-up listener looks at its stop flag (it is never cancelled)."""
STOP_SECONDS = 2.0
"""A process silent this long is dead: its connections are reaped, its lease lapses."""


def cluster_prefix(channel: str) -> str:
    """The keys and channels of the cluster under `REDIS_CHANNEL`."""
    return f"{channel}:cluster"


def notices_channel(channel: str) -> str:
    """The pub/sub channel access notices travel on (`src/auth/notices.py`)."""
    return f"{cluster_prefix(channel)}:notices"


class Cluster(Protocol):
    process_id: str
    signals: Signals

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def is_leader(self) -> bool: ...
    def wake(self) -> None: ...
    def wake_here(self) -> None: ...
    def request_stop(self) -> None: ...
    async def wait_for_wake(self, at_most: float) -> None: ...
    async def alive_processes(self) -> set[str]: ...


class LocalCluster:
    """A single process: always the leader, and only local writes wake the relay."""

    def __init__(self, signals: Signals) -> None:
        self.signals = signals
        self.process_id = signals.process_id

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def is_leader(self) -> bool:
        return True

    def wake(self) -> None:
        self.signals.wake()

    def wake_here(self) -> None:
        self.signals.wake_here()

    def request_stop(self) -> None:
        return None

    async def wait_for_wake(self, at_most: float) -> None:
        await self.signals.wait_for_wake(at_most)

    async def alive_processes(self) -> set[str]:
        return {self.process_id}


class RedisCluster:
    """Processes sharing one Redis (and one `REDIS_CHANNEL`)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        channel: str,
        signals: Signals,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        """`redis` is the app's one client (its owner closes it); `signals` holds what this
        process sends (wake-ups, notices); `on_notice` gets every process's notices
        (`AccessNotices.received`)."""
        self.signals = signals
        self.process_id = signals.process_id
        self.redis = redis
        self.prefix = cluster_prefix(channel)
        self.on_notice = on_notice
        self._tasks: list[asyncio.Task[None]] = []
        self._leader_until = 0.0
        self._pubsub: PubSub | None = None
        self._stop = asyncio.Event()

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def start(self) -> None:
        try:
            await self.beat()
            # Subscribed here, not in the listener task: redis-py can lose a cancellation
            # that arrives while a subscription is being set up, and `stop` would hang.
            self._pubsub = await self._subscribe()
        except Exception as exc:
            logger.warning("joining the cluster through Redis failed: %s", exc)
        self._tasks = [
            asyncio.create_task(self._beat_forever(), name="mindwire-heartbeat"),
            asyncio.create_task(self._listen_for_wakes(), name="mindwire-wakes"),
            asyncio.create_task(self._publish_wakes(), name="mindwire-wake-others"),
        ]

    async def stop(self) -> None:
        self.request_stop()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
        for task in self._tasks:
            task.cancel()  # only a task stuck past STOP_SECONDS (Redis unreachable)
        if self._pubsub is not None:
            await _close_quietly(self._pubsub)
        with contextlib.suppress(Exception):
            await self.redis.delete(self.key("alive", self.process_id))
            await self._release_lease()

    # -- liveness --------------------------------------------------------------------------

    async def _beat_forever(self) -> None:
        while not await self.stopped_within(HEARTBEAT_SECONDS):  # `start` sent the first
            try:
                await self.beat()
            except Exception as exc:
                logger.warning("heartbeat to Redis failed: %s", exc)

    async def stopped_within(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True as soon as `stop` was called.

        Redis loops end through this flag, never through cancellation: redis-py can lose a
        cancellation that lands while it opens a connection, and that task then never ends
        (hanging the event loop's shutdown).
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return self._stop.is_set()

    async def beat(self) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self.key("alive", self.process_id), 1, px=int(PROCESS_TTL_SECONDS * 1000))
            pipe.sadd(self.key("processes"), self.process_id)
            await pipe.execute()

    async def alive_processes(self) -> set[str]:
        members = {_text(m) for m in await self.redis.smembers(self.key("processes"))}
        alive: set[str] = set()
        for process in sorted(members):
            if await self.redis.exists(self.key("alive", process)):
                alive.add(process)
        return alive

    async def known_processes(self) -> set[str]:
        return {_text(m) for m in await self.redis.smembers(self.key("processes"))}

    async def forget(self, process: str) -> None:
        await self.redis.srem(self.key("processes"), process)

    # -- the relay lease -------------------------------------------------------------------

    async def is_leader(self) -> bool:
        """Take or renew the relay lease; True while this process holds it."""
        now = time.monotonic()
        if now < self._leader_until - PROCESS_TTL_SECONDS / 2:
            return True  # renewed recently enough
        lease = self.key("relay-leader")
        ttl = int(PROCESS_TTL_SECONDS * 1000)
        if await self.redis.set(lease, self.process_id, nx=True, px=ttl):
            logger.info("process %s now relays events", self.process_id)
        elif _text(await self.redis.get(lease)) == self.process_id:
            await self.redis.pexpire(lease, ttl)
        else:
            self._leader_until = 0.0
            return False
        self._leader_until = now + PROCESS_TTL_SECONDS
        return True

    async def _release_lease(self) -> None:
        lease = self.key("relay-leader")
        if _text(await self.redis.get(lease)) == self.process_id:
            await self.redis.delete(lease)

    # -- wake-ups --------------------------------------------------------------------------

    def wake_here(self) -> None:
        """Wake this process's relay only (to let it see its stop flag)."""
        self.signals.wake_here()

    def request_stop(self) -> None:
        """Ask every Redis loop to finish (`stop` then waits for them and disconnects)."""
        self._stop.set()
        self.signals.outgoing.set()

    def wake(self) -> None:
        """Wake the relay here and, through Redis, on whichever process leads."""
        self.signals.wake()

    async def _publish_wakes(self) -> None:
        """One long-lived task publishes notices and wake-ups (one when many writes wait).

        Not a task per write: redis-py can lose the cancellation of a task that is opening
        a connection, and such a task would hang the event loop's shutdown.
        """
        while True:
            await self.signals.outgoing.wait()
            self.signals.outgoing.clear()
            if self._stop.is_set():
                return
            notices, wake = self.signals.take_outgoing()
            messages = [(self.key("notices"), notice) for notice in notices]
            if wake:
                messages.append((self.key("wake"), self.process_id))
            for channel, payload in messages:
                try:
                    await self.redis.publish(channel, payload)
                except Exception as exc:
                    logger.warning("could not publish to %s: %s", channel, exc)

    async def _subscribe(self) -> PubSub:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.key("wake"), self.key("notices"))
        return pubsub

    def _received(self, message: dict[str, Any]) -> None:
        """A message of the subscription: a notice for `on_notice`, or a relay wake-up."""
        if _text(message["channel"]) != self.key("notices"):
            self.signals.wake_here()
        elif self.on_notice is not None:
            try:
                self.on_notice(_text(message["data"]))
            except Exception:
                logger.exception("handling a notice failed")

    async def _listen_for_wakes(self) -> None:
        while not self._stop.is_set():
            try:
                if self._pubsub is None:
                    self._pubsub = await self._subscribe()
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=LISTEN_POLL_SECONDS
                )
                if message is not None:
                    self._received(message)
            except Exception as exc:
                if self._stop.is_set():
                    return
                logger.warning("listening for relay wake-ups failed: %s; retrying", exc)
                self.signals.wake_here()  # poll once, in case a wake-up was lost
                pubsub, self._pubsub = self._pubsub, None
                if pubsub is not None:
                    await _close_quietly(pubsub)
                await asyncio.sleep(1.0)

    async def wait_for_wake(self, at_most: float) -> None:
        await self.signals.wait_for_wake(at_most)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _close_quietly(pubsub: PubSub) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(pubsub.aclose(), 2.0)
