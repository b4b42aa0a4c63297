"""`TokenTimers`: for each socket, when its access token expires and when its grace ends.

Two `Deadlines` (one event-loop timer each, for all sockets), not a timer or a task per
socket: an idle socket costs a heap entry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from src.core.clock import utcnow
from src.events.rooms import Viewer
from src.transport.deadlines import Deadlines

logger = logging.getLogger("mindwire.events")


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
    _expiry: Deadlines[str] = field(init=False)
    _grace: Deadlines[str] = field(init=False)

    def __post_init__(self) -> None:
        self._expiry = Deadlines(self._expired)
        self._grace = Deadlines(self._over)

    def start(self, sid: str, expires_at: datetime) -> None:
        """(Re)arm the socket's timer for `expires_at`, replacing any earlier one."""
        self.cancel(sid)
        delay = max(0.0, (expires_at - utcnow()).total_seconds())
        self._expiry.set(sid, asyncio.get_running_loop().time() + delay)

    def cancel(self, sid: str) -> None:
        self._expiry.cancel(sid)
        self._grace.cancel(sid)

    def __len__(self) -> int:
        return len(self._expiry) + len(self._grace)

    def _expired(self, sids: list[str]) -> None:
        ends = asyncio.get_running_loop().time() + self.grace_seconds
        for sid in sids:
            self._grace.set(sid, ends)
            _call(self.on_expired, sid)

    def _over(self, sids: list[str]) -> None:
        for sid in sids:
            _call(self.on_grace_over, sid)


def _call(callback: Callable[[str], None], sid: str) -> None:
    """One socket's callback; its failure is logged and spares the others due with it."""
    try:
        callback(sid)
    except Exception:
        logger.exception("token timer of socket %s failed", sid)
