"""Socket fuzzing: hypothesis throws random events at a live server through a real client.

One server and one python-socketio client serve every example (a server per example would
be far too slow): hypothesis runs in a worker thread and hands each message to the client's
event loop. For every message the client must get exactly one answer (the handler's reply
event or an `error`, plus the ack when it asked for one; `connect` and `disconnect`
are answered `unknown_event`), the connection must stay up, `ping` must be answered right
after, and the server must log no error. The client only sends well-formed packets: malformed
ones close the connection (tests/transport/test_socket_limits.py).

The case count is fixed and the seed too (`derandomize=True`). `FUZZ_CASES=N` changes the
count; the `slow` test runs `FUZZ_CASES_SLOW` (default 20000). See SOCKET_TESTING_GUIDE.md.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from src.events.schemas import ErrorCode
from tests.hostile import repeatable, report, server_errors

# Hypothesis warns when the global `random` state moves while it draws an example. Here the
# client's aiohttp (in another thread) draws WebSocket masks from it, e.g. for a heartbeat
# pong: a harmless race, not a strategy using `random`.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)

FUZZ_CASES = int(os.environ.get("FUZZ_CASES", "2500"))
FUZZ_CASES_SLOW = int(os.environ.get("FUZZ_CASES_SLOW", "20000"))

KNOWN_EVENTS = ("ping", "subscribe_event", "unsubscribe_event")
RESERVED_EVENTS = ("connect", "disconnect")  # answered `unknown_event`, like any unknown name
REPLIES = {"ping": "pong", "subscribe_event": "subscribed", "unsubscribe_event": "unsubscribed"}
ANSWERS = frozenset({"error", *REPLIES.values()})
ERROR_CODES = frozenset(code.value for code in ErrorCode)
MAX_MESSAGE_BYTES = 65536

# -- strategies ----------------------------------------------------------------------------------


def weighted(*options: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Draw from each strategy in proportion to its weight (`one_of` weighs them alike)."""
    pool = [strategy for weight, strategy in options for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


surrogates = st.characters(categories=["Cs"])
texts = st.one_of(
    st.text(max_size=40),
    st.text(max_size=40),
    st.text(st.one_of(st.characters(), surrogates), max_size=20),
    st.sampled_from(["", "\x00", "a\x00b", "\x00" * 64, "🧠" * 50, "\u202e\ufeff", "null"]),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([0, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**300]),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts, st.binary(max_size=64))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(texts, children, max_size=5),
    ),
    max_leaves=20,
)


def _nest(depth: int, leaf: Any, as_dict: bool) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value} if as_dict else [value]
    return value


deeply_nested = st.builds(_nest, st.integers(50, 800), scalars, st.booleans())
# Around MAX_MESSAGE_BYTES, and far over it (but under the 1 MiB that closes a connection).
oversized = st.one_of(
    st.builds(lambda n: "x" * n, st.integers(MAX_MESSAGE_BYTES - 64, MAX_MESSAGE_BYTES + 64)),
    st.builds(lambda n: {"timestamp": 1, "pad": "y" * n}, st.integers(100_000, 600_000)),
    st.builds(lambda n: b"\x00" * n, st.integers(MAX_MESSAGE_BYTES - 8, 300_000)),
)
valid_rooms = st.sampled_from(["memory_logs", "mental_notes", "notifications", "admin"])
rooms = weighted(
    (6, valid_rooms),
    (2, st.sampled_from(["user_1", "user_2", "user_3", "user_0", "user_-1", "user_01", "USER_1"])),
    (1, st.builds(lambda n: f"user_{n}", st.integers(min_value=-(2**70), max_value=2**70))),
    (1, texts),
    (1, numbers),
    (1, st.none()),
)
since = weighted(
    (3, st.integers(0, 50)),
    (1, st.integers(min_value=0, max_value=2**63)),
    (1, numbers),
    (1, texts),
)
shaped_payloads = st.one_of(
    st.fixed_dictionaries({"timestamp": st.one_of(numbers, texts, st.none(), json_values)}),
    st.fixed_dictionaries({"event_type": rooms}, optional={"since": since, "extra": json_values}),
    st.dictionaries(st.sampled_from(["timestamp", "event_type", "since"]), json_values),
)
payloads = st.one_of(
    shaped_payloads,
    shaped_payloads,
    json_values,
    deeply_nested,
    st.tuples(json_values, json_values),
    oversized,
)
event_names = st.one_of(
    st.sampled_from(KNOWN_EVENTS),
    st.sampled_from(KNOWN_EVENTS),  # twice: most messages go to a real handler
    st.sampled_from(
        [*RESERVED_EVENTS, "", "*", "message", "connect_error", "error", "pong", "__proto__"]
    ),
    texts,
    st.builds(lambda n: "e" * n, st.integers(1000, 70_000)),
)


@dataclass
class Message:
    event: str
    data: Any
    with_ack: bool


acks = st.sampled_from([True, True, True, False])
# Aimed at the handlers (their names, roughly their shapes), and anything at all.
aimed = st.one_of(
    st.builds(
        Message,
        st.just("ping"),
        st.fixed_dictionaries({"timestamp": st.one_of(numbers, json_values)}),
        acks,
    ),
    st.builds(
        Message,
        st.sampled_from(["subscribe_event", "unsubscribe_event"]),
        st.fixed_dictionaries({"event_type": rooms}, optional={"since": since}),
        acks,
    ),
)
messages = weighted((2, aimed), (1, st.builds(Message, event_names, payloads, acks)))


# -- the harness -------------------------------------------------------------------------------


@dataclass
class Stats:
    cases: int = 0
    acked: int = 0
    by_answer: dict[str, int] = field(default_factory=dict)


@dataclass
class Answers:
    """The answers (`error`, `pong`, `subscribed`, `unsubscribed`) a client has received."""

    sock: Any
    items: list[Any] = field(default_factory=list)
    _seen: int = 0

    def refresh(self) -> list[Any]:
        received = self.sock.received
        self.items.extend(r for r in received[self._seen :] if r.event in ANSWERS)
        self._seen = len(received)
        return self.items

    async def wait_for(self, count: int, timeout: float = 5) -> Any:
        """Wait until `count` answers have arrived; returns the last one."""
        deadline = time.monotonic() + timeout
        while len(self.refresh()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} answers, got {self.sock.received[-5:]}")
            await asyncio.sleep(0.001)
        return self.items[-1]


async def send_one(answers: Answers, message: Message, stats: Stats) -> None:
    """Send one message, check its one answer, then check the connection still answers `ping`."""
    sock = answers.sock
    before = len(answers.refresh())
    if message.with_ack:
        ack = await sock.call(message.event, message.data, timeout=5)
        stats.acked += 1
    else:
        await sock.sio.emit(message.event, message.data)
        ack = None
    expected = before + 1
    answer = await answers.wait_for(expected)
    stats.by_answer[_label(answer)] = stats.by_answer.get(_label(answer), 0) + 1
    if message.event in RESERVED_EVENTS:  # never handled: unknown_event, or a size error
        assert answer.event == "error", answer
    if answer.event == "error":
        assert answer.data["code"] in ERROR_CODES, answer.data
        assert isinstance(answer.data["message"], str) and answer.data["message"]
        if message.with_ack:
            assert ack == {
                "ok": False,
                "error": {"code": answer.data["code"], "message": answer.data["message"]},
            }
    else:
        assert answer.event == REPLIES[message.event], (message.event, answer.event)
        if message.with_ack and message.event != "ping":
            assert ack["ok"] is True, ack
        elif message.with_ack:
            assert ack["timestamp"] == answer.data["timestamp"], (ack, answer.data)
    # The connection is up and answers at once; no second answer came for the message.
    token = time.time()
    pong = await sock.call("ping", {"timestamp": token}, timeout=5)
    assert pong["timestamp"] == token, pong
    last = await answers.wait_for(expected + 1)
    assert (last.event, last.data["timestamp"]) == ("pong", token), last
    assert len(answers.items) == expected + 1, answers.items[-3:]
    assert sock.sio.connected
    stats.cases += 1


def _label(answer: Any) -> str:
    return f"error:{answer.data['code']}" if answer.event == "error" else answer.event


async def seed_events(url: str, user: Any) -> None:
    """A few retained events, so that `since` has something to replay."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        for n in range(3):
            body = {"content": f"log {n}"}
            assert (await http.post("/api/memory-logs", json=body, headers=user.headers)).is_success
            body = {"title": f"note {n}"}
            assert (
                await http.post("/api/mental-notes", json=body, headers=user.headers)
            ).is_success


async def run_fuzz(
    live_server_factory: Callable[..., Any],
    connect: Callable[..., Any],
    user: Any,
    cases: int,
    stack: str,
) -> Stats:
    # Up to 40 binary leaves in a message (two `json_values`): within the attachment cap, so
    # that every message is well formed and must be answered (tests/transport/
    # test_socket_limits.py attacks the cap itself).
    server = live_server_factory(socket_rate_limit="1000000/1s", max_attachments_per_message=64)
    await seed_events(server.url, user)
    answers = Answers(await connect(user, url=server.url))
    loop = asyncio.get_running_loop()
    stats = Stats()

    @repeatable(cases)
    @given(message=messages)
    def one_case(message: Message) -> None:
        future = asyncio.run_coroutine_threadsafe(send_one(answers, message, stats), loop)
        future.result(timeout=30)

    started = time.perf_counter()
    with server_errors() as errors:
        await asyncio.to_thread(one_case)
    elapsed = time.perf_counter() - started
    report(
        f"socket fuzz as {'admin' if user.is_admin else 'user'} ({stack}): {stats.cases} cases "
        f"({stats.acked} with ack) in {elapsed:.1f}s; answers "
        f"{dict(sorted(stats.by_answer.items()))}"
    )
    assert errors.records == [], errors.render()
    assert answers.sock.sio.connected
    return stats


async def test_fuzzed_messages_get_an_answer_and_the_socket_survives(
    live_server_factory, connect, alice, stack
):
    stats = await run_fuzz(live_server_factory, connect, alice, FUZZ_CASES, stack)
    assert stats.cases >= FUZZ_CASES * 0.9


@pytest.mark.slow
async def test_long_fuzz(live_server_factory, connect, admin, stack):
    stats = await run_fuzz(live_server_factory, connect, admin, FUZZ_CASES_SLOW, stack)
    assert stats.cases >= FUZZ_CASES_SLOW * 0.9
