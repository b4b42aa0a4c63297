"""A typed Python client for Mindwire's Socket.IO events (the `client` extra: aiohttp).

`MindwireClient(url, token=...)` keeps the last event id per room, resubscribes with `since`
after every reconnect, drops repeats and reports `complete: false`, as `clients/typescript` does.
Handlers receive `RoomEvent`s whose `payload` is the model of `src.events.schemas`.
"""

from src.client.callbacks import ClientStats
from src.client.client import MindwireClient
from src.client.errors import (
    ClientClosedError,
    ConnectError,
    MindwireClientError,
    SubscribeError,
)
from src.client.events import RoomEvent
from src.client.subscriptions import RoomHandler
from src.client.tokens import TokenSource

__all__ = [
    "ClientClosedError",
    "ClientStats",
    "ConnectError",
    "MindwireClient",
    "MindwireClientError",
    "RoomEvent",
    "RoomHandler",
    "SubscribeError",
    "TokenSource",
]
