"""What the gateway's parts share: the connected clients, the limits, the lookups' types.

`SocketGateway` (`gateway.py`) is one object made of parts, each in its module:
`GatewayState` here (the attributes they all read, and the tasks they spawn), the inbound
checks (`inbound.py`) and the socket's access over time (`access.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from src.core.config import RateLimit
from src.events.emitters import EventEmitter
from src.events.handlers import EventHandlerRegistry
from src.events.rooms import RoomPolicy, Viewer
from src.events.socket_service import SocketService
from src.transport.expiry import Credentials, TokenTimers
from src.transport.rate_limit import TokenBucket
from src.transport.sockets import SocketServer

Authenticator = Callable[[str | None], Awaitable[Credentials | None]]
"""The credentials of a valid, unrevoked token of an existing user; None otherwise."""
StatusSync = Callable[[int], Awaitable[None]]
"""Make a user's stored status follow their open connections (online while any is open)."""
AdminLookup = Callable[[set[int]], Awaitable[set[int]]]
"""Which of these user ids are admins in the database now."""
UserLookup = Callable[[set[int]], Awaitable[set[int]]]
"""Which of these user ids still exist in the database, and are not disabled."""
RevocationLookup = Callable[[set[str]], Awaitable[set[str]]]
"""Which of these token ids were revoked (signed out)."""


@dataclass(slots=True)
class ConnectedClient:
    viewer: Viewer
    bucket: TokenBucket
    jti: str | None = None
    """The id of the token the socket holds now (the last one refreshed in band)."""


@dataclass
class GatewayLimits:
    rate: RateLimit
    max_message_bytes: int
    max_subscriptions: int
    max_connections_per_user: int = 20
    clock: Callable[[], float] = field(default=time.monotonic)
    """Monotonic seconds the sockets' token buckets refill by; a test moves its own instead."""


class GatewayState:
    """The attributes the gateway's parts read (`SocketGateway`, a dataclass, sets them)."""

    sockets: SocketServer
    service: SocketService
    registry: EventHandlerRegistry
    emitter: EventEmitter
    rooms: RoomPolicy
    authenticate: Authenticator
    limits: GatewayLimits
    current_admins: AdminLookup | None
    existing_users: UserLookup | None
    revoked_tokens: RevocationLookup | None
    token_grace_seconds: float
    _clients: dict[str, ConnectedClient]
    _tasks: set[asyncio.Task[None]]
    _timers: TokenTimers

    def _spawn(self, coroutine: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait for connect and disconnect follow-ups still running (used at shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
