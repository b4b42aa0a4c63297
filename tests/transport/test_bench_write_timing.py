"""The write-latency harness: writers apart from the subscribers, and writes timed by the server.

The Node write-path peer stands in for a server here (it speaks Mindwire's protocol and is
timed the same way); `bench/servers/mindwire_timed.py`'s ASGI wrapper is driven directly.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.support import free_port

BENCH = Path(__file__).resolve().parents[2] / "bench"
SECRET = "bench-secret-key-that-is-long-enough-for-hs256"

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (BENCH / "node_modules" / "better-sqlite3").is_dir(),
    reason="needs node and bench/node_modules",
)


def _wait_listening(process: subprocess.Popen[bytes]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith(b"listening"), line


def _run_generator(config: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    generator = subprocess.Popen(
        ["node", str(BENCH / "loadgen_writes.js"), json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert generator.stdout is not None and generator.stdin is not None
        ready = json.loads(generator.stdout.readline())
        assert ready["phase"] == "ready", ready
        generator.stdin.write(b"go\n")
        generator.stdin.flush()
        done: dict[str, Any] = json.loads(generator.stdout.readline())
        generator.wait(timeout)
        return done
    finally:
        if generator.poll() is None:
            generator.kill()
            generator.wait()


@needs_node
@pytest.mark.parametrize("apart", [True, False])
def test_writers_apart_every_event_once_in_order_and_timed(tmp_path: Path, apart: bool) -> None:
    """With the writer in its own process (or, to compare, in the subscribers'), every
    subscriber still gets every event once, in order, and the server timed every write."""
    port = free_port()
    timing = tmp_path / "timing.json"
    env = {**os.environ, "BENCH_SECRET": SECRET, "BENCH_TIMING_FILE": str(timing)}
    peer = str(BENCH / "servers" / "node_writes_server.js")
    server = subprocess.Popen(
        ["node", peer, str(port), str(tmp_path / "n.db")],
        env=env,
        stdout=subprocess.PIPE,
    )
    try:
        _wait_listening(server)
        token = jwt.encode({"sub": "1", "exp": int(time.time()) + 600}, SECRET, algorithm="HS256")
        done = _run_generator(
            {
                "url": f"http://127.0.0.1:{port}",
                "route": "notifications",
                "subscribers": 3,
                "writers": 1,
                "events": 20,
                "writerToken": token,
                "tokens": [token],
                "writerApart": apart,
                "stallSeconds": 5,
            }
        )
        assert done["phase"] == "done"
        assert done["writer_apart"] is apart
        assert (done["writes_ok"], done["write_errors"]) == (20, 0)
        assert (done["lost"], done["duplicates"], done["out_of_order"]) == (0, 0, 0)
        assert not done["stalled"]
        assert done["writes_per_s"] > 0 and done["write_p50_ms"] is not None
        server.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + 10
        while not timing.exists():
            assert time.monotonic() < deadline, "no timing file"
            time.sleep(0.05)
        times = json.loads(timing.read_text())
        assert len(times["server_ms"]) == 20
        # The `x-bench-sent` stamp comes only from the writer apart.
        assert len(times["arrival_ms"]) == (20 if apart else 0)
        assert all(0 <= t < 10_000 for t in times["server_ms"] + times["arrival_ms"])
    finally:
        server.terminate()
        server.wait(10)


def _timed_module() -> Any:
    """The wrapper's module, with uvicorn's parser left as it was (importing it patches it)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    sys.path.insert(0, str(BENCH / "servers"))
    try:
        import mindwire_timed
    finally:
        sys.path.remove(str(BENCH / "servers"))
        HttpToolsProtocol.on_message_begin = mindwire_timed._message_begin  # type: ignore[method-assign]
    return mindwire_timed


async def test_mindwire_timed_records_posts_from_first_bytes_to_answer_written() -> None:
    timed = _timed_module()
    timed.server_ms.clear()
    timed.arrival_ms.clear()
    answered: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0.02)
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def send(message: dict[str, Any]) -> None:
        answered.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    wrapped = timed.timed(app)
    began = time.monotonic_ns()
    sent = began - 3_000_000
    scope = {
        "type": "http",
        "method": "POST",
        "headers": [(b"x-bench-sent", str(sent).encode())],
        timed._BEGAN: began,
    }
    await wrapped(scope, receive, send)
    await wrapped({**scope, "method": "GET"}, receive, send)  # not a write: not timed
    assert len(answered) == 4
    assert len(timed.server_ms) == 1 and timed.server_ms[0] >= 20
    assert timed.arrival_ms == [pytest.approx(3.0)]


def test_timing_figures_are_percentiles_of_the_servers_file(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import write_path
    finally:
        sys.path.remove(str(BENCH))
    path = tmp_path / "timing.json"

    class Server:
        def send_signal(self, signum: int) -> None:
            assert signum == signal.SIGUSR2
            times = {"server_ms": [float(i) for i in range(1, 101)], "arrival_ms": [0.5]}
            path.write_text(json.dumps(times))

    figures = write_path._timing(Server(), path)
    assert figures["server_p50_ms"] == 51.0
    assert figures["server_p99_ms"] == 100.0
    assert figures["arrival_p50_ms"] == 0.5
    assert write_path._timing(Server(), None) == {}
