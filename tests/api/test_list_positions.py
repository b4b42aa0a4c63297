"""REST, every list route's `position` (body) and `X-Log-Position` (header): the log position
the list was read at, in the OpenAPI schema, and read in one snapshot with the list."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from src.api.ownership import PageQuery, list_page
from src.api.snapshot import begin_snapshot
from src.core.config import Settings
from src.core.db import create_engine, create_sessionmaker
from src.events.log import EventLog, log_position
from src.events.models import EventLogWatermark, EventRecord
from src.main import create_app
from src.memory_logs.models import MemoryLog
from tests.api.helpers import list_body, room_events
from tests.support import TestUser

ITEM_LISTS = [
    pytest.param("/api/memory-logs", {"content": "a log"}, "memory_logs", id="memory-logs"),
    pytest.param("/api/mental-notes", {"title": "a note"}, "mental_notes", id="mental-notes"),
]
LIST_ROUTES = ["/api/memory-logs", "/api/mental-notes", "/api/events", "/api/users/online"]


async def newest_event_id(session: AsyncSession) -> int:
    await session.commit()  # a fresh read of what the app committed
    return int(await session.scalar(select(func.max(EventRecord.id))) or 0)


def position_of(response: httpx.Response) -> int:
    """The body's `position`, checked against the header."""
    assert response.status_code == 200, response.text
    position: int = response.json()["position"]
    assert response.headers["X-Log-Position"] == str(position)
    return position


@pytest.mark.parametrize("path", LIST_ROUTES)
def test_every_list_route_declares_its_position_in_the_schema(settings: Settings, path: str):
    spec: dict[str, Any] = create_app(settings).other_asgi_app.openapi()  # type: ignore[attr-defined]
    ok = spec["paths"][path]["get"]["responses"]["200"]
    assert ok["headers"]["X-Log-Position"]["schema"] == {"type": "integer"}
    schema = ok["content"]["application/json"]["schema"]
    if path == "/api/users/online":
        assert schema["type"] == "array"  # kept a bare list: the header alone carries it
        return
    model = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert "position" in model["required"]
    assert model["properties"]["position"]["type"] == "integer"


@pytest.mark.parametrize(("url", "body", "room"), ITEM_LISTS)
async def test_item_list_position_is_the_newest_event_it_includes(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    alice: TestUser,
    url: str,
    body: dict[str, str],
    room: str,
):
    empty = position_of(await client.get(url, headers=alice.headers))
    assert empty == await newest_event_id(db_session)

    first = (await client.post(url, json=body, headers=alice.headers)).json()
    at_first = position_of(await client.get(url, headers=alice.headers))
    second = (await client.post(url, json=body, headers=alice.headers)).json()
    page = await client.get(url, headers=alice.headers)
    at_second = position_of(page)

    assert at_first > empty and at_second == await newest_event_id(db_session)
    assert [item["id"] for item in list_body(page)["items"]] == [second["id"], first["id"]]
    # Exactly what happened after the first list: the second item's event, nothing else.
    after = await room_events(client, alice, room, after=at_first)
    assert [(e["event_type"], e["data"]["id"]) for e in after] == [
        (f"{room[:-1]}_created", second["id"])
    ]


async def test_events_page_cut_at_limit_ends_at_its_last_item(
    client: httpx.AsyncClient, db_session: AsyncSession, alice: TestUser
):
    for n in range(3):
        await client.post("/api/memory-logs", json={"content": f"{n}"}, headers=alice.headers)
    params = {"room": "memory_logs"}

    cut = await client.get("/api/events", params={**params, "limit": 2}, headers=alice.headers)
    whole = await client.get("/api/events", params=params, headers=alice.headers)

    assert position_of(cut) == cut.json()["items"][-1]["event_id"]
    assert position_of(whole) == await newest_event_id(db_session)
    rest = await room_events(client, alice, "memory_logs", after=position_of(cut))
    assert [e["event_id"] for e in rest] == [whole.json()["items"][-1]["event_id"]]


async def test_online_users_answer_the_position_in_the_header(
    client: httpx.AsyncClient, db_session: AsyncSession, alice: TestUser, admin: TestUser
):
    await client.put("/api/users/me/status", json={"status": "away"}, headers=alice.headers)

    response = await client.get("/api/users/online", headers=admin.headers)

    assert response.status_code == 200
    assert [user["id"] for user in response.json()] == [alice.id]
    assert response.headers["X-Log-Position"] == str(await newest_event_id(db_session))


async def test_position_does_not_go_back_when_every_event_was_pruned(
    client: httpx.AsyncClient, db_session: AsyncSession, alice: TestUser
):
    db_session.add(EventLogWatermark(id=1, pruned_through=500))
    await db_session.commit()

    response = await client.get("/api/memory-logs", headers=alice.headers)

    assert position_of(response) == 500


async def test_a_snapshot_sees_neither_the_rows_nor_the_events_committed_after_it(
    settings: Settings, alice: TestUser
):
    """The list and the position come from one snapshot (REPEATABLE READ on PostgreSQL, one
    read transaction on SQLite): a write committed between two reads is in neither."""
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    page = PageQuery(SimpleNamespace(id=alice.id, is_admin=False))  # type: ignore[arg-type]
    try:
        async with sessions() as reader, sessions() as writer:
            await begin_snapshot(reader)
            before = await log_position(reader)
            writer.add(MemoryLog(user_id=alice.id, content="written meanwhile"))
            await EventLog(3600).append(writer, "memory_log_created", {}, ["memory_logs"])
            await writer.commit()

            assert await log_position(reader) == before
            assert await list_page(reader, MemoryLog, page) == ([], 0)

            await begin_snapshot(reader)  # a new snapshot sees it
            assert await log_position(reader) > before
            assert (await list_page(reader, MemoryLog, page))[1] == 1
    finally:
        await engine.dispose()
