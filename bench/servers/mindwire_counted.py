"""`mindwire serve`, counting the SQL statements it sends, for the bench's `storm` scenario.

    BENCH_QUERY_COUNT_FILE=counts.json python mindwire_counted.py serve --host H --port P

Mindwire exports no query counter, so the bench counts from outside its code: one SQLAlchemy
`before_cursor_execute` listener on every engine of the process (about a microsecond per
statement) tallies the statements, and those that read the event log (`SELECT ... event_log`:
replays, `is_complete_after`, the relay), and the transactions committed (`commit`: on SQLite each
is a `synchronous=FULL` write to disk, one at a time). With `BENCH_QUERY_KINDS=1` it also
tallies each statement's verb and table (`kind:SELECT users`, ...), to see where they go.
A thread writes the tallies to the file every 100 ms (`os.replace`, so a reader never sees
half a file); the orchestrator reads it when the server is idle, before and after the storm.
Everything else is `mindwire serve` as it is.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_READS_EVENT_LOG = re.compile(r"^\s*SELECT\b.*\bevent_log(_rooms)?\b", re.IGNORECASE | re.DOTALL)
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)
_KINDS = os.environ.get("BENCH_QUERY_KINDS") == "1"
counts = {"statements": 0, "event_log_selects": 0, "commits": 0}


@event.listens_for(Engine, "before_cursor_execute")
def _count(*args: Any) -> None:
    statement = args[2]
    counts["statements"] += 1
    if _READS_EVENT_LOG.match(statement):
        counts["event_log_selects"] += 1
    if _KINDS:
        table = _TABLE.search(statement)
        kind = f"kind:{statement.split(None, 1)[0].upper()} {table[1] if table else ''}"
        counts[kind] = counts.get(kind, 0) + 1


@event.listens_for(Engine, "commit")
def _commit(*_args: Any) -> None:
    counts["commits"] += 1


def _publish(path: Path) -> None:
    """Write the tallies every 100 ms (a daemon thread: it ends with the server)."""
    spare = path.with_suffix(".tmp")
    while True:
        spare.write_text(json.dumps(counts))
        os.replace(spare, path)
        time.sleep(0.1)


def main() -> int:
    from src.cli import main as mindwire

    path = Path(os.environ["BENCH_QUERY_COUNT_FILE"])
    threading.Thread(target=_publish, args=(path,), daemon=True).start()
    return mindwire(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
