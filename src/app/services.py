"""The typed state one app instance holds: built in the lifespan, reached via dependencies."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from src.auth.notices import AccessNotices
from src.core.config import Settings
from src.core.metrics import Metrics
from src.events.bus import EventBus
from src.events.cluster import LocalCluster, RedisCluster
from src.events.emitters import EventEmitter
from src.events.gateway import SocketGateway
from src.events.handlers import EventHandlerRegistry
from src.events.log import EventLog
from src.events.presence import Presence
from src.events.relay import EventRelay
from src.events.socket_service import SocketService


@dataclass
class AppServices:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    metrics: Metrics
    event_log: EventLog
    socket_service: SocketService
    emitter: EventEmitter
    registry: EventHandlerRegistry
    bus: EventBus
    gateway: SocketGateway
    cluster: LocalCluster | RedisCluster
    relay: EventRelay
    presence: Presence
    notices: AccessNotices
