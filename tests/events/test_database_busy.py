"""No free database connection in time (a reconnect storm): a subscription is answered
`unavailable` and the socket stays up; a connect is refused with a `connect_error`, never
closed unanswered, even when answering takes longer than `SOCKET_CONNECT_TIMEOUT_SECONDS`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from src.core.outages import RETRY_AFTER_SECONDS

POOL_TIMEOUT = 1.0
BUSY = {
    "database_pool_size": 1,
    "database_max_overflow": 0,
    "database_pool_timeout_seconds": POOL_TIMEOUT,
}


@contextlib.asynccontextmanager
async def pool_taken(server: Any) -> AsyncIterator[None]:
    """Hold the server's only pooled connection until the block ends."""
    engine = server.services.engine
    held, release = await server.run_on_server(_events())

    async def hold() -> None:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
            held.set()
            await release.wait()

    holder = asyncio.ensure_future(server.run_on_server(hold()))
    try:
        await server.run_on_server(held.wait())
        yield
    finally:
        await server.run_on_server(_set(release))
        await holder


async def _events() -> tuple[asyncio.Event, asyncio.Event]:
    return asyncio.Event(), asyncio.Event()  # made on the server's loop, for it


async def _set(event: asyncio.Event) -> None:
    event.set()


async def test_a_subscription_without_a_free_connection_is_told_to_retry(
    live_server_factory, connect, alice
):
    server = live_server_factory(**BUSY)
    sock = await connect(alice, url=server.url)
    async with asyncio.timeout(30):
        async with pool_taken(server):
            ack = await sock.call("subscribe_event", {"event_type": "notifications", "since": 0})
            assert ack["ok"] is False
            assert ack["error"]["code"] == "unavailable"
            error = await sock.wait_for("error")
            assert error[0].data["details"] == {"retry_after": RETRY_AFTER_SECONDS}
            assert (await sock.call("ping", {"timestamp": 1}))["timestamp"] == 1  # still up
        again = await sock.call("subscribe_event", {"event_type": "notifications", "since": 0})
        assert again["ok"] is True


async def test_a_connect_without_a_free_connection_gets_connect_error(live_server_factory, alice):
    # The CONNECT waits for the pool longer than the CONNECT timeout: it is answered anyway.
    server = live_server_factory(**BUSY, socket_connect_timeout_seconds=POOL_TIMEOUT / 4)
    client = socketio.AsyncClient(reconnection=False)
    refusals: list[Any] = []
    client.on("connect_error", refusals.append)
    async with asyncio.timeout(30), pool_taken(server):
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                server.url, auth={"token": alice.token}, transports=["websocket"], wait_timeout=10
            )
    assert refusals == [{"message": "service unavailable"}]
    await client.disconnect()
