"""The Socket.IO client managers: in-memory for one process, Redis for many
(`src/app/backend.py` chooses).

The names the rest of the app and the fast path import, from their modules:
`holding.py` (`HoldingManager`: holding a socket's live room events while it replays),
`replays.py` (the hold/replay bookkeeping, and `offset_of`) and `redis_manager.py`
(`OrderedRedisManager`, `close_client_manager`).
"""

from __future__ import annotations

from src.transport.holding import HoldingManager
from src.transport.redis_manager import OrderedRedisManager, close_client_manager
from src.transport.replays import offset_of

__all__ = ["HoldingManager", "OrderedRedisManager", "close_client_manager", "offset_of"]
