"""Connection State Recovery with the official Node `socket.io-client` (no Mindwire code).

`recover.mjs` holds one socket: `io(url, {auth: {token}})`, one `subscribe_event`, then only
what the client does by itself. Each scenario drops its transport, writes events over REST
while it is away, makes a fault (none, a server restart, the worker killed, retention
passed) and lets it reconnect; the counts (sent, received, missed, repeated) are printed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.support import TestUser, npm_ci

NODE = Path(__file__).parent / "socketio_client"
"""`recover.mjs` and its pinned `socket.io-client` (package.json, package-lock.json)."""
MISSED = 20
"""Events written while the client is away."""


class NodeSocket:
    """The `recover.mjs` process: one command line in, one JSON line out."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def send(self, cmd: str, **args: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        assert line, f"recover.mjs exited during {cmd}"
        answer: dict[str, Any] = json.loads(line)
        assert answer["ok"], (cmd, answer)
        return answer


@pytest_asyncio.fixture
async def node_socket(npm: str) -> AsyncIterator[NodeSocket]:
    npm_ci(NODE, npm)
    node = shutil.which("node")
    assert node is not None
    process = await asyncio.create_subprocess_exec(
        node,
        str(NODE / "recover.mjs"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    socket = NodeSocket(process)
    yield socket
    if process.returncode is None:
        process.kill()
    await process.wait()


async def write_logs(url: str, user: TestUser, count: int, tag: str) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=20) as api:
        ids = []
        for n in range(count):
            body = {"content": f"{tag} {n}"}
            response = await api.post("/api/memory-logs", json=body, headers=user.headers)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        return ids


def counts(sent: list[int], received: list[dict[str, Any]]) -> dict[str, Any]:
    ids = [item["id"] for item in received]
    return {
        "sent": len(sent),
        "received": len(set(ids) & set(sent)),
        "missed": len(set(sent) - set(ids)),
        "repeated": len(ids) - len(set(ids)),
        "in_order": [item["eventId"] for item in received]
        == sorted(item["eventId"] for item in received),
        "offsets_ok": all(item["offset"] == str(item["eventId"]) for item in received),
    }


def report(fault: str, figures: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        sys.stderr.write(f"\n[socket.io-client recovery, {fault}] {figures}\n")


async def away_and_back(
    socket: NodeSocket, url: str, user: TestUser, fault: Any, back_url: str | None = None
) -> tuple[dict[str, Any], list[int]]:
    """Connect, see one event, drop, miss `MISSED` events, `fault()`, reconnect, see one
    more live. Returns the reconnect's answer and every id sent."""
    connected = await socket.send("connect", url=url, token=user.token, rooms=["memory_logs"])
    assert connected["pid"]
    sent = await write_logs(url, user, 1, "seen")
    await socket.send("wait", count=1)
    await socket.send("drop")
    sent += await write_logs(url, user, MISSED, "missed")
    await fault()
    back = await socket.send("reconnect", url=back_url or url)
    return back, sent


async def nothing() -> None:
    return None


async def test_a_dropped_transport_recovers_every_event_once_in_order(
    serve, node_socket, alice, capsys
):
    server = serve()
    back, sent = await away_and_back(node_socket, server.url, alice, nothing)
    assert back["recovered"] is True and back["samePid"] is True
    sent += await write_logs(server.url, alice, 1, "live")  # the room was restored
    received = (await node_socket.send("wait", count=len(sent)))["received"]
    figures = counts(sent, received)
    report("transport dropped", figures, capsys)
    assert figures == {
        "sent": MISSED + 2, "received": MISSED + 2, "missed": 0, "repeated": 0,
        "in_order": True, "offsets_ok": True,
    }  # fmt: skip
    await node_socket.send("leave")


async def test_a_server_restart_between_drop_and_reconnect_loses_nothing(
    stack, serve, node_socket, alice, capsys
):
    if stack != "embedded":
        pytest.skip("the restart is shown on the SQLite file database")
    server = serve()

    async def restart() -> None:
        server.stop()
        server.start()

    back, sent = await away_and_back(node_socket, server.url, alice, restart)
    assert back["recovered"] is True and back["samePid"] is True
    sent += await write_logs(server.url, alice, 1, "live")
    received = (await node_socket.send("wait", count=len(sent)))["received"]
    figures = counts(sent, received)
    report("server restarted", figures, capsys)
    assert figures["missed"] == figures["repeated"] == 0
    assert figures["in_order"] and figures["offsets_ok"]


async def test_a_killed_worker_is_recovered_from_on_the_survivor(
    stack, serve, node_socket, alice, capsys
):
    if stack != "services":
        pytest.skip("two workers share PostgreSQL and Redis")
    doomed, survivor = serve(), serve()

    async def kill() -> None:
        doomed.kill()

    back, sent = await away_and_back(node_socket, doomed.url, alice, kill, survivor.url)
    assert back["recovered"] is True and back["samePid"] is True
    sent += await write_logs(survivor.url, alice, 1, "live")
    received = (await node_socket.send("wait", count=len(sent)))["received"]
    figures = counts(sent, received)
    report("worker killed, resumed on the other", figures, capsys)
    assert figures["missed"] == figures["repeated"] == 0
    assert figures["in_order"] and figures["offsets_ok"]


async def test_an_offset_older_than_retention_is_not_recovered(serve, node_socket, alice, capsys):
    server = serve(EVENT_RETENTION_SECONDS="2")

    async def retention_passes() -> None:
        await asyncio.sleep(2.5)  # time must pass: the missed events leave the window

    back, sent = await away_and_back(node_socket, server.url, alice, retention_passes)
    assert back["recovered"] is False and back["samePid"] is False
    received = (await node_socket.send("wait", count=1))["received"]
    figures = counts(sent, received)
    report("retention passed", figures, capsys)
    assert figures["received"] == 1 and figures["missed"] == MISSED
