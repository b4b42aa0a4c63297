"""`Signals`: what this process raises for the cluster, built before anything that raises it.

Writers wake the relay, and the auth layer publishes access notices; the cluster carries
both to the other processes, and the relay waits for the wake-ups. Each of those objects is
handed this one in its constructor, so none is patched onto another after it is made (the
writer is built before the relay that delivers through it, the notices before the cluster
that brings them in).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from src.events.log import LoggedEvent


def new_process_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Signals:
    """This process's id, its relay wake-up, and what waits to go out to the others.

    `shared` is False for a lone process: nothing then queues for the other processes (there
    are none, and nobody would drain it).
    """

    def __init__(self, *, shared: bool, process_id: str | None = None) -> None:
        self.process_id = process_id or new_process_id()
        self.shared = shared
        self.outgoing = asyncio.Event()
        """Set when a wake-up or a notice waits to go out (the cluster's publisher waits)."""
        self.wake_pending = False
        self.notices: list[str] = []
        self.handed: list[LoggedEvent] = []
        """Events committed here and handed to the relay (`hand_off`), not yet taken."""
        self.log_unread = True
        """Something may be in the log that was not handed over: the relay must read it."""
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """A writer committed: wake the relay here and, through the cluster, the leader's.

        The write's answer does not wait for its fan-out (thousands of sockets can take tens
        of milliseconds): the event is durable once committed, and the relay sends it in id
        order a moment later, on this worker or on the leading one.
        """
        self.log_unread = True
        self._wake_everyone()

    def hand_off(self, logged: LoggedEvent) -> None:
        """A grouped write committed `logged` (as a read of the log returns it): wake the
        relays as `wake` does, but this process's may send it without reading it back. It
        still reads the log for anything it was not handed (`EventRelay`)."""
        self.handed.append(logged)
        self._wake_everyone()

    def _wake_everyone(self) -> None:
        self._woken.set()
        if self.shared:
            self.wake_pending = True
            self.outgoing.set()

    def wake_here(self) -> None:
        """Wake this process's relay only: another process wrote, or let it see its stop
        flag. It reads the log."""
        self.log_unread = True
        self._woken.set()

    def take_handed(self) -> tuple[list[LoggedEvent], bool]:
        """The events handed over since the last call and whether the log must be read
        (something else was written, or the relay waited a whole poll), now taken."""
        handed, self.handed = self.handed, []
        unread, self.log_unread = self.log_unread, False
        return handed, unread

    def publish_notice(self, payload: str) -> None:
        """Send `payload` to every other process's notices (dropped if Redis is down)."""
        if self.shared:
            self.notices.append(payload)
            self.outgoing.set()

    def take_outgoing(self) -> tuple[list[str], bool]:
        """The notices waiting to go out and whether a wake-up does, now taken."""
        notices, self.notices = self.notices, []
        wake, self.wake_pending = self.wake_pending, False
        return notices, wake

    async def wait_for_wake(self, at_most: float) -> None:
        """Wait until woken or `at_most` seconds pass (then the log is read: a process that
        could not wake us may have written), then reset for the next wait."""
        try:
            await asyncio.wait_for(self._woken.wait(), at_most)
        except TimeoutError:
            self.log_unread = True
        self._woken.clear()
