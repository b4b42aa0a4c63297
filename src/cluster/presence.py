"""Counts each user's open connections so status flips only on the first and the last.

`LocalPresence` counts in one process. `RedisPresence` counts across every process sharing a
Redis: a user with tabs on two workers goes offline only when the last tab closes, and the
connections of a worker that died (its heartbeat stopped) are reaped by a survivor.
`UserLocks` lets a process take one user's status changes in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import redis.asyncio as aioredis

from src.cluster.cluster import HEARTBEAT_SECONDS, RedisCluster

logger = logging.getLogger("mindwire.presence")


class Presence(Protocol):
    async def connected(self, user_id: int, sid: str) -> bool:
        """Count a connection; True when it is the user's first."""
        ...

    async def disconnected(self, user_id: int, sid: str) -> bool:
        """Count a disconnection; True when it was the user's last."""
        ...

    async def connections(self, user_id: int) -> int:
        """How many connections `user_id` has open right now."""
        ...

    async def online_users(self) -> list[int]: ...


class UserLocks:
    """One `asyncio.Lock` per user, forgotten when no one holds or waits for it.

    A user's status changes run in turn in a process, so the last to run reads the last
    count: a tab's connect follow-up can no longer land after its own disconnect's.
    """

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, user_id: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(user_id, (asyncio.Lock(), 0))
        self._locks[user_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[user_id]
            if users == 1:
                del self._locks[user_id]
            else:
                self._locks[user_id] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class LocalPresence:
    """Connection counts for one process (the in-memory default)."""

    def __init__(self) -> None:
        self._connections: Counter[int] = Counter()

    async def connected(self, user_id: int, sid: str) -> bool:  # noqa: ARG002
        self._connections[user_id] += 1
        return self._connections[user_id] == 1

    async def disconnected(self, user_id: int, sid: str) -> bool:  # noqa: ARG002
        if self._connections[user_id] <= 0:
            return False
        self._connections[user_id] -= 1
        if self._connections[user_id] <= 0:
            del self._connections[user_id]
            return True
        return False

    async def connections(self, user_id: int) -> int:
        return self._connections[user_id]

    async def online_users(self) -> list[int]:
        return sorted(self._connections)


# Each script runs atomically in Redis, so two workers never both see "first" or "last".
_CONNECT = """
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
local count = redis.call('SCARD', KEYS[1])
if count == 1 then redis.call('SADD', KEYS[3], ARGV[3]) end
return count
"""

_DISCONNECT = """
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[2])
if redis.call('SCARD', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[3])
  return 1
end
return 0
"""

_REAP = """
local offline = {}
for _, entry in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local sep = string.find(entry, '|', 1, true)
  local user_id = string.sub(entry, 1, sep - 1)
  local sid = string.sub(entry, sep + 1)
  local user_key = ARGV[1] .. ':user:' .. user_id
  if redis.call('SREM', user_key, ARGV[2] .. '|' .. sid) == 1
     and redis.call('SCARD', user_key) == 0 then
    redis.call('SREM', KEYS[2], user_id)
    table.insert(offline, user_id)
  end
end
redis.call('DEL', KEYS[1])
return offline
"""


class RedisPresence:
    """Connection counts shared by every process on one Redis.

    Keys (under `<REDIS_CHANNEL>:presence`): `user:<id>` holds `<process>|<sid>` per open
    connection, `process:<process>` holds `<user>|<sid>` so a dead process can be reaped,
    and `online` holds the ids of users with at least one connection.
    """

    def __init__(self, redis: aioredis.Redis, channel: str, process_id: str) -> None:
        self.redis = redis
        self.prefix = f"{channel}:presence"
        self.process_id = process_id
        self._connect = redis.register_script(_CONNECT)
        self._disconnect = redis.register_script(_DISCONNECT)
        self._reap = redis.register_script(_REAP)

    def _keys(self, user_id: int) -> list[str]:
        return [
            f"{self.prefix}:user:{user_id}",
            f"{self.prefix}:process:{self.process_id}",
            f"{self.prefix}:online",
        ]

    async def connected(self, user_id: int, sid: str) -> bool:
        args: list[str | int] = [f"{self.process_id}|{sid}", f"{user_id}|{sid}", user_id]
        return int(await self._connect(keys=self._keys(user_id), args=args)) == 1

    async def disconnected(self, user_id: int, sid: str) -> bool:
        args: list[str | int] = [f"{self.process_id}|{sid}", f"{user_id}|{sid}", user_id]
        return int(await self._disconnect(keys=self._keys(user_id), args=args)) == 1

    async def connections(self, user_id: int) -> int:
        return int(await self.redis.scard(f"{self.prefix}:user:{user_id}"))

    async def online_users(self) -> list[int]:
        return sorted(int(member) for member in await self.redis.smembers(f"{self.prefix}:online"))

    async def reap(self, dead_process: str) -> list[int]:
        """Forget every connection of `dead_process`; returns users now offline everywhere."""
        keys = [f"{self.prefix}:process:{dead_process}", f"{self.prefix}:online"]
        offline = await self._reap(keys=keys, args=[self.prefix, dead_process])
        return [int(user_id) for user_id in offline]


async def reap_dead_processes_forever(
    presence: RedisPresence, cluster: RedisCluster, on_offline: Callable[[int], Awaitable[None]]
) -> None:
    """Every heartbeat, forget the connections of processes whose heartbeat stopped.

    Users whose last connection was on a dead worker go offline (`on_offline`); two
    survivors reaping the same process at once is safe (the script runs atomically).
    """
    while not await cluster.stopped_within(HEARTBEAT_SECONDS):
        try:
            dead = await cluster.known_processes() - await cluster.alive_processes()
            for process in sorted(dead - {cluster.process_id}):
                offline = await presence.reap(process)
                await cluster.forget(process)
                logger.info(
                    "process %s stopped beating; %d users went offline", process, len(offline)
                )
                for user_id in offline:
                    await on_offline(user_id)
        except Exception as exc:
            logger.warning("reaping dead processes failed: %s", exc)
