"""Per-room resume points and the repeat filter: what `since` to send after a reconnect.

The rules are those of `clients/typescript/src/client.ts` and docs/contract.md, section 6: a
room's last event id moves forward only once its (re)subscription is acknowledged (an event
about you can arrive through `user_{id}` before the replay that precedes it), and an id handed
over once is never handed over again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from functools import partial

from src.client.events import RoomEvent, carries
from src.events.schemas import SubscribeAck

RoomHandler = Callable[[RoomEvent], Awaitable[None] | None]
"""Called with each new event of the room, in event id order; may be sync or async."""

SEEN_LIMIT = 10_000
"""Ids kept for the repeat filter before the ones no replay can bring again are forgotten."""

UNCLAIMED_LIMIT = 1_000
"""Room events no subscription carried, kept for a room subscribed a moment later."""


@dataclass
class Subscription:
    """One subscribed room and where it resumes."""

    room: str
    handler: RoomHandler
    since: int | None = None
    """The newest event id handed over, counted once the subscription is acknowledged."""
    floor: int | None = None
    """The newest id seen on the socket when the room was subscribed (resume point till then)."""
    pending: int | None = None
    """The newest id received while a (re)subscription waited for its ack."""
    held: list[RoomEvent] = field(default_factory=list)
    """Events received while a (re)subscription waited for its ack, handed over at the ack."""
    incomplete: bool = False
    """Events the socket got before the room was subscribed may have been dropped unkept."""
    syncing: bool = False
    generation: int = 0
    """Bumped by every (re)subscription, so the late ack of an older one is ignored."""
    asked: int | None = None
    """The `since` of the (re)subscription on its way: what the caller already has."""
    sent: bool = False
    active: bool = True
    """False once unsubscribed or closed: queued events are no longer handed over."""
    first: asyncio.Future[SubscribeAck] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    """Resolved by the first ack: what `subscribe()` returns or raises."""

    @property
    def resume_from(self) -> int | None:
        """The `since` of the next resubscription."""
        return self.since if self.since is not None else self.floor

    def wants(self, event_id: int) -> bool:
        """False for a live copy at or below the `since` asked for that arrives before the
        ack: the server sent it before it took the subscription in, and the caller has it
        already (the list it loaded, say)."""
        return not (self.syncing and self.asked is not None and event_id <= self.asked)

    def receive(self, event: RoomEvent) -> bool:
        """Take a new event of the room: True to hand it over now, False when it is held.

        While a (re)subscription waits for its ack, the room's events are held: a live event
        can come through `user_{id}` before older ones the replay brings. At the ack they are
        handed over sorted, so the handler sees its room in event id order.
        """
        event_id = event.event_id
        if self.syncing:
            self.held.append(event)
            self.pending = event_id if self.pending is None else max(self.pending, event_id)
            return False
        self.since = event_id if self.since is None else max(self.since, event_id)
        return True

    def take_early(self, events: list[RoomEvent]) -> None:
        """Events of the room the socket got before it was subscribed, newer than `since`:
        handed over at the first ack, in id order with the replayed ones."""
        self.held.extend(events)
        if events:
            newest = max(event.event_id for event in events)
            self.pending = newest if self.pending is None else max(self.pending, newest)

    def start_sync(self) -> tuple[int, int | None]:
        """Begin a (re)subscription: its generation and the `since` to send (None: no replay)."""
        self.generation += 1
        since = (self.resume_from or 0) if self.sent else self.since
        self.sent = True
        self.syncing = True
        self.asked = since
        return self.generation, since

    def acknowledged(self, newest_seen: int | None) -> list[RoomEvent]:
        """The ack came back: what arrived meanwhile counts, and is returned in id order."""
        self.syncing = False
        if self.pending is not None:
            self.since = max(self.since or 0, self.pending)
            self.pending = None
        if self.floor is None:
            self.floor = newest_seen
        held, self.held = sorted(self.held, key=lambda event: event.event_id), []
        return held


@dataclass
class SeenIds:
    """Event ids already handed over, so a replay's repeat is dropped."""

    ids: set[int] = field(default_factory=set)
    newest: int | None = None
    limit: int = SEEN_LIMIT

    def observe(self, event_id: int) -> None:
        """Any room event on the socket, carried by a subscription or not, moves `newest`."""
        self.newest = event_id if self.newest is None else max(self.newest, event_id)

    def add(self, event_id: int) -> bool:
        """Record `event_id`; False when it was handed over before (a repeat)."""
        if event_id in self.ids:
            return False
        self.ids.add(event_id)
        return True

    def forget_old(self, subscriptions: Iterable[Subscription]) -> None:
        """Over the limit, drop the ids no replay can repeat: at or below every resume point."""
        if len(self.ids) <= self.limit:
            return
        floor = min((s.resume_from or 0 for s in subscriptions), default=0)
        self.ids = {event_id for event_id in self.ids if event_id > floor}


@dataclass
class UnclaimedEvents:
    """The newest room events that no subscription carried when they arrived.

    The server sends a socket each event once, whichever of its rooms carries it, and a replay
    skips what the socket already has: an event that came through `user_{id}` before its room
    was subscribed is not replayed, so the client keeps it for that subscription.
    """

    events: deque[RoomEvent] = field(default_factory=deque)
    dropped_through: int = 0
    """The newest id pushed out past `limit`: a room subscribed from before it may miss one."""
    limit: int = UNCLAIMED_LIMIT

    def keep(self, event: RoomEvent) -> None:
        self.events.append(event)
        if len(self.events) > self.limit:
            dropped = self.events.popleft()
            self.dropped_through = max(self.dropped_through, dropped.event_id)

    def claim(
        self, carried: Callable[[RoomEvent], bool], since: int
    ) -> tuple[list[RoomEvent], bool]:
        """The kept events after `since` that `carried` accepts, and whether none was dropped."""
        events = [e for e in self.events if e.event_id > since and carried(e)]
        return events, self.dropped_through <= since

    def hand_to(self, subscription: Subscription, since: int, seen: SeenIds) -> int:
        """Give a room subscribed from `since` its kept events (marked seen, so a replay's
        copy is a repeat); a dropped one makes it incomplete. Returns how many it got."""
        early, whole = self.claim(partial(carries, subscription.room), since)
        for event in early:
            seen.add(event.event_id)
        subscription.take_early(early)
        subscription.incomplete = not whole
        return len(early)


@dataclass
class Arrivals:
    """Every room event the socket received, whichever room carried it: the repeat filter
    and the events kept for a room subscribed a moment later."""

    seen: SeenIds = field(default_factory=SeenIds)
    kept: UnclaimedEvents = field(default_factory=UnclaimedEvents)

    def route(
        self, event: RoomEvent, subscriptions: Collection[Subscription]
    ) -> list[Subscription] | None:
        """The subscriptions an arriving event goes to, decided in arrival order: none yet
        when no subscription carries it (kept, unless it was handed over before), `None` when
        it is a repeat; a subscription on its way skips a copy at or below its `since`."""
        self.seen.observe(event.event_id)
        targets = [s for s in subscriptions if carries(s.room, event)]
        if not targets:
            if event.event_id not in self.seen.ids:
                self.kept.keep(event)
            return []
        if not self.seen.add(event.event_id):
            return None
        self.seen.forget_old(subscriptions)
        return [s for s in targets if s.wants(event.event_id)]

    def hand_to(self, subscription: Subscription, since: int) -> int:
        """A room subscribed from `since` takes its kept events (`UnclaimedEvents.hand_to`)."""
        return self.kept.hand_to(subscription, since, self.seen)
