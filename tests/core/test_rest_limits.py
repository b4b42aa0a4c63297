"""REST under attack from outside: huge bodies, text JSON accepts but UTF-8 cannot carry, a
flood that empties the database pool, and writes that race a delete. The server never answers
500 and never holds more than MAX_REQUEST_BODY_BYTES of a request body; the figures are
reported in pytest's summary.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from src.core.outages import BUSY
from tests.hostile import ServerProcess, median_ms, report, server_errors
from tests.support import RecordingClient

if TYPE_CHECKING:
    from tests.support import TestUser

MiB = 1024 * 1024

# -- request bodies -------------------------------------------------------------------------------

ATTACK_BYTES = 100 * MiB
ATTACKERS = 4


def reset_peak_rss(server: ServerProcess) -> None:
    """Start the peak over (start-up peaks ~50 MiB above the idle server's RSS)."""
    assert server.process is not None
    Path(f"/proc/{server.process.pid}/clear_refs").write_text("5")


def peak_rss_mib(server: ServerProcess) -> float:
    """The server process's peak resident memory since `reset_peak_rss` (VmHWM), in MiB."""
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def huge_registration(size: int) -> bytes:
    """A registration whose email is `size` bytes of `a`: valid JSON, invalid input."""
    head, tail = b'{"email": "', b'", "password": "correct-horse-battery"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


async def chunks(body: bytes, size: int = MiB) -> AsyncIterator[bytes]:
    """`body` sent chunked (no Content-Length): the server only learns its size by reading."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


ATTACKER = textwrap.dedent(
    """
    import asyncio, json, sys
    import httpx

    async def send(url, body, chunked):
        async def chunks():
            for start in range(0, len(body), 1 << 20):
                yield body[start : start + (1 << 20)]

        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            try:
                response = await http.post(
                    "/api/auth/register",
                    content=chunks() if chunked else body,
                    headers={"Content-Type": "application/json"},
                )
            except httpx.HTTPError as exc:
                return [type(exc).__name__, 0]
            return [response.status_code, len(response.content)]

    async def main(url, size, attackers):
        head, tail = b'{"email": "', b'", "password": "correct-horse-battery"}'
        body = head + b"a" * (size - len(head) - len(tail)) + tail
        print("ready", flush=True)
        answers = await asyncio.gather(*[send(url, body, n % 2 == 1) for n in range(attackers)])
        print(json.dumps(answers), flush=True)

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
    """
)


async def test_huge_bodies_are_refused_before_they_are_read(server_process, alice, stack):
    """The attack runs in a process of its own, so the ping times are the server's."""
    server = server_process()
    victim = RecordingClient.create()
    await victim.connect(server.url, alice.token)
    await victim.wait_for("connection_established")
    await victim.call("ping", {"timestamp": -1})
    baseline = server.rss_mib()
    reset_peak_rss(server)

    attacker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        ATTACKER,
        server.url,
        str(ATTACK_BYTES),
        str(ATTACKERS),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert attacker.stdout is not None
    assert (await asyncio.wait_for(attacker.stdout.readline(), 30)).strip() == b"ready"
    started = time.perf_counter()
    finished = asyncio.ensure_future(attacker.communicate())
    pings: list[float] = []
    while not finished.done() and time.perf_counter() - started < 120:
        sent = time.perf_counter()
        await victim.call("ping", {"timestamp": len(pings)}, timeout=60)
        pings.append(time.perf_counter() - sent)
        await asyncio.sleep(0.05)
    output, errors = await asyncio.wait_for(finished, 120)
    assert attacker.returncode == 0, errors.decode()
    answers = json.loads(output.decode().strip().splitlines()[-1])
    elapsed = time.perf_counter() - started
    peak = peak_rss_mib(server)
    await victim.close()

    report(
        f"huge bodies ({stack}): {ATTACKERS} x {ATTACK_BYTES // MiB} MiB to register (half "
        f"chunked) in {elapsed:.1f}s: answers {answers}; server RSS {baseline:.0f} MiB before, "
        f"peak {peak:.0f} MiB; another socket's ping max {max(pings) * 1000:.0f} ms (median "
        f"{median_ms(pings):.0f} ms, {len(pings)} pings)"
    )
    assert [status for status, _ in answers] == [413] * ATTACKERS
    assert all(size < 200 for _, size in answers)
    assert peak - baseline < 32, (baseline, peak)  # 4 bodies held whole: over 400
    assert max(pings) < 1.0
    assert "Traceback" not in server.log(), server.log()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_over_the_limit_is_413_with_a_short_detail(live_server_factory, chunked):
    server = live_server_factory(max_request_body_bytes=4096)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        fits = await http.post("/api/auth/register", content=huge_registration(4096))
        assert fits.status_code == 422  # at the limit: read and validated
        body = huge_registration(4097)
        response = await http.post(
            "/api/auth/register",
            content=chunks(body, 1000) if chunked else body,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 413
        assert response.json() == {
            "detail": "the request body is larger than MAX_REQUEST_BODY_BYTES (4096 bytes)"
        }
        # The sign-in form is a body too.
        form = {"username": "a" * 5000, "password": "x"}
        assert (await http.post("/api/auth/token", data=form)).status_code == 413
        assert (await http.get("/health")).status_code == 200


async def test_the_default_limit_fits_the_largest_valid_write(api, alice):
    """The largest note, every character escaped as `\\uXXXX` (6 bytes each): 1 MiB is ample."""
    note = {"title": "\u00e9" * 200, "content": "\u00e9" * 10000}
    body = json.dumps(note, ensure_ascii=True).encode()
    assert len(body) > 60_000
    response = await api.post(
        "/api/mental-notes",
        content=body,
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["content"] == note["content"]


async def test_a_422_never_echoes_a_large_input(api):
    big = "a" * 400_000  # 800 kB in all: under the 1 MiB limit
    response = await api.post("/api/auth/register", json={"email": big, "password": big})
    assert response.status_code == 422
    report(f"422 on a {len(response.request.content) // 1000} kB body: {len(response.content)} B")
    assert len(response.content) < 2000, len(response.content)
    errors = response.json()["detail"]
    assert {tuple(error["loc"]) for error in errors} == {("body", "email"), ("body", "password")}
    assert all(len(error.get("input", "")) <= 100 for error in errors)
    # A body that is not an object is named by its kind, never echoed whole.
    response = await api.post("/api/auth/register", json=[big])
    assert response.status_code == 422
    assert len(response.content) < 2000
    assert response.json()["detail"][0]["input"] == "<list>"


# -- text that JSON accepts and UTF-8 cannot carry ----------------------------------------------

LONE = '"\\ud800"'
"""A lone surrogate as JSON text: `json.loads` accepts it; it is not encodable as UTF-8."""


def _json_bodies(openapi: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """Every operation that reads a JSON object: (method, path, its properties)."""
    schemas = openapi["components"]["schemas"]
    found = []
    for path, methods in openapi["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            ref = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            found.append((method.upper(), path, list(schemas[ref]["properties"])))
    return found


def _valid_text(name: str) -> str:
    return {"email": "x@example.com", "status": "online", "audience": "everyone"}.get(name, "x")


async def test_a_lone_surrogate_anywhere_is_422_never_500(api, alice, admin, stack):
    headers = {**admin.headers, "Content-Type": "application/json"}
    log = (await api.post("/api/memory-logs", json={"content": "x"}, headers=admin.headers)).json()
    note = await api.post(
        "/api/mental-notes", json={"title": "x", "content": "x"}, headers=admin.headers
    )
    ids = {"log_id": log["id"], "note_id": note.json()["id"], "user_id": alice.id}
    operations = _json_bodies((await api.get("/openapi.json")).json())
    assert len(operations) >= 6
    statuses: Counter[int] = Counter()
    with server_errors() as errors:
        for method, path, properties in operations:
            url = path.format(**ids)
            for spoiled in properties:
                fields = [
                    f'"{name}": {LONE if name == spoiled else json.dumps(_valid_text(name))}'
                    for name in properties
                ]
                for body in ("{" + ", ".join(fields) + "}", LONE, '{"\\udfff": 1}'):
                    response = await api.request(method, url, content=body, headers=headers)
                    statuses[response.status_code] += 1
                    assert response.status_code == 422, (method, path, body, response.text)
                    assert response.json()["detail"][0]["type"] == "json_invalid"
        # Raw bytes of a surrogate (CESU-8): `json.loads` of bytes lets those through too.
        raw = b'{"content": "\xed\xa0\x80"}'
        response = await api.post("/api/memory-logs", content=raw, headers=headers)
        statuses[response.status_code] += 1
        assert response.status_code == 422, response.text
        # Registration, without an account.
        body = '{"email": "\\ud800@example.com", "password": "correct-horse-battery"}'
        response = await api.post("/api/auth/register", content=body, headers=headers)
        assert response.status_code == 422, response.text
    report(f"lone surrogates in every JSON field ({stack}): statuses {dict(statuses)}")
    assert errors.records == [], errors.render()


async def test_a_surrogate_pair_is_a_character_and_is_stored(api, alice):
    body = '{"content": "\\ud83d\\ude00 and \\u00e9"}'
    headers = {**alice.headers, "Content-Type": "application/json"}
    created = await api.post("/api/memory-logs", content=body, headers=headers)
    assert created.status_code == 201, created.text
    read = await api.get(f"/api/memory-logs/{created.json()['id']}", headers=alice.headers)
    assert read.json()["content"] == "\U0001f600 and \u00e9"


# -- the database pool --------------------------------------------------------------------------

FLOOD = 300


async def test_an_empty_pool_is_503_with_retry_after_never_500(
    live_server_factory, alice, bob, stack
):
    server = live_server_factory(
        database_pool_size=1, database_max_overflow=0, database_pool_timeout_seconds=0.1
    )
    limits = httpx.Limits(max_connections=FLOOD + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as http:
        params = {"room": f"user_{alice.id}", "limit": 1000}
        started = time.perf_counter()
        with server_errors() as errors:
            answers = await asyncio.gather(
                *[
                    http.get("/api/events", params=params, headers=alice.headers)
                    for _ in range(FLOOD)
                ],
                *[http.get("/api/users/me", headers=bob.headers) for _ in range(10)],
            )
        elapsed = time.perf_counter() - started
        statuses = Counter(answer.status_code for answer in answers)
        bobs = Counter(answer.status_code for answer in answers[FLOOD:])
        report(
            f"pool flood ({stack}): {FLOOD} concurrent GET /api/events?limit=1000 and 10 "
            f"/api/users/me of another user, pool 1 + 0, 0.1 s wait: {dict(statuses)} in "
            f"{elapsed:.1f}s; the other user got {dict(bobs)}"
        )
        assert set(statuses) <= {200, 503}, statuses
        assert statuses[503] > 0  # the flood did empty the pool
        for answer in answers:
            if answer.status_code == 503:
                assert answer.headers["Retry-After"].isdigit()
                assert answer.json() == {"detail": BUSY}
        assert (await http.get("/api/users/me", headers=bob.headers)).status_code == 200
    assert errors.records == [], errors.render()


# -- writes that race a delete ------------------------------------------------------------------

RACERS = 50


async def _race(http: httpx.AsyncClient, user: TestUser, collection: str) -> tuple[Counter, int]:
    """50 DELETEs and 50 PATCHes of one item at once; the statuses and `*_deleted` events."""
    body = {"content": "x"} if collection == "memory-logs" else {"title": "x", "content": "x"}
    created = await http.post(f"/api/{collection}", json=body, headers=user.headers)
    item_id = created.json()["id"]
    url = f"/api/{collection}/{item_id}"
    calls = [http.delete(url, headers=user.headers) for _ in range(RACERS)]
    calls += [http.patch(url, json={"content": "y"}, headers=user.headers) for _ in range(RACERS)]
    random.Random(item_id).shuffle(calls)
    statuses = Counter(answer.status_code for answer in await asyncio.gather(*calls))
    events = await http.get(
        "/api/events", params={"room": f"user_{user.id}", "limit": 1000}, headers=user.headers
    )
    deleted = [
        event
        for event in events.json()["items"]
        if event["event_type"].endswith("_deleted") and event["data"]["id"] == item_id
    ]
    return statuses, len(deleted)


@pytest.mark.parametrize("collection", ["memory-logs", "mental-notes"])
async def test_writes_racing_a_delete_are_404_and_one_delete_is_logged(
    live_server, alice, collection, stack
):
    # No connection kept alive from one round to the next: one idle past uvicorn's
    # keep-alive timeout could be closed just as it is reused (a client-side ReadError).
    limits = httpx.Limits(max_connections=2 * RACERS + 5, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60, limits=limits) as http:
        with server_errors() as errors:
            results = [await _race(http, alice, collection) for _ in range(3)]
    statuses = sum((s for s, _ in results), Counter())
    report(
        f"PATCH and DELETE race ({stack}, {collection}): 3 items x ({RACERS} DELETE + "
        f"{RACERS} PATCH): {dict(statuses)}; *_deleted events per item "
        f"{[n for _, n in results]}"
    )
    assert set(statuses) <= {200, 204, 404}, statuses
    assert statuses[204] == 3  # one delete per item wins
    assert [n for _, n in results] == [1, 1, 1]
    assert errors.records == [], errors.render()
