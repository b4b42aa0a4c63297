"""REST, `POST /api/notifications`: admins only, and each audience reaches its own room."""

from __future__ import annotations

import pytest

from tests.api.helpers import is_utc, room_events

URL = "/api/notifications"


async def notify(client, user, **body):
    return await client.post(
        URL, json={"message": "maintenance at noon", **body}, headers=user.headers
    )


async def event_ids(client, viewer, room: str) -> list[int]:
    return [
        event["event_id"]
        for event in await room_events(client, viewer, room)
        if event["event_type"] == "notification"
    ]


# -- who may send --------------------------------------------------------------------------------


async def test_notification_from_a_non_admin_is_403(client, alice):
    response = await notify(client, alice)

    assert response.status_code == 403
    assert await room_events(client, alice, "notifications") == []


async def test_notification_without_a_token_is_401(client):
    response = await client.post(URL, json={"message": "hello"})

    assert response.status_code == 401


@pytest.mark.parametrize("audience", ["everyone", "admins"])
async def test_notification_from_an_admin_is_202(client, admin, audience):
    response = await notify(client, admin, audience=audience)

    assert response.status_code == 202
    body = response.json()
    assert body["audience"] == audience
    assert isinstance(body["event_id"], int)


async def test_notification_to_one_user_is_202(client, admin, alice):
    response = await notify(client, admin, audience="user", user_id=alice.id)

    assert response.status_code == 202
    assert response.json()["audience"] == "user"


# -- invalid requests ----------------------------------------------------------------------------


async def test_notification_to_audience_user_without_user_id_is_422(client, admin):
    response = await notify(client, admin, audience="user")

    assert response.status_code == 422


@pytest.mark.parametrize("user_id", [999999, 2**31 - 1])
async def test_notification_to_a_missing_user_is_404(client, admin, user_id):
    response = await notify(client, admin, audience="user", user_id=user_id)

    assert response.status_code == 404
    assert await room_events(client, admin, f"user_{user_id}") == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"message": ""}, id="message-empty"),
        pytest.param({"message": "m" * 2001}, id="message-too-long"),
        pytest.param({"message": "nul \x00 byte"}, id="message-nul-character"),
        pytest.param({"level": "panic"}, id="unknown-level"),
        pytest.param({"audience": "martians"}, id="unknown-audience"),
        pytest.param({"audience": "user", "user_id": 2**31}, id="user-id-too-large"),
        pytest.param({"audience": "user", "user_id": 2**70}, id="user-id-far-too-large"),
        pytest.param({"audience": "user", "user_id": 0}, id="user-id-0"),
        pytest.param({"audience": "user", "user_id": True}, id="user-id-a-boolean"),
        pytest.param({"audience": "user", "user_id": "1"}, id="user-id-a-string"),
        pytest.param({"user_id": True}, id="user-id-a-boolean-for-everyone"),
        pytest.param({"audience": "user", "user_id": 1.5}, id="user-id-a-fraction"),
    ],
)
async def test_invalid_notification_is_422(client, admin, body):
    response = await client.post(URL, json={"message": "hello", **body}, headers=admin.headers)

    assert response.status_code == 422


# -- where each audience's notification goes -----------------------------------------------------


async def test_notification_to_everyone_is_listed_in_notifications_only(client, admin, alice):
    event_id = (await notify(client, admin, audience="everyone", level="warning")).json()[
        "event_id"
    ]

    events = await room_events(client, alice, "notifications")
    assert [event["event_id"] for event in events] == [event_id]
    assert events[0]["event_type"] == "notification"
    payload = events[0]["data"]
    assert set(payload) == {"message", "level", "audience", "created_at"}
    assert (payload["message"], payload["level"], payload["audience"]) == (
        "maintenance at noon",
        "warning",
        "everyone",
    )
    assert is_utc(payload["created_at"])
    assert event_id not in await event_ids(client, admin, "admin")
    assert event_id not in await event_ids(client, admin, f"user_{alice.id}")


async def test_notification_to_admins_is_listed_in_admin_only(client, admin, alice):
    event_id = (await notify(client, admin, audience="admins")).json()["event_id"]

    assert await event_ids(client, admin, "admin") == [event_id]
    assert event_id not in await event_ids(client, alice, "notifications")
    assert event_id not in await event_ids(client, alice, f"user_{alice.id}")


async def test_notification_to_one_user_is_listed_in_their_room_only(client, admin, alice, bob):
    response = await notify(client, admin, audience="user", user_id=alice.id, level="critical")
    event_id = response.json()["event_id"]

    events = await room_events(client, alice, f"user_{alice.id}")
    assert [event["event_id"] for event in events] == [event_id]
    assert events[0]["data"]["audience"] == "user"
    assert events[0]["data"]["level"] == "critical"
    assert event_id not in await event_ids(client, bob, f"user_{bob.id}")
    assert event_id not in await event_ids(client, bob, "notifications")
    assert event_id not in await event_ids(client, admin, "admin")


async def test_notification_level_defaults_to_info(client, admin, alice):
    await notify(client, admin)

    events = await room_events(client, alice, "notifications")
    assert events[0]["data"]["level"] == "info"
    assert events[0]["data"]["audience"] == "everyone"
