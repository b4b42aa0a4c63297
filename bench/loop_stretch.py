"""The longest stretch the event loop spends in one callback while 5,000 sockets get events.

    PYTHONPATH=. .venv/bin/python bench/loop_stretch.py [--sockets 5000] [--events 20]
        [--every-ms 4] [--pause-ms 10] [--flush-slice 64] [--flush-whole 128]
        [--emit-slice 256] [--overlap] [--uvloop]

In-process: the fast path's manager and hub with 5,000 links whose transports write each
flush to a socket pair (one `send()` per write, as uvicorn's transport). Every loop callback is
timed in CPU time of this thread (`time.thread_time`), so other processes on the machine do
not count: the figure is how long a request arriving then would wait for the loop, at most.

A request is many loop passes, not one: with each emit a probe starts that takes
`REQUEST_STEPS` passes in a row (as a request's awaits do), and the loop's CPU time until it
ends is what that request waited (*request ms*). It is the figure under uvloop, which
`mindwire serve` runs and whose callbacks cannot be timed one by one.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import socket
import sys
import time
from typing import Any

import socketio
import uvloop

from src.transport import deliveries
from src.transport.fastpath import memory_manager
from src.transport.hub import FLUSH_PAUSE_MAX, FLUSH_SLICE, FLUSH_WHOLE, Hub
from src.transport.light_queue import LightEvent, LightQueue
from src.transport.links import Link

REQUEST_STEPS = 10
"""Loop passes of the probe request: about those of a REST write (body, parse, the commit's
hand-off to the database thread and back, the answer)."""


async def request_probe(waits: list[float]) -> None:
    started = time.thread_time()
    for _ in range(REQUEST_STEPS):
        await asyncio.sleep(0)
    waits.append(time.thread_time() - started)


class NullTransport:
    """Writes to one end of a socket pair, as asyncio's transport sends at once when it can."""

    def __init__(self) -> None:
        self.sock, self.peer = socket.socketpair()
        self.sock.setblocking(False)

    def write(self, data: bytes) -> None:
        self.sock.send(data)

    def is_closing(self) -> bool:
        return False

    def abort(self) -> None:
        pass


class Protocol:
    def __init__(self) -> None:
        self.transport = NullTransport()
        self.writable = LightEvent(True)
        self.close_sent = False
        self.disconnected = False


class Socket:
    upgraded, upgrading, closing = True, False, False

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.queue = LightQueue()


def timed_callbacks(stretches: list[float]) -> None:
    """Time every loop callback (`Handle._run`) in this thread's CPU time."""
    original = asyncio.events.Handle._run

    def run(handle: Any) -> None:
        started = time.thread_time()
        original(handle)
        stretches.append(time.thread_time() - started)

    asyncio.events.Handle._run = run  # type: ignore[method-assign]


async def main(
    sockets: int,
    events: int,
    every: float,
    pause_ms: float | None,
    flush: tuple[int, int],
    overlap: bool,
) -> None:
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=memory_manager())
    manager = sio.manager
    pause = FLUSH_PAUSE_MAX if pause_ms is None else pause_ms / 1000
    slice_size, whole = flush  # links per pass; flushes of at most `whole` links: one pass
    hub = Hub(1 << 30, pause_max=pause, slice_size=slice_size, whole=whole)
    manager.hub = hub
    for n in range(sockets):
        sid, eio_sid = f"s{n}", f"e{n}"
        manager.rooms.setdefault("/", {})
        manager.basic_enter_room(sid, "/", None, eio_sid=eio_sid)
        manager.basic_enter_room(sid, "/", sid, eio_sid=eio_sid)
        manager.basic_enter_room(sid, "/", "room", eio_sid=eio_sid)
        hub.links[eio_sid] = Link(hub, Protocol(), Socket(eio_sid))
    stretches: list[float] = []
    if not isinstance(asyncio.get_running_loop(), uvloop.Loop):
        timed_callbacks(stretches)
    waits: list[float] = []
    probes = set()
    cpu = time.thread_time()
    emits = set()
    for n in range(events):
        emit = manager.emit("notification", ({"n": n}, {"event_id": n + 1}), "/", room="room")
        if overlap:  # the relay emits in a task of its own: the probe meets the emit's slices
            emits.add(asyncio.ensure_future(emit))
        else:  # the probe starts when the emit has handed the event to every link
            await emit
        probe = asyncio.ensure_future(request_probe(waits))
        probes.add(probe)
        probe.add_done_callback(probes.discard)
        await asyncio.sleep(every)  # 4 ms: about the one writer of write-latency; 0: a burst
    await asyncio.gather(*emits)
    await asyncio.sleep(0.5)
    cpu = time.thread_time() - cpu
    stretches.sort()
    waits.sort()
    callbacks = (
        f"longest callback ms={1000 * stretches[-1]:.2f} "
        f"p99 ms={1000 * stretches[int(0.99 * len(stretches))]:.2f} callbacks={len(stretches)} "
        if stretches
        else ""
    )
    sys.stdout.write(
        f"sockets={sockets} events={events} request ms p50={1000 * waits[len(waits) // 2]:.2f} "
        f"max={1000 * waits[-1]:.2f} {callbacks}cpu ms/event={1000 * cpu / events:.1f} "
        f"µs/delivery={1e6 * cpu / (events * sockets):.2f}\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--every-ms", type=float, default=4.0, help="between emits; 0: a burst")
    parser.add_argument("--pause-ms", type=float, default=None, help="SOCKET_FLUSH_PAUSE_MS")
    parser.add_argument("--flush-slice", type=int, default=FLUSH_SLICE, help="links per pass")
    parser.add_argument(
        "--flush-whole",
        type=int,
        default=FLUSH_WHOLE,
        help="flushes of at most this many links go out in one pass (0: every flush is sliced)",
    )
    parser.add_argument(
        "--emit-slice", type=int, default=deliveries.EMIT_SLICE, help="recipients per pass"
    )
    parser.add_argument("--overlap", action="store_true", help="the probe starts with the emit")
    parser.add_argument("--uvloop", action="store_true", help="callbacks not timed one by one")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    deliveries.EMIT_SLICE = args.emit_slice  # read by `Delivery.run` at each slice
    run = uvloop.run if args.uvloop else asyncio.run
    every = args.every_ms / 1000
    flush = (args.flush_slice, args.flush_whole)
    run(main(args.sockets, args.events, every, args.pause_ms, flush, args.overlap))
