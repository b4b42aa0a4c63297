"""Who must be re-checked, on every worker at once: signed-out tokens, changed users.

A worker that revokes a token or cuts a user's access (disabled, demoted) applies the notice
to its own sockets at once and publishes it through Redis (`Signals.publish_notice`, sent by
the cluster on the app's one Redis client); every other worker applies it to its sockets
when it arrives. Without Redis there is no other worker. A notice lost while Redis is down
is caught by the periodic recheck (`ADMIN_RECHECK_SECONDS`), which stays the safety net.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Literal, Protocol

import redis.asyncio as aioredis

from src.cluster.cluster import notices_channel
from src.cluster.signals import new_process_id

logger = logging.getLogger("mindwire.auth")

NoticeKind = Literal["token", "user"]
"""`token`: close the sockets holding token `key` (a jti). `user`: re-check the sockets of
user `key` against the database (closed if deleted or disabled, rooms left if demoted)."""


class Gate(Protocol):
    """What a notice acts on: this worker's sockets (`SocketGateway`)."""

    async def close_token(self, jti: str) -> int: ...
    async def recheck_access(self, only: set[int] | None = None) -> list[str]: ...
    async def recheck_admins(self, only: set[int] | None = None) -> list[str]: ...


class Publisher(Protocol):
    """This process's `Signals`: the cluster sends what it queues (nowhere without Redis)."""

    process_id: str

    def publish_notice(self, payload: str) -> None: ...


def encode(kind: NoticeKind, key: str, sender: str) -> str:
    return json.dumps({"from": sender, "kind": kind, "key": key})


def decode(payload: str) -> tuple[str, NoticeKind, str] | None:
    """`(sender, kind, key)`, or None for a message that is not a notice."""
    try:
        message = json.loads(payload)
        sender, kind, key = message["from"], message["kind"], message["key"]
    except (ValueError, TypeError, KeyError):
        return None
    if kind not in ("token", "user") or not isinstance(key, str):
        return None
    return str(sender), kind, key


@dataclass
class AccessNotices:
    """Apply access notices here and tell the other workers (`received` is their end)."""

    gate: Gate
    outgoing: Publisher
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def token_revoked(self, jti: str) -> None:
        """A sign-out: the token's sockets are closed here now, elsewhere on arrival."""
        await self._announce("token", jti)

    async def user_changed(self, user_id: int) -> None:
        """A user's access was cut (disabled, demoted): re-check their sockets everywhere."""
        await self._announce("user", str(user_id))

    async def _announce(self, kind: NoticeKind, key: str) -> None:
        self.outgoing.publish_notice(encode(kind, key, self.outgoing.process_id))
        await self.apply(kind, key)

    async def apply(self, kind: NoticeKind, key: str) -> None:
        """Act on one notice on this worker's sockets."""
        if kind == "token":
            await self.gate.close_token(key)
            return
        try:
            only = {int(key)}
        except ValueError:
            return
        await self.gate.recheck_access(only)
        await self.gate.recheck_admins(only)

    def received(self, payload: str) -> None:
        """A notice from Redis (the `on_notice` given to `RedisCluster`): applied in a tracked
        task, unless this worker sent it (and applied it already)."""
        notice = decode(payload)
        if notice is None:
            logger.warning("ignored a malformed access notice: %.100r", payload)
            return
        sender, kind, key = notice
        if sender == self.outgoing.process_id:
            return
        task = asyncio.ensure_future(self._apply_logged(kind, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _apply_logged(self, kind: NoticeKind, key: str) -> None:
        try:
            await self.apply(kind, key)
        except Exception:
            logger.exception("applying an access notice (%s %s) failed", kind, key)

    async def drain(self) -> None:
        """Wait for notices still being applied (at shutdown, before the database closes)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def tell_workers(redis: aioredis.Redis, channel: str, user_id: int) -> None:
    """From outside the server (`mindwire disable-user`): every worker re-checks the user's
    sockets now. Without Redis reachable, the periodic recheck does it."""
    try:
        payload = encode("user", str(user_id), new_process_id())
        await redis.publish(notices_channel(channel), payload)
    except Exception as exc:
        logger.warning("could not tell the workers through Redis: %s", exc)
