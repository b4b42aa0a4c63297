"""`Deliveries`: emits handed out a slice per pass, one after another, settled on demand."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest

from src.transport import deliveries
from src.transport.deliveries import Deliveries, Delivery


class Recorder:
    """What each recipient was handed, in order (the recipient's link, as it were)."""

    def __init__(self) -> None:
        self.got: dict[str, list[str]] = {}

    def sender(self, event: str) -> deliveries.Send:
        def send(sid: str, _eio_sid: str) -> Awaitable[None] | None:
            self.got.setdefault(sid, []).append(event)
            return None

        return send


def delivery(count: int, send: deliveries.Send) -> Delivery:
    return Delivery([f"s{n}" for n in range(count)], [f"e{n}" for n in range(count)], send)


async def test_deliveries_go_a_slice_per_pass_one_after_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deliveries, "EMIT_SLICE", 2)
    book, seen = Deliveries(), Recorder()
    first = asyncio.ensure_future(book.run(delivery(6, seen.sender("a"))))
    second = asyncio.ensure_future(book.run(delivery(6, seen.sender("b"))))
    await asyncio.sleep(0)
    assert sorted(seen.got) == ["s0", "s1"]  # one slice of the first, none of the second
    await asyncio.gather(first, second)
    assert all(seen.got[f"s{n}"] == ["a", "b"] for n in range(6))
    assert not book.runs


async def test_settle_hands_a_socket_what_is_owed_at_once_and_only_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deliveries, "EMIT_SLICE", 2)
    book, seen = Deliveries(), Recorder()
    first = asyncio.ensure_future(book.run(delivery(6, seen.sender("a"))))
    second = asyncio.ensure_future(book.run(delivery(6, seen.sender("b"))))
    await asyncio.sleep(0)
    assert "s5" not in seen.got
    await book.settle("s5")  # e.g. a replay is about to hold s5
    assert seen.got["s5"] == ["a", "b"]  # both owed events, in their order, before the hold
    await book.settle("s0")  # s0 had "a" already: only "b" is owed
    assert seen.got["s0"] == ["a", "b"]
    await asyncio.gather(first, second)
    assert all(seen.got[f"s{n}"] == ["a", "b"] for n in range(6))  # none twice
