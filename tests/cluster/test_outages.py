"""Outages of the database and of Redis: a clear 503 or a delayed event, never a half-done
write, and recovery without a restart. Each test stops its own private server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx
import pytest

from src.cli import migrate
from tests.cluster.private_services import (
    PrivatePostgres,
    PrivateRedis,
    postgres_bin,
    private_postgres,
    private_redis,
)
from tests.support import LiveServer, RecordingClient
from tests.support import TestUser as User


@pytest.fixture
def outage_postgres() -> Iterator[PrivatePostgres]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    with private_postgres() as server:
        migrate(server.url)
        yield server


@pytest.fixture
def outage_redis() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


async def register(http: httpx.AsyncClient) -> dict[str, str]:
    body = {"email": "ada@example.com", "password": "correct-horse-battery"}
    assert (await http.post("/api/auth/register", json=body)).status_code == 201
    token = await http.post(
        "/api/auth/token", data={"username": body["email"], "password": body["password"]}
    )
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def test_a_database_outage_is_a_clear_503_and_heals_by_itself(
    live_server_factory: Callable[..., LiveServer], outage_postgres: PrivatePostgres
) -> None:
    server = live_server_factory(database_url=outage_postgres.url, redis_url=None)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        headers = await register(http)
        assert (
            await http.post("/api/memory-logs", json={"content": "before"}, headers=headers)
        ).status_code == 201

        await asyncio.to_thread(outage_postgres.stop)
        during = await http.post("/api/memory-logs", json={"content": "during"}, headers=headers)
        assert during.status_code == 503
        assert "database is unavailable" in during.json()["detail"]
        assert during.headers["Retry-After"].isdigit()
        ready = await http.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "unavailable"

        await asyncio.to_thread(outage_postgres.start)
        after = await http.post("/api/memory-logs", json={"content": "after"}, headers=headers)
        assert after.status_code == 201
        assert (await http.get("/ready")).status_code == 200
        contents = [
            log["content"]
            for log in (await http.get("/api/memory-logs", headers=headers)).json()["items"]
        ]
        assert sorted(contents) == ["after", "before"]  # the write cut off left nothing behind


async def test_a_redis_outage_delays_events_but_loses_none(
    live_server_factory: Callable[..., LiveServer], outage_redis: PrivateRedis, alice: User
) -> None:
    server = live_server_factory(redis_url=outage_redis.url)
    sock = RecordingClient.create()
    await sock.connect(server.url, alice.token)
    assert (await sock.call("subscribe_event", {"event_type": "memory_logs"}))["ok"]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        await asyncio.to_thread(outage_redis.stop)
        ready = await http.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"] == "unavailable"
        # The write is stored with its event; the event waits for Redis.
        during = await http.post(
            "/api/memory-logs", json={"content": "during"}, headers=alice.headers
        )
        assert during.status_code == 201
        pong = await sock.call("ping", {"timestamp": 1})  # this socket still works
        assert pong["timestamp"] == 1

        await asyncio.to_thread(outage_redis.start)
        [event] = await sock.wait_for("memory_log_created", timeout=20)
        assert event.data == during.json()
        after = await http.post(
            "/api/memory-logs", json={"content": "after"}, headers=alice.headers
        )
        await sock.wait_for("memory_log_created", count=2, timeout=20)
        assert [item.data for item in sock.events("memory_log_created")] == [
            during.json(),
            after.json(),
        ]
        assert (await http.get("/ready")).status_code == 200
    await sock.close()
