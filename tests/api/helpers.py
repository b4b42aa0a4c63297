"""Small helpers shared by the REST route tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import TestUser


def is_utc(timestamp: str) -> bool:
    """The contract: every time carries an explicit UTC offset."""
    return timestamp.endswith(("Z", "+00:00"))


async def room_events(
    client: httpx.AsyncClient, user: TestUser, room: str, **params: Any
) -> list[dict[str, Any]]:
    """The events `user` may list in `room` through `GET /api/events` (asserting a 200)."""
    response = await client.get(
        "/api/events", params={"room": room, **params}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def event_types(events: list[dict[str, Any]]) -> list[str]:
    return [event["event_type"] for event in events]
