"""REST, `GET /api/events`: a room's retained events, filtered by who may see them."""

from __future__ import annotations

import httpx
import pytest
from asgi_lifespan import LifespanManager

from src.main import create_app
from tests.api.helpers import event_types, is_utc, room_events
from tests.support import Clock

URL = "/api/events"


async def create_log(client, user, content: str = "a memory") -> dict:
    response = await client.post(
        "/api/memory-logs", json={"content": content}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    log: dict = response.json()
    return log


async def test_events_have_the_documented_shape(client, alice):
    log = await create_log(client, alice)

    response = await client.get(URL, params={"room": "memory_logs"}, headers=alice.headers)

    assert response.status_code == 200
    [event] = response.json()["items"]
    assert set(event) == {"event_id", "event_type", "data", "emitted_at"}
    assert isinstance(event["event_id"], int)
    assert event["event_type"] == "memory_log_created"
    assert event["data"] == log
    assert is_utc(event["emitted_at"])


async def test_events_are_listed_in_event_id_order(client, alice):
    for n in range(4):
        await create_log(client, alice, f"log {n}")

    events = await room_events(client, alice, "memory_logs")

    ids = [event["event_id"] for event in events]
    assert ids == sorted(ids)
    assert len(set(ids)) == 4
    assert [event["data"]["content"] for event in events] == [f"log {n}" for n in range(4)]


async def test_events_after_lists_only_strictly_later_events(client, alice):
    for n in range(3):
        await create_log(client, alice, f"log {n}")
    all_ids = [event["event_id"] for event in await room_events(client, alice, "memory_logs")]

    after_first = await room_events(client, alice, "memory_logs", after=all_ids[0])
    after_last = await room_events(client, alice, "memory_logs", after=all_ids[-1])

    assert [event["event_id"] for event in after_first] == all_ids[1:]
    assert after_last == []


async def test_events_after_zero_lists_everything(client, alice):
    await create_log(client, alice)

    assert len(await room_events(client, alice, "memory_logs", after=0)) == 1


async def test_events_limit_returns_the_oldest_first(client, alice):
    for n in range(5):
        await create_log(client, alice, f"log {n}")
    all_ids = [event["event_id"] for event in await room_events(client, alice, "memory_logs")]

    limited = await room_events(client, alice, "memory_logs", limit=2)
    next_page = await room_events(client, alice, "memory_logs", after=all_ids[1], limit=2)

    assert [event["event_id"] for event in limited] == all_ids[:2]
    assert [event["event_id"] for event in next_page] == all_ids[2:4]


@pytest.mark.parametrize(
    "params",
    [
        {"room": "memory_logs", "limit": 0},
        {"room": "memory_logs", "limit": 1001},
        {"room": "memory_logs", "after": -1},
        {"room": "memory_logs", "after": 2**70},
        {"room": "memory_logs", "after": "latest"},
        {"room": ""},
        {},
    ],
    ids=[
        "limit-0",
        "limit-1001",
        "after-negative",
        "after-too-large",
        "after-not-a-number",
        "room-empty",
        "room-missing",
    ],
)
async def test_events_with_invalid_parameters_is_422(client, alice, params):
    response = await client.get(URL, params=params, headers=alice.headers)

    assert response.status_code == 422


async def test_events_without_a_token_is_401(client):
    response = await client.get(URL, params={"room": "notifications"})

    assert response.status_code == 401


# -- rooms ---------------------------------------------------------------------------------------


async def test_events_of_room_admin_is_403_for_a_non_admin(client, alice):
    response = await client.get(URL, params={"room": "admin"}, headers=alice.headers)

    assert response.status_code == 403


async def test_events_of_another_users_room_is_403(client, alice, bob):
    await create_log(client, bob, "bob's secret")

    response = await client.get(URL, params={"room": f"user_{bob.id}"}, headers=alice.headers)

    assert response.status_code == 403
    assert "bob's secret" not in response.text


async def test_events_of_own_user_room_is_allowed(client, alice):
    log = await create_log(client, alice)

    events = await room_events(client, alice, f"user_{alice.id}")

    assert [event["data"] for event in events] == [log]


@pytest.mark.parametrize("room", ["nowhere", "user_", "user_0", "user_abc", "memory_logs/user_1"])
async def test_events_of_an_unknown_room_is_404(client, alice, room):
    response = await client.get(URL, params={"room": room}, headers=alice.headers)

    assert response.status_code == 404


@pytest.mark.parametrize("room", ["admin", "notifications", "memory_logs", "mental_notes"])
async def test_admin_may_list_every_shared_room(client, admin, room):
    response = await client.get(URL, params={"room": room}, headers=admin.headers)

    assert response.status_code == 200


async def test_admin_may_list_any_users_room(client, alice, admin):
    await create_log(client, alice)

    events = await room_events(client, admin, f"user_{alice.id}")

    assert event_types(events) == ["memory_log_created"]


async def test_non_admin_sees_only_own_events_in_memory_logs(client, alice, bob):
    alices = await create_log(client, alice, "alice's")
    await create_log(client, bob, "bob's")

    events = await room_events(client, alice, "memory_logs")

    assert [event["data"] for event in events] == [alices]


async def test_admin_sees_everyones_events_in_memory_logs(client, alice, bob, admin):
    alices = await create_log(client, alice, "alice's")
    bobs = await create_log(client, bob, "bob's")

    events = await room_events(client, admin, "memory_logs")

    assert [event["data"] for event in events] == [alices, bobs]


# -- retention -----------------------------------------------------------------------------------


async def test_events_older_than_the_retention_window_are_not_listed(settings_factory, alice):
    app = create_app(settings_factory(event_retention_seconds=60))
    async with LifespanManager(app) as manager:
        clock = Clock()
        app.other_asgi_app.state.services.event_log.clock = clock
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await create_log(client, alice, "soon forgotten")
            assert len(await room_events(client, alice, "memory_logs")) == 1

            clock.advance(61)

            assert await room_events(client, alice, "memory_logs") == []
            assert await room_events(client, alice, f"user_{alice.id}") == []
            fresh = await create_log(client, alice, "still fresh")
            events = await room_events(client, alice, "memory_logs")
            assert [event["data"] for event in events] == [fresh]
