"""The typed state one app instance holds: built by `build_services` (`src/app/build.py`)
at start-up, reached by the routes through `src/api/deps.py`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from src.app.backend import Backend
from src.auth.notices import AccessNotices
from src.auth.throttle import LoginThrottle
from src.cluster.cluster import LocalCluster, RedisCluster
from src.cluster.presence import Presence
from src.cluster.relay import EventRelay
from src.core.config import Settings
from src.core.metrics import Metrics
from src.core.rate_limit import RateLimiter
from src.events.bus import EventBus
from src.events.emitters import EventEmitter
from src.events.handlers import EventHandlerRegistry
from src.events.log import EventLog
from src.events.rooms import RoomPolicy
from src.events.socket_service import SocketService
from src.transport.gateway import SocketGateway
from src.transport.sockets import SocketServer


@dataclass
class Limiters:
    """The REST throttles of one app (so test apps never share one), in the app's Redis
    when it has one: `WRITE_RATE_LIMIT`, `REGISTER_RATE_LIMIT`, the sign-in limits, and the
    writes under way per user in this process (`MAX_CONCURRENT_WRITES_PER_USER`)."""

    writes: RateLimiter
    registrations: RateLimiter
    login: LoginThrottle
    writes_in_flight: Counter[int] = field(default_factory=Counter)


@dataclass
class AppServices:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    backend: Backend
    """Memory or Redis, decided once (`src/app/backend.py`); it closes the Redis client."""
    redis: aioredis.Redis | None
    """The app's one Redis client (`backend.redis`), shared by everything but the Socket.IO
    client manager."""
    metrics: Metrics
    event_log: EventLog
    rooms: RoomPolicy
    """Who may join which room (handlers get it in their context, routes as `RoomsDep`)."""
    sockets: SocketServer
    """The transport side of `socket_service`: `sockets.sio` is the `socketio.AsyncServer`,
    `sockets.deliver` the relay's emit."""
    socket_service: SocketService
    emitter: EventEmitter
    registry: EventHandlerRegistry
    bus: EventBus
    gateway: SocketGateway
    cluster: LocalCluster | RedisCluster
    relay: EventRelay
    presence: Presence
    notices: AccessNotices
    limiters: Limiters
