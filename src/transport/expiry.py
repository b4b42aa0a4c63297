"""`TokenTimers`: one timer per socket, for when its access token expires and its grace ends.

A `TimerHandle` on the event loop, not a task: an idle socket costs one heap entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from src.core.clock import utcnow
from src.events.rooms import Viewer


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a socket's token says: who it signs in, its id (for revocation), its expiry."""

    viewer: Viewer
    jti: str | None
    expires_at: datetime


@dataclass
class TokenTimers:
    """Call `on_expired(sid)` when a socket's token expires, then `on_grace_over(sid)`
    `grace_seconds` later unless `start` is called again (a refresh) or `cancel`."""

    grace_seconds: float
    on_expired: Callable[[str], None]
    on_grace_over: Callable[[str], None]
    _handles: dict[str, asyncio.TimerHandle] = field(default_factory=dict)

    def start(self, sid: str, expires_at: datetime) -> None:
        """(Re)arm the socket's timer for `expires_at`, replacing any earlier one."""
        self.cancel(sid)
        loop = asyncio.get_running_loop()
        delay = max(0.0, (expires_at - utcnow()).total_seconds())
        self._handles[sid] = loop.call_at(loop.time() + delay, self._expired, sid)

    def cancel(self, sid: str) -> None:
        handle = self._handles.pop(sid, None)
        if handle is not None:
            handle.cancel()

    def __len__(self) -> int:
        return len(self._handles)

    def _expired(self, sid: str) -> None:
        loop = asyncio.get_running_loop()
        self._handles[sid] = loop.call_at(loop.time() + self.grace_seconds, self._over, sid)
        self.on_expired(sid)

    def _over(self, sid: str) -> None:
        self._handles.pop(sid, None)
        self.on_grace_over(sid)
