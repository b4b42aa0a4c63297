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


def list_body(response: httpx.Response) -> dict[str, Any]:
    """A list route's 200 body without its `position`, after checking that `position` is an
    int and that the `X-Log-Position` header says the same."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    position = body.pop("position")
    assert isinstance(position, int) and position >= 0
    assert response.headers["X-Log-Position"] == str(position)
    return body


def event_types(events: list[dict[str, Any]]) -> list[str]:
    return [event["event_type"] for event in events]
