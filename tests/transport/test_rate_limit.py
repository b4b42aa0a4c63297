"""The socket's token bucket (`src/transport/rate_limit.py`) on a clock the test moves: no sleeping.

The buckets per key (sign-in, registration, writes): tests/auth/test_passwords.py."""

from __future__ import annotations

from src.core.config import parse_rate_limit
from src.transport.rate_limit import TokenBucket
from tests.support import MonotonicClock as Clock


def test_a_socket_may_send_its_burst_then_waits_for_tokens():
    clock = Clock()
    bucket = TokenBucket(parse_rate_limit("4/1s burst 2"), clock=clock)  # a token every 0.25 s
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    clock.now += 0.125
    assert bucket.take() is False  # half a token
    clock.now += 0.125
    assert [bucket.take(), bucket.take()] == [True, False]


def test_an_idle_socket_gets_back_no_more_than_its_burst():
    clock = Clock()
    bucket = TokenBucket(parse_rate_limit("4/1s burst 2"), clock=clock)
    assert [bucket.take() for _ in range(2)] == [True, True]
    clock.now += 3600
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_refused_events_cost_nothing():
    clock = Clock()
    bucket = TokenBucket(parse_rate_limit("4/1s burst 1"), clock=clock)
    assert bucket.take() is True
    assert [bucket.take() for _ in range(100)] == [False] * 100  # a flood while empty
    clock.now += 0.25
    assert bucket.take() is True  # the flood did not push the next token further away
