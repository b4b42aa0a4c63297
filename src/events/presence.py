"""Counts each user's open connections so status flips only on the first and the last."""

from __future__ import annotations

from collections import Counter


class LocalPresence:
    """Connection counts for one process (the in-memory default)."""

    def __init__(self) -> None:
        self._connections: Counter[int] = Counter()

    async def connected(self, user_id: int) -> bool:
        """Count a connection; True when it is the user's first."""
        self._connections[user_id] += 1
        return self._connections[user_id] == 1

    async def disconnected(self, user_id: int) -> bool:
        """Count a disconnection; True when it was the user's last."""
        self._connections[user_id] -= 1
        if self._connections[user_id] <= 0:
            del self._connections[user_id]
            return True
        return False

    async def connections(self, user_id: int) -> int:
        """How many connections `user_id` has open right now."""
        return self._connections[user_id]

    async def online_users(self) -> list[int]:
        return sorted(self._connections)
