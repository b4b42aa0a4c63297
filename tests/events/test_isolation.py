"""Isolation matrix: who may touch which item, and who receives which event, as tables.

Three users: alice and bob (plain users) and an admin. The expected outcome of every cell is
computed from the contract's rules by the small functions below (never by asking the server),
and the server's answer must match it exactly: no leak, and nothing missing.

- REST: every item route × every owner × every caller, and the list routes with `user_id`.
- Events: every room × every event type, for every viewer, through the three doors an event
  leaves by: live delivery, replay (`subscribe_event` with `since`) and `GET /api/events`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.hostile import report

PEOPLE = ("alice", "bob", "admin")
ROOMS = ("memory_logs", "mental_notes", "notifications", "admin", "user:alice", "user:bob")
ROOMS += ("user:admin",)
COLLECTIONS = {"memory_logs": "/api/memory-logs", "mental_notes": "/api/mental-notes"}


def is_admin(person: str) -> bool:
    return person == "admin"


# -- REST ----------------------------------------------------------------------------------------


def may_touch(caller: str, owner: str) -> bool:
    """A user reads and changes only their own items; an admin anyone's."""
    return caller == owner or is_admin(caller)


def body_for(collection: str, text: str) -> dict[str, str]:
    return {"content": text} if collection == "memory_logs" else {"title": text, "content": text}


async def test_rest_item_routes_by_owner_and_caller(api, alice, bob, admin, stack):
    users = {"alice": alice, "bob": bob, "admin": admin}
    cells = 0
    for collection, base in COLLECTIONS.items():
        # One item per (owner, caller) so that a DELETE never hides another cell's answer.
        items: dict[tuple[str, str], dict[str, Any]] = {}
        for owner in PEOPLE:
            for caller in PEOPLE:
                text = f"{owner}'s item for {caller}"
                response = await api.post(
                    base, json=body_for(collection, text), headers=users[owner].headers
                )
                assert response.status_code == 201
                items[owner, caller] = response.json()

        for (owner, caller), item in items.items():
            url, headers = f"{base}/{item['id']}", users[caller].headers
            allowed = may_touch(caller, owner)

            read = await api.get(url, headers=headers)
            assert read.status_code == (200 if allowed else 404), (collection, owner, caller)
            if allowed:
                assert read.json() == item
            else:  # existence is not leaked: the same answer as for no item at all
                missing = await api.get(f"{base}/2147483647", headers=headers)
                assert read.json().keys() == missing.json().keys()

            changed = body_for(collection, f"changed by {caller}")
            patch = await api.patch(url, json=changed, headers=headers)
            assert patch.status_code == (200 if allowed else 404), (collection, owner, caller)

            delete = await api.delete(url, headers=headers)
            assert delete.status_code == (204 if allowed else 404), (collection, owner, caller)

            # A refused write changed nothing; an allowed delete removed the item.
            after = await api.get(url, headers=users[owner].headers)
            if allowed:
                assert after.status_code == 404
            else:
                assert after.status_code == 200 and after.json() == item
            cells += 4

        for owner in PEOPLE:
            for caller in PEOPLE:
                listed = await api.get(
                    base, params={"user_id": users[owner].id}, headers=users[caller].headers
                )
                if not may_touch(caller, owner):
                    assert listed.status_code == 403, (collection, owner, caller)
                else:
                    assert listed.status_code == 200
                    owners = {entry["user_id"] for entry in listed.json()["items"]}
                    assert owners <= {users[owner].id}, (collection, owner, caller)
                cells += 1
            mine = await api.get(base, headers=users[owner].headers)
            assert {entry["user_id"] for entry in mine.json()["items"]} <= {users[owner].id}
            cells += 1

    for person in PEOPLE:
        headers = users[person].headers
        notify = await api.post(
            "/api/notifications", json={"message": "m", "audience": "everyone"}, headers=headers
        )
        online = await api.get("/api/users/online", headers=headers)
        expected = (202, 200) if is_admin(person) else (403, 403)
        assert (notify.status_code, online.status_code) == expected, person
        cells += 2
    report(f"isolation, REST routes ({stack}): {cells} cells, 0 leaks")


# -- events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """An event the test caused, and what it is about."""

    event_type: str
    key: str  # identifies it among the received events
    owner: str | None = None  # whose item or status it is about
    audience: str | None = None  # notifications: everyone, admins or user
    to: str | None = None  # notifications to one user


def may_subscribe(viewer: str, room: str) -> bool:
    if room == "admin":
        return is_admin(viewer)
    if room.startswith("user:"):
        return is_admin(viewer) or room == f"user:{viewer}"
    return True


def carries(room: str, viewer: str, event: Sent) -> bool:
    """The contract's room table: does `room`, subscribed by `viewer`, carry `event`?"""
    item_event = event.event_type.startswith(("memory_log_", "mental_note_"))
    if room in COLLECTIONS:
        prefix = "memory_log_" if room == "memory_logs" else "mental_note_"
        return event.event_type.startswith(prefix) and (is_admin(viewer) or event.owner == viewer)
    if room == "notifications":
        return event.event_type == "notification" and event.audience == "everyone"
    if room == "admin":
        return event.event_type == "user_status_changed" or (
            event.event_type == "notification" and event.audience == "admins"
        )
    person = room.removeprefix("user:")
    if item_event or event.event_type == "user_status_changed":
        return event.owner == person
    return event.event_type == "notification" and event.audience == "user" and event.to == person


def expected_in(room: str, viewer: str, sent: list[Sent]) -> Counter[str]:
    if not may_subscribe(viewer, room):
        return Counter()
    return Counter(event.key for event in sent if carries(room, viewer, event))


def key_of(event_type: str, data: dict[str, Any]) -> str:
    if event_type == "notification":
        return f"notification:{data['message']}"
    if event_type == "user_status_changed":
        return f"status:{data['user_id']}:{data['status']}"
    return f"{event_type}:{data['id']}"


class World:
    """The three users, their REST calls, and a record of every event those calls caused."""

    def __init__(self, api: Any, users: dict[str, Any]) -> None:
        self.api = api
        self.users = users
        self.names = {user.id: name for name, user in users.items()}
        self.sent: list[Sent] = []

    def room(self, room: str) -> str:
        return f"user_{self.users[room[5:]].id}" if room.startswith("user:") else room

    async def call(self, person: str, method: str, url: str, **kwargs: Any) -> Any:
        response = await self.api.request(method, url, headers=self.users[person].headers, **kwargs)
        assert response.is_success, (person, method, url, response.text)
        return response.json() if response.content else None

    async def item_events(self, collection: str, owner: str, editor: str) -> None:
        base = COLLECTIONS[collection]
        kind = "memory_log" if collection == "memory_logs" else "mental_note"
        kept = await self.call(owner, "POST", base, json=body_for(collection, "kept"))
        self.sent.append(Sent(f"{kind}_created", f"{kind}_created:{kept['id']}", owner))
        await self.call(editor, "PATCH", f"{base}/{kept['id']}", json=body_for(collection, "e"))
        self.sent.append(Sent(f"{kind}_updated", f"{kind}_updated:{kept['id']}", owner))
        gone = await self.call(owner, "POST", base, json=body_for(collection, "gone"))
        self.sent.append(Sent(f"{kind}_created", f"{kind}_created:{gone['id']}", owner))
        await self.call(editor, "DELETE", f"{base}/{gone['id']}")
        self.sent.append(Sent(f"{kind}_deleted", f"{kind}_deleted:{gone['id']}", owner))
        # Someone else's refused attempts cause no event (and change nothing).
        for stranger in PEOPLE:
            if not may_touch(stranger, owner):
                url = f"{base}/{kept['id']}"
                headers = self.users[stranger].headers
                patch = await self.api.patch(url, json=body_for(collection, "x"), headers=headers)
                delete = await self.api.delete(url, headers=headers)
                assert (patch.status_code, delete.status_code) == (404, 404)

    async def notify(self, audience: str, to: str | None = None, message: str = "") -> None:
        message = message or f"to {audience} {to or ''}".strip()
        body: dict[str, Any] = {"message": message, "audience": audience}
        if to is not None:
            body["user_id"] = self.users[to].id
        await self.call("admin", "POST", "/api/notifications", json=body)
        self.sent.append(Sent("notification", f"notification:{message}", audience=audience, to=to))

    async def cause_every_event(self) -> None:
        for collection in COLLECTIONS:
            for owner in PEOPLE:
                await self.item_events(collection, owner, editor=owner)
            await self.item_events(collection, "alice", editor="admin")  # admin edits alice's
        for person in PEOPLE:
            await self.call(person, "PUT", "/api/users/me/status", json={"status": "busy"})
            user_id = self.users[person].id
            self.sent.append(Sent("user_status_changed", f"status:{user_id}:busy", person))
        await self.notify("everyone")
        await self.notify("admins")
        for person in PEOPLE:
            await self.notify("user", person)
        # Last, one event into every socket's own room: once a socket has it, it has every
        # earlier event meant for it (delivery is in event_id order).
        for person in PEOPLE:
            await self.notify("user", person, message=f"barrier {person}")


def received_keys(events: list[Any], after: int) -> Counter[str]:
    return Counter(key_of(e.event, e.data) for e in events if e.meta and e.meta["event_id"] > after)


async def everyone_online(world: World) -> None:
    """Connecting sets statuses: wait until those writes are done, before the marker."""
    ids = {user.id for user in world.users.values()}
    for _ in range(100):
        online = await world.call("admin", "GET", "/api/users/online")
        if ids <= {entry["id"] for entry in online}:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the users did not come online")


async def test_every_room_and_event_type_reaches_exactly_its_audience(
    api, connect, alice, bob, admin, stack
):
    world = World(api, {"alice": alice, "bob": bob, "admin": admin})
    live: dict[tuple[str, str], Any] = {}
    for viewer in PEOPLE:
        for room in ROOMS:
            sock = await connect(world.users[viewer])
            ack = await sock.call("subscribe_event", {"event_type": world.room(room)})
            if may_subscribe(viewer, room):
                assert ack["ok"] is True, (viewer, room, ack)
            else:
                assert ack["error"]["code"] == "forbidden", (viewer, room, ack)
            live[viewer, room] = sock
    await everyone_online(world)
    marker = (await world.call("admin", "POST", "/api/notifications", json={"message": "start"}))[
        "event_id"
    ]

    await world.cause_every_event()
    types = {event.event_type for event in world.sent}
    assert len(types) == 8, types  # every room event type

    cells = 0
    # Live: a socket subscribed to one room is also in its own user_{id} room.
    for (viewer, room), sock in live.items():
        await sock.wait_for("notification", lambda e, v=viewer: e.data["message"] == f"barrier {v}")
        expected = expected_in(room, viewer, world.sent) | expected_in(
            f"user:{viewer}", viewer, world.sent
        )
        got = received_keys(sock.received, marker)
        assert got == expected, ("live", viewer, room, got - expected, expected - got)
        ids = [e.meta["event_id"] for e in sock.received if e.meta]
        assert len(ids) == len(set(ids)), ("live", viewer, room, "an event arrived twice")
        cells += len(world.sent)

    # Replay with `since`, and GET /api/events with `after`: exactly the room's own events.
    for viewer in PEOPLE:
        sock = await connect(world.users[viewer])
        subscribed = 0
        for room in ROOMS:
            before = len(sock.received)
            ack = await sock.call(
                "subscribe_event", {"event_type": world.room(room), "since": marker}
            )
            expected = expected_in(room, viewer, world.sent)
            if not may_subscribe(viewer, room):
                assert ack["error"]["code"] == "forbidden"
            else:
                assert ack["ok"] is True and ack["replayed"] == sum(expected.values())
                subscribed += 1
                await sock.wait_for("subscribed", count=subscribed, timeout=10)
            replayed = [e for e in sock.received[before:] if e.meta]
            got = received_keys(replayed, marker)
            assert got == expected, ("replay", viewer, room, got - expected, expected - got)
            assert [e.meta["event_id"] for e in replayed] == sorted(
                e.meta["event_id"] for e in replayed
            )
            if may_subscribe(viewer, room):  # leave it, so the next replay is this room's only
                await sock.call("unsubscribe_event", {"event_type": world.room(room)})

            response = await api.get(
                "/api/events",
                params={"room": world.room(room), "after": marker, "limit": 1000},
                headers=world.users[viewer].headers,
            )
            if not may_subscribe(viewer, room):
                assert response.status_code == 403
            else:
                items = response.json()["items"]
                got = Counter(key_of(item["event_type"], item["data"]) for item in items)
                assert got == expected, ("REST", viewer, room, got - expected, expected - got)
                ids = [item["event_id"] for item in items]
                assert ids == sorted(ids)
            cells += 2 * len(world.sent)
    report(
        f"isolation, events ({stack}): {len(world.sent)} events x {len(PEOPLE)} viewers x "
        f"{len(ROOMS)} rooms x 3 doors (live, replay, REST) = {cells} cells, 0 leaks"
    )
