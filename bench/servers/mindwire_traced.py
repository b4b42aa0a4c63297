"""`mindwire serve` under tracemalloc, for `bench/memory_per_connection.py`.

    MINDWIRE_TRACE_DIR=DIR python mindwire_traced.py serve --host H --port P

tracemalloc starts before anything of Mindwire is imported, keeping `MINDWIRE_TRACE_FRAMES`
frames per allocation (1 by default: each further frame slows the start-up by seconds), and each
SIGUSR1 runs a full collection, then dumps a snapshot to `DIR/snapshot-K.bin` (K = 1, 2, ...;
written aside, then renamed, so a reader never sees half a file). With `MINDWIRE_TRACE_LATE=1`
tracing starts at the first SIGUSR1 instead (its snapshot is empty): deep call stacks of what
is allocated from then on, without the start-up's cost. Everything else is `mindwire serve` as
it is; the product itself never traces.
"""

from __future__ import annotations

import os
import signal
import sys
import tracemalloc
from pathlib import Path

FRAMES = int(os.environ.get("MINDWIRE_TRACE_FRAMES", "1"))
if os.environ.get("MINDWIRE_TRACE_LATE") != "1":
    tracemalloc.start(FRAMES)

_taken = 0


def _dump(*_: object) -> None:
    """Snapshot the live allocations (after a full collection) into the next numbered file."""
    import gc

    global _taken
    _taken += 1
    gc.collect()
    if not tracemalloc.is_tracing():
        tracemalloc.start(FRAMES)
    folder = Path(os.environ["MINDWIRE_TRACE_DIR"])
    target = folder / f"snapshot-{_taken}.bin"
    spare = folder / f".snapshot-{_taken}.tmp"
    tracemalloc.take_snapshot().dump(str(spare))
    os.replace(spare, target)


def main() -> int:
    signal.signal(signal.SIGUSR1, _dump)
    from src.cli import main as mindwire

    return mindwire(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
