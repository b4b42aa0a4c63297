"""`mindwire serve`, timing each REST write inside the server, for the `write-latency` scenarios.

    BENCH_TIMING_FILE=timing.json python mindwire_timed.py serve --host H --port P

A write's latency seen by a client is the server's share plus what the client's side adds
(its own event loop, the kernel). To tell them apart, this wrapper records, for every `POST`:

- *began*: when uvicorn's parser saw the request's first bytes (`on_message_begin`, called
  from `data_received`), on `CLOCK_MONOTONIC`;
- *written*: when the app sent the last body message, which uvicorn writes to the socket at
  once (the answer is in the kernel's buffer then);
- *sent*: the request's `x-bench-sent` header, the writer's `CLOCK_MONOTONIC` in ns when it
  sent the request (`bench/loadgen_writer.js`; one clock for every process of the machine), so
  began - sent is what the request waited before the server's loop read it.

On SIGUSR2 it writes `{"server_ms": [...], "arrival_ms": [...], "app_ms": [...]}` (written -
began; began - sent, where the header came; written - the app's call) to the file (aside,
then renamed). Everything else is `mindwire serve` as it is; Mindwire exports no such
histogram.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

server_ms: list[float] = []
arrival_ms: list[float] = []
app_ms: list[float] = []
"""From the app's call (its task's first step) to the answer written: server_ms minus this is
what the request waited for its task to start."""
_BEGAN = "bench.began_ns"

_message_begin = HttpToolsProtocol.on_message_begin


def _on_message_begin(self: Any) -> None:
    """uvicorn's, then the moment in the request's scope (the app gets that dict)."""
    _message_begin(self)
    self.scope[_BEGAN] = time.monotonic_ns()


HttpToolsProtocol.on_message_begin = _on_message_begin  # type: ignore[method-assign]


def timed(app: Any) -> Any:
    """An ASGI app that records each POST's began -> last body message sent."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        began = scope.get(_BEGAN) if scope["type"] == "http" else None
        if began is None or scope.get("method") != "POST":
            return await app(scope, receive, send)
        sent = _sent_ns(scope)
        called = time.monotonic_ns()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                written = time.monotonic_ns()
                server_ms.append((written - began) / 1e6)
                app_ms.append((written - called) / 1e6)
                if sent is not None:
                    arrival_ms.append((began - sent) / 1e6)

        return await app(scope, receive, timed_send)

    return asgi


def _sent_ns(scope: Any) -> int | None:
    for name, value in scope["headers"]:
        if name == b"x-bench-sent":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _dump(*_: object) -> None:
    path = Path(os.environ["BENCH_TIMING_FILE"])
    spare = path.with_suffix(".tmp")
    spare.write_text(
        json.dumps({"server_ms": server_ms, "arrival_ms": arrival_ms, "app_ms": app_ms})
    )
    os.replace(spare, path)


def main() -> int:
    signal.signal(signal.SIGUSR2, _dump)
    import src.app.served

    create_app = src.app.served.create_app
    # `mindwire serve` has uvicorn import "src.app.served:create_app" by name: it finds this.
    src.app.served.create_app = lambda *args, **kwargs: timed(create_app(*args, **kwargs))
    from src.cli import main as mindwire

    return mindwire(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
