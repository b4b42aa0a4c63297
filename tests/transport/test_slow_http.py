"""Slow HTTP clients (slowloris) against a `mindwire serve` process, over raw sockets.

A client that drips its request line, headers or body must not keep a connection (and a
server file descriptor) past HTTP_HEADER_TIMEOUT_SECONDS / HTTP_BODY_TIMEOUT_SECONDS, while
an innocent client's requests stay fast and keep-alive and WebSocket clients are untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from src.app.serving import uvicorn_options
from tests.hostile import ServerProcess, report
from tests.transport.test_socket_limits import (
    answer_or_close,
    fds_settled,
    open_fds,
    signed_in,
    sockets_closed,
)

ATTACKERS = 50
DRIP_EVERY = 0.5
TIMEOUT = 2
MARGIN = 3  # a timer's expiry and the close reaching the client


@pytest.fixture(params=["httptools", "h11"])
def parser(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The HTTP parser uvicorn uses: httptools (its default), or h11 as where httptools is
    not installed (PyPy), hidden from the server by a module that fails to import."""
    if request.param == "httptools":
        return {}
    hidden = tmp_path / "no-httptools"
    hidden.mkdir()
    (hidden / "httptools.py").write_text("raise ImportError('hidden by the test')\n")
    return {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(hidden), os.environ.get("PYTHONPATH")]))
    }


def loads_httptools(server: ServerProcess) -> bool:
    """Whether the server process has httptools' C parser mapped."""
    assert server.process is not None
    return "httptools" in Path(f"/proc/{server.process.pid}/maps").read_text()


def serve(server_process: Any, parser: dict[str, str], **env: str) -> ServerProcess:
    server: ServerProcess = server_process(**parser, **env)
    assert loads_httptools(server) == (not parser)
    return server


def host_port(server: ServerProcess) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


async def drip(
    server: ServerProcess, head: bytes, drops: bytes, every: float
) -> tuple[float, bytes]:
    """Send `head`, then `drops` one byte every `every` seconds (then nothing) until the
    server closes the connection: the seconds that took and what the server answered."""
    reader, writer = await asyncio.open_connection(*host_port(server))
    started = time.monotonic()
    answer = bytearray()

    async def read_to_eof() -> float:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(4096):
                answer.extend(chunk)
        return time.monotonic() - started

    reading = asyncio.create_task(read_to_eof())
    try:
        with contextlib.suppress(ConnectionError):
            writer.write(head)
            for byte in drops:
                if reading.done():
                    break
                await asyncio.sleep(every)
                writer.write(bytes([byte]))
        async with asyncio.timeout(TIMEOUT + MARGIN + 30):
            held = await reading
        return held, bytes(answer)
    finally:
        reading.cancel()
        writer.close()


@contextlib.asynccontextmanager
async def innocent_client(server: ServerProcess) -> AsyncIterator[list[float]]:
    """`GET /health` every 0.1 s on fresh connections while inside; yields the seconds each
    took (filled in as they come)."""
    times: list[float] = []

    async def ask() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            while True:
                started = time.perf_counter()
                response = await client.get(f"{server.url}/health", headers={"Connection": "close"})
                assert response.status_code == 200
                times.append(time.perf_counter() - started)
                await asyncio.sleep(0.1)

    task = asyncio.create_task(ask())
    try:
        yield times
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def summary(times: list[float]) -> str:
    return (
        f"{len(times)} GET /health median {statistics.median(times) * 1000:.1f} ms, "
        f"max {max(times) * 1000:.1f} ms"
    )


SLOW_HEADERS = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
DRIPPED_HEADER = b"X-Slow: " + b"a" * 200  # 100 s at one byte every 0.5 s


async def test_dripped_headers_are_answered_408_and_closed(server_process, parser, stack):
    server = serve(server_process, parser, HTTP_HEADER_TIMEOUT_SECONDS=str(TIMEOUT))
    baseline = open_fds(server)
    async with innocent_client(server) as times:
        await asyncio.sleep(1)
        calm = list(times)
        attack = [drip(server, SLOW_HEADERS, DRIPPED_HEADER, DRIP_EVERY) for _ in range(ATTACKERS)]
        silent = [drip(server, b"", b"", DRIP_EVERY) for _ in range(10)]  # never send a byte
        results = await asyncio.gather(*attack, *silent)
        during = times[len(calm) :]
    left = await fds_settled(server, baseline)
    held = [seconds for seconds, _ in results]
    answered_408 = sum(answer.startswith(b"HTTP/1.1 408 ") for _, answer in results[:ATTACKERS])
    unanswered = sum(answer == b"" for _, answer in results[ATTACKERS:])
    report(
        f"{ATTACKERS} connections dripping a header byte every {DRIP_EVERY}s + 10 silent "
        f"({stack}, {'h11' if parser else 'httptools'}), "
        f"HTTP_HEADER_TIMEOUT_SECONDS={TIMEOUT}: all closed by the server after "
        f"{min(held):.1f}-{max(held):.1f}s, {answered_408} dripping ones answered 408, "
        f"{unanswered} silent ones closed unanswered, fds left {left:+d}; "
        f"innocent client before: {summary(calm)}; during: {summary(during)}"
    )
    assert max(held) < TIMEOUT + MARGIN
    assert answered_408 == ATTACKERS and unanswered == 10
    assert left <= 5
    assert during and max(during) < 1.0 and statistics.median(during) < 0.1


async def test_a_dripped_body_is_answered_408_and_closed(server_process, parser, stack):
    server = serve(
        server_process,
        parser,
        HTTP_BODY_TIMEOUT_SECONDS=str(TIMEOUT),
        HTTP_HEADER_TIMEOUT_SECONDS="5",
    )
    baseline = open_fds(server)
    head = (
        b"POST /api/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
    )
    async with innocent_client(server) as times:
        await asyncio.sleep(0.5)
        started = len(times)
        results = await asyncio.gather(
            *(drip(server, head, b"u" * 1000, DRIP_EVERY) for _ in range(ATTACKERS))
        )
        during = times[started:]
    left = await fds_settled(server, baseline)
    held = [seconds for seconds, _ in results]
    answered_408 = sum(answer.startswith(b"HTTP/1.1 408 ") for _, answer in results)
    report(
        f"{ATTACKERS} POSTs dripping a body byte every {DRIP_EVERY}s "
        f"({stack}, {'h11' if parser else 'httptools'}), "
        f"HTTP_BODY_TIMEOUT_SECONDS={TIMEOUT}: all closed by the server after "
        f"{min(held):.1f}-{max(held):.1f}s, {answered_408} answered 408, fds left {left:+d}; "
        f"innocent client during: {summary(during)}"
    )
    assert max(held) < TIMEOUT + MARGIN
    assert answered_408 == ATTACKERS
    assert left <= 5
    assert during and max(during) < 1.0
    assert "Traceback" not in server.log() and "ERROR" not in server.log(), server.log()


async def response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The next response on a connection: its status line and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    return head.split(b"\r\n")[0], await reader.readexactly(length)


async def test_keep_alive_requests_are_answered_and_an_idle_one_closed_silently(
    server_process, parser
):
    """Requests on one connection, each sent within the header timeout of the previous
    answer, and one whose headers arrive in pieces within it, are all answered; once idle
    past the timeout, the connection is closed without a word (no 408 that could cross a
    request the client is sending)."""
    server = serve(server_process, parser, HTTP_HEADER_TIMEOUT_SECONDS=str(TIMEOUT))
    reader, writer = await asyncio.open_connection(*host_port(server))
    statuses = []
    try:
        for _ in range(5):
            await asyncio.sleep(TIMEOUT * 0.6)  # 1.2 s apart: 6 s on the connection in all
            writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status, body = await response(reader)
            statuses.append(status)
            assert json.loads(body)
        # Headers in three pieces, within the timeout in all.
        for n, piece in enumerate((b"GET /health HT", b"TP/1.1\r\nHost: 127", b".0.0.1\r\n\r\n")):
            await asyncio.sleep(TIMEOUT / 4 if n else 0)
            writer.write(piece)
        statuses.append((await response(reader))[0])
        idle_from = time.monotonic()
        async with asyncio.timeout(TIMEOUT + MARGIN):
            after_idle = await reader.read()
        idle = time.monotonic() - idle_from
    finally:
        writer.close()
    report(
        f"one keep-alive connection ({'h11' if parser else 'httptools'}), 6 requests over ~7 s "
        f"(header timeout {TIMEOUT}s): {[status.decode() for status in statuses]}; then idle, "
        f"closed after {idle:.1f}s with {len(after_idle)} bytes written"
    )
    assert statuses == [b"HTTP/1.1 200 OK"] * 6
    assert after_idle == b""


async def test_a_websocket_outlives_the_header_timeout(server_process, parser, alice):
    server = serve(
        server_process, parser, HTTP_HEADER_TIMEOUT_SECONDS="1", HTTP_BODY_TIMEOUT_SECONDS="1"
    )
    ws = await signed_in(server, alice.token)
    async with sockets_closed([ws]):
        await asyncio.sleep(3)  # past both timeouts: the upgraded connection stays
        await ws.send('421["ping",{"timestamp":7}]')
        ack = await answer_or_close(ws, "431")
    assert ack is not None and json.loads(ack[3:])[0]["timestamp"] == 7


async def test_a_long_poll_outlives_the_header_timeout(server_process, parser, alice):
    """A request the app holds longer than both timeouts (an Engine.IO long-poll) is
    answered: the deadlines stop once a request has arrived."""
    server = serve(
        server_process, parser, HTTP_HEADER_TIMEOUT_SECONDS="1", HTTP_BODY_TIMEOUT_SECONDS="1"
    )
    base = f"{server.url}/socket.io/?EIO=4&transport=polling"
    async with httpx.AsyncClient(timeout=40) as client:
        opened = (await client.get(base)).text
        assert opened.startswith("0"), opened
        url = f"{base}&sid={json.loads(opened[1:])['sid']}"
        assert (
            await client.post(url, content="40" + json.dumps({"token": alice.token}))
        ).status_code == 200

        async def ping_later() -> float:
            await asyncio.sleep(3)
            assert (
                await client.post(url, content='421["ping",{"timestamp":7}]')
            ).status_code == 200
            return time.monotonic()

        pinging = asyncio.create_task(ping_later())
        longest = 0.0
        while True:
            started = time.monotonic()
            packets = (await client.get(url)).text.split("\x1e")
            longest = max(longest, time.monotonic() - started)
            if acks := [packet for packet in packets if packet.startswith("431")]:
                break
        await pinging
    report(
        f"Engine.IO long-poll ({'h11' if parser else 'httptools'}) held {longest:.1f}s "
        "with header and body timeouts of 1s: answered"
    )
    assert longest > 2
    assert json.loads(acks[0][3:])[0]["timestamp"] == 7


def test_the_protocol_option_reaches_worker_processes(settings):
    """`--workers` hands uvicorn's options to spawned processes by pickling them."""
    settings = settings.model_copy(
        update={"http_header_timeout_seconds": 3.5, "http_body_timeout_seconds": 7.0}
    )
    factory = pickle.loads(pickle.dumps(uvicorn_options(settings)["http"]))
    assert factory.keywords == {"header_timeout": 3.5, "body_timeout": 7.0}
