"""Concurrent hot writes (group-committed on SQLite, `src/core/sqlite_group.py`): each write
and its event commit together or not at all, one refused or failing write costs the others
nothing, and every event is delivered once, in id order."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from src.app.services import AppServices
from src.auth.models import User
from src.core.security import read_access_token
from src.events.log import EventLog
from src.main import create_app
from src.memory_logs.models import MemoryLog
from src.memory_logs.schemas import MemoryLogCreate
from src.memory_logs.service import create_memory_log_grouped
from src.testing.users import TestUser
from tests.events.test_delivery import subscribed

WRITES = 12


async def test_concurrent_writes_with_a_refused_one_each_deliver_once_in_order(
    connect, api, alice: TestUser, bob: TestUser, db_session
) -> None:
    sock = await subscribed(connect, alice, "memory_logs")
    await db_session.execute(update(User).where(User.id == bob.id).values(is_active=False))
    await db_session.commit()

    async def write(user: TestUser, i: int):  # type: ignore[no-untyped-def]
        return await api.post("/api/memory-logs", json={"content": f"c{i}"}, headers=user.headers)

    writers = [write(alice, i) for i in range(WRITES)]
    writers.insert(WRITES // 2, write(bob, -1))  # disabled: refused in the same burst
    answers = await asyncio.gather(*writers)

    refused = answers.pop(WRITES // 2)
    assert refused.status_code == 401
    assert [a.status_code for a in answers] == [201] * WRITES
    created = {a.json()["id"]: a.json() for a in answers}
    events = await sock.wait_for("memory_log_created", count=WRITES)
    ids = [e.meta["event_id"] for e in events]
    assert ids == sorted(set(ids))  # once each, in id order
    assert {e.data["id"]: e.data for e in events} == created
    bobs_rows = select(func.count()).select_from(MemoryLog).where(MemoryLog.user_id == bob.id)
    assert await db_session.scalar(bobs_rows) == 0


async def test_a_write_whose_event_fails_loses_only_itself(services: AppServices) -> None:
    grouped = services.socket_service.grouped
    if grouped is None:
        pytest.skip("group commit is SQLite's (PostgreSQL runs concurrent transactions)")

    def event_for(rooms: tuple[str | None, ...]):  # type: ignore[no-untyped-def]
        return lambda _value: ("notification", {"message": "m"}, rooms)

    good, bad = ("notifications",), ("notifications", None)  # a NULL room: a constraint fails
    statement = select(func.count()).select_from(MemoryLog)  # any statement: a read here
    outcomes = await asyncio.gather(
        services.socket_service.write_with_event(statement, {}, event_for(good)),
        services.socket_service.write_with_event(statement, {}, event_for(bad)),
        services.socket_service.write_with_event(statement, {}, event_for(good)),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], IntegrityError)
    # The first went to the thread alone (the committer was idle); the failing one and the
    # third came meanwhile and share the second group.
    assert grouped.group.commits == 2
    stored = [meta.event_id for _, meta in (outcomes[0], outcomes[2])]  # type: ignore[misc]
    async with services.sessionmaker() as session:
        logged = await EventLog(3600).read_all(session, after=0, limit=100)
    assert [e.meta.event_id for e in logged] == stored  # the failed one's event is not there
    assert all(e.rooms == good for e in logged)


async def test_the_hot_creates_take_the_grouped_path_on_sqlite(settings, alice, admin) -> None:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        grouped = app.other_asgi_app.state.services.socket_service.grouped
        if grouped is None:
            pytest.skip("group commit is SQLite's (PostgreSQL runs concurrent transactions)")
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            posts = [
                ("/api/memory-logs", {"content": "c"}, alice, 201),
                ("/api/mental-notes", {"title": "t", "content": "c"}, alice, 201),
                ("/api/notifications", {"message": "m"}, admin, 202),
                ("/api/notifications", {"message": "m"}, alice, 403),  # checked in the write
            ]
            for url, body, user, status in posts:
                response = await client.post(url, json=body, headers=user.headers)
                assert response.status_code == status, response.text
        assert grouped.group.commits == len(posts)  # each a group of one, one after another


async def test_a_hot_create_is_five_statements(services: AppServices, alice: TestUser) -> None:
    """A group of one: BEGIN, the guarded row, its event, all its rooms in one INSERT, COMMIT
    (statements per write, as SQLite's trace sees them: an `executemany` of the rooms would
    be one per room), none with a RETURNING, and the answer's id is the stored row's."""
    grouped = services.socket_service.grouped
    if grouped is None:
        pytest.skip("group commit is SQLite's (PostgreSQL runs concurrent transactions)")
    claims = read_access_token(alice.token, secret_key=services.settings.secret_key)
    await create_memory_log_grouped(
        services.emitter, holder=claims, data=MemoryLogCreate(content="a")
    )
    assert grouped.group.db is not None
    sent: list[str] = []
    grouped.group.db.set_trace_callback(sent.append)
    log = await create_memory_log_grouped(
        services.emitter, holder=claims, data=MemoryLogCreate(content="b")
    )
    assert log is not None and log.content == "b"
    assert not [s for s in sent if "RETURNING" in s]  # the ids are SQLite's `lastrowid`
    async with services.sessionmaker() as session:
        stored = await session.get(MemoryLog, log.id)
    assert stored is not None and (stored.content, stored.user_id) == ("b", alice.id)
    verbs = [" ".join(s.split()[:3]) for s in sent]
    assert verbs == [
        "BEGIN IMMEDIATE",
        "INSERT INTO memory_logs",
        "INSERT INTO event_log",
        "INSERT INTO event_log_rooms",
        "COMMIT",
    ]
