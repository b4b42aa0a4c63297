"""Emits on their way to their sockets: a fan-out to thousands goes out a slice per loop pass.

Writing an event to 5,000 sockets' links takes a few milliseconds of the process's one core;
done in one go, every request that arrives meanwhile waits for it, and with a backlog of
events it waits for each. A `Delivery` hands the event to `EMIT_SLICE` recipients per
event-loop pass instead (the hub then flushes the links a slice per pass too, `hub.py`).

Order is kept as if each emit reached all its recipients at once:

- the recipients are read when the emit begins, in the same step as the live position rises
  (`HoldingManager.emit`): a socket that joins later does not get it, as before;
- deliveries run one after another (`Deliveries.run`): an emit that begins while another is
  on its way waits for it, so no socket gets a later event before an earlier one;
- before a socket's state changes in a way that decides what it must receive next (a replay
  begins and holds its live events, it leaves a room), `Deliveries.settle` first hands it
  what the deliveries on their way still owe it, so it is as if they had reached it already.

An emit to one socket (a reply, a replay, a held event released) does not wait: a socket a
delivery still owes an event is not held (it was settled before its hold), so such an emit is
no room event to it that could overtake one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from src.transport.turns import next_turn

EMIT_SLICE = 128
"""Recipients one event-loop pass hands an event to (~0.1 ms). Under uvloop a slice runs in
every pass a request takes (~10 for a REST write, `turns.py`): 256 a slice cost a 10-pass
request during a 5000-recipient fan-out ~1.4-2.4 ms of loop CPU in-process, 128 ~0.7 ms, at the
same CPU per delivery if the links' flush slice shrinks with it (`links.FLUSH_SLICE`, 16 times
fewer): each pass runs one of each, and a smaller emit slice against the same flush slice
flushes links with fewer frames each (more `send()`s and client reads per delivery)."""

Send = Callable[[str, str], Awaitable[None] | None]
"""Hands the event to one recipient (sid, Engine.IO sid); an awaitable when it must wait
(python-socketio's queue, the plain path), None when done (the fast path)."""


class Delivery:
    """One emit on its way: its recipients, read when it began, and how far it has got."""

    __slots__ = ("_index", "early", "eio_sids", "finished", "next", "send", "sids")

    def __init__(self, sids: list[str], eio_sids: list[str], send: Send) -> None:
        self.sids = sids
        self.eio_sids = eio_sids
        """The recipients (parallel lists, not pairs: 5,000 tuples per emit would wake the
        garbage collector, whose full passes over every connection's objects take long)."""
        self.send = send
        self.next = 0
        """The recipients before this one have been handed the event."""
        self.early: set[str] = set()
        """Recipients handed it out of turn, by `catch_up`."""
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._index: dict[str, int] | None = None

    async def run(self) -> None:
        sids, eio_sids, send, early = self.sids, self.eio_sids, self.send, self.early
        while self.next < len(sids):
            end = min(self.next + EMIT_SLICE, len(sids))
            for position in range(self.next, end):
                sid = sids[position]
                if early and sid in early:
                    continue
                pending = send(sid, eio_sids[position])
                if pending is not None:
                    self.next = position + 1  # a `catch_up` meanwhile sees how far it got
                    await pending
            self.next = end
            if end < len(sids):
                await next_turn()  # a request waiting for the loop goes first

    async def catch_up(self, sid: str) -> None:
        """Hand the event to `sid` now if it is still owed (its turn is not reached yet)."""
        if self.next >= len(self.sids):
            return
        if self._index is None:  # built at the first catch-up only: a subscribe, rarely
            self._index = {each: n for n, each in enumerate(self.sids)}
        position = self._index.get(sid)
        if position is None or position < self.next or sid in self.early:
            return
        self.early.add(sid)
        pending = self.send(sid, self.eio_sids[position])
        if pending is not None:
            await pending


class Deliveries:
    """A client manager's deliveries on their way, in the order their emits began."""

    def __init__(self) -> None:
        self.runs: deque[Delivery] = deque()

    async def run(self, delivery: Delivery) -> None:
        """Deliver after the deliveries that began before (each socket: in emit order)."""
        before = self.runs[-1].finished if self.runs else None
        self.runs.append(delivery)
        try:
            if before is not None:
                await asyncio.shield(before)
            await delivery.run()
        finally:
            self.runs.remove(delivery)
            if not delivery.finished.done():
                delivery.finished.set_result(None)

    async def settle(self, sid: str) -> None:
        """Hand `sid` what the deliveries on their way still owe it, in their order."""
        for delivery in list(self.runs):
            await delivery.catch_up(sid)
