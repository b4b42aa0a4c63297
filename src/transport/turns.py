"""When a fan-out's next slice runs: after what else the event loop has ready, within bounds.

A request goes through the event loop many times (each database call, each middleware step),
and a fan-out that takes a slice in every pass makes it wait a slice each time: ~1 ms times
dozens of passes. So a slice of a fan-out steps aside while other callbacks are ready to run
(a request's, a socket's), at most `MAX_DEFERRALS` passes in a row: under any load the
fan-out still moves on at least every few passes.

"Other callbacks are ready" is read from the loop's ready queue (`_ready`, CPython's
`BaseEventLoop`); on a loop without one, slices never step aside.
"""

from __future__ import annotations

import asyncio

MAX_DEFERRALS = 4
"""Passes in a row a slice may step aside for other ready work before it runs regardless."""


def others_ready(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether callbacks other than the caller's are waiting to run in this loop."""
    ready = getattr(loop, "_ready", None)
    return bool(ready)


async def next_turn() -> None:
    """Yield the loop once, then again while others are ready (at most `MAX_DEFERRALS`)."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0)
    for _ in range(MAX_DEFERRALS):
        if not others_ready(loop):
            return
        await asyncio.sleep(0)
