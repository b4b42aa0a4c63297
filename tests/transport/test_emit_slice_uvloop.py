"""Under uvloop (what `mindwire serve` runs) a request waits for few recipients per pass.

uvloop's ready queue cannot be read, so there an emit slice never steps aside (`turns.py`):
each loop pass of a request also hands the event to one slice of a delivery in progress. A
REST write is about ten passes; with 5000 subscribers, 256 recipients a slice made it wait
~1.4 ms of loop CPU in-process (`bench/loop_stretch.py --uvloop --overlap`), 128 (with a
flush slice of 8 links) ~0.7 ms.
Counted here in recipients, not time: a probe of ten passes started with a 5000-recipient
emit sees at most eleven slices of `EMIT_SLICE`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import uvloop

from src.transport.deliveries import EMIT_SLICE, Deliveries, Delivery
from src.transport.hub import FLUSH_SLICE

REQUEST_PASSES = 10
RECIPIENTS = 5000


def test_a_ten_pass_request_meets_at_most_eleven_small_emit_slices_under_uvloop() -> None:
    async def scenario() -> tuple[int, list[str]]:
        handed: list[str] = []

        def send(sid: str, _eio_sid: str) -> Awaitable[None] | None:
            handed.append(sid)
            return None

        sids = [f"s{n}" for n in range(RECIPIENTS)]
        book = Deliveries()
        delivery = asyncio.ensure_future(
            book.run(Delivery(sids, [f"e{n}" for n in range(RECIPIENTS)], send))
        )
        for _ in range(REQUEST_PASSES):  # the request's passes, each beside one slice at most
            await asyncio.sleep(0)
        during = len(handed)
        await delivery  # the rest of the delivery (a barrier: every recipient handed it)
        return during, handed

    during, handed = uvloop.run(scenario())
    assert handed == [f"s{n}" for n in range(RECIPIENTS)]  # each once, in order
    assert during <= (REQUEST_PASSES + 1) * EMIT_SLICE
    # 256 a slice handed ~2,800 recipients during the request (~1.4 ms of its loop time).
    assert during <= 1500


def test_an_emit_slice_hands_out_sixteen_times_the_links_a_flush_slice_writes() -> None:
    """Each pass runs one of each: fewer recipients per emit slice against the same flush
    slice flush links with fewer frames each (5000x50: 3.0-3.6 µs per delivery in the
    server, not 2.6-2.9, and fewer deliveries per client read)."""
    assert EMIT_SLICE >= 16 * FLUSH_SLICE
