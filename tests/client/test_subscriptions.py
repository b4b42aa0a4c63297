"""The resume rules of `src.client.subscriptions`, step by step (no socket: the live tests
in this folder cover the same rules against real servers, where the timing cannot be chosen)."""

from __future__ import annotations

from datetime import UTC, datetime

from src.client.events import RoomEvent, carries
from src.client.subscriptions import Arrivals, SeenIds, Subscription, UnclaimedEvents
from src.events.schemas import EventMeta, EventType, MemoryLogEvent, UserStatusChangedEvent

NOW = datetime.now(UTC)


def log_event(event_id: int, user_id: int = 7) -> RoomEvent:
    payload = MemoryLogEvent(id=event_id, user_id=user_id, content="c", created_at=NOW)
    meta = EventMeta(event_id=event_id, event_type="memory_log_created", emitted_at=NOW)
    return RoomEvent(EventType.MEMORY_LOG_CREATED, payload, meta)


async def test_events_during_a_resubscription_are_held_and_handed_over_in_id_order() -> None:
    subscription = Subscription("memory_logs", lambda _event: None)
    assert subscription.start_sync() == (1, None)  # the first time: no replay asked
    assert subscription.acknowledged(newest_seen=4) == []
    assert subscription.receive(log_event(5)) is True
    assert subscription.since == 5

    assert subscription.start_sync() == (2, 5)  # after a reconnect: since the last one
    # A live event through user_{id} comes before the replay of older ones.
    assert [subscription.receive(log_event(i)) for i in (9, 6, 7)] == [False] * 3
    assert subscription.since == 5  # not moved before the ack
    assert [event.event_id for event in subscription.acknowledged(newest_seen=9)] == [6, 7, 9]
    assert subscription.since == 9 and subscription.floor == 4


async def test_a_live_copy_at_or_below_the_since_asked_for_before_the_ack_is_not_wanted() -> None:
    # The caller listed logs up to 8 and subscribes from there; the server sends a live copy
    # of 8 through user_{id} before it has taken the subscription in.
    subscription = Subscription("memory_logs", lambda _event: None, since=8)
    assert subscription.start_sync() == (1, 8)
    assert [subscription.wants(i) for i in (7, 8, 9)] == [False, False, True]
    assert subscription.receive(log_event(9)) is False  # held till the ack
    assert [event.event_id for event in subscription.acknowledged(newest_seen=9)] == [9]
    assert subscription.wants(8)  # acknowledged: the repeat filter decides from here

    arrivals, logs = Arrivals(), Subscription("memory_logs", lambda _event: None, since=8)
    logs.start_sync()
    assert arrivals.route(log_event(8), [logs]) == []  # not handed over, not kept
    assert arrivals.route(log_event(9), [logs]) == [logs]
    assert [event.event_id for event in arrivals.kept.events] == []


async def test_a_room_with_nothing_handed_over_resumes_from_the_socket_s_newest_id() -> None:
    subscription = Subscription("mental_notes", lambda _event: None, floor=12)
    subscription.start_sync()
    subscription.acknowledged(newest_seen=15)
    assert subscription.resume_from == 12
    assert subscription.start_sync() == (2, 12)


async def test_repeats_are_dropped_and_old_ids_forgotten_only_below_every_resume_point() -> None:
    seen = SeenIds(limit=2)
    subscription = Subscription("memory_logs", lambda _event: None, since=2)
    assert [seen.add(i) for i in (1, 2, 2, 3)] == [True, True, False, True]
    seen.forget_old([subscription])
    assert seen.ids == {3}


def test_a_user_room_carries_only_its_user_s_events() -> None:
    assert carries("user_7", log_event(1, user_id=7))
    assert not carries("user_8", log_event(1, user_id=7))
    assert carries("memory_logs", log_event(1, user_id=8))
    assert not carries("mental_notes", log_event(1))
    status = UserStatusChangedEvent(user_id=7, status="away", changed_at=NOW)
    meta = EventMeta(event_id=2, event_type="user_status_changed", emitted_at=NOW)
    event = RoomEvent(EventType.USER_STATUS_CHANGED, status, meta)
    assert carries("admin", event) and carries("user_7", event)
    assert not carries("no_such_room", event)


async def test_early_events_join_the_replay_in_id_order_and_a_dropped_one_is_reported() -> None:
    unclaimed = UnclaimedEvents(limit=3)
    for event_id in (2, 4, 5, 8):  # 2 is pushed out by the fourth
        unclaimed.keep(log_event(event_id))
    early, whole = unclaimed.claim(lambda event: event.event_id != 5, since=3)
    assert [event.event_id for event in early] == [4, 8] and whole
    assert not unclaimed.claim(lambda _event: True, since=1)[1]  # 2 may have been its

    subscription = Subscription("memory_logs", lambda _event: None, since=3)
    subscription.take_early(early)
    subscription.start_sync()
    assert subscription.receive(log_event(6)) is False  # replayed, held till the ack
    assert [event.event_id for event in subscription.acknowledged(newest_seen=8)] == [4, 6, 8]
    assert subscription.since == 8


async def test_an_arrival_goes_to_the_rooms_that_carry_it_once_or_is_kept_for_a_later_room() -> (
    None
):
    arrivals = Arrivals()
    notes = Subscription("mental_notes", lambda _event: None)
    assert arrivals.route(log_event(3), [notes]) == []  # no room of it yet: kept
    assert [event.event_id for event in arrivals.kept.events] == [3]
    assert arrivals.seen.newest == 3

    logs = Subscription("memory_logs", lambda _event: None, since=1)
    assert arrivals.hand_to(logs, since=1) == 1
    assert arrivals.route(log_event(3), [notes, logs]) is None  # its replay: a repeat
    assert arrivals.route(log_event(4), [notes, logs]) == [logs]
    assert arrivals.route(log_event(4), [notes, logs]) is None
    assert arrivals.route(log_event(4), [notes]) == []  # seen before: not kept again
    assert [event.event_id for event in arrivals.kept.events] == [3]
