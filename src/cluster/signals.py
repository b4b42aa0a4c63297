"""`Signals`: what this process raises for the cluster, built before anything that raises it.

Writers wake the relay, and the auth layer publishes access notices; the cluster carries
both to the other processes, and the relay waits for the wake-ups. Each of those objects is
handed this one in its constructor, so none is patched onto another after it is made (the
writer is built before the relay that delivers through it, the notices before the cluster
that brings them in).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid


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
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """A writer committed: wake the relay here and, through the cluster, the leader's.

        The write's answer does not wait for its fan-out (thousands of sockets can take tens
        of milliseconds): the event is durable once committed, and the relay sends it in id
        order a moment later, on this worker or on the leading one.
        """
        self._woken.set()
        if self.shared:
            self.wake_pending = True
            self.outgoing.set()

    def wake_here(self) -> None:
        """Wake this process's relay only (to let it see its stop flag)."""
        self._woken.set()

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
        """Wait until woken or `at_most` seconds pass, then reset for the next wait."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), at_most)
        self._woken.clear()
