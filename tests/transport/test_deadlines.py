"""`Deadlines` and the `Heartbeat` built on it: many deadlines, one event-loop timer."""

from __future__ import annotations

import asyncio

import engineio
from engineio import async_socket as eio_async_socket
from engineio import packet as eio_packet

from src.transport.deadlines import Deadlines
from src.transport.heartbeat import Heartbeat


async def test_deadlines_fire_each_key_once_in_time_order_and_not_when_cancelled() -> None:
    fired: list[str] = []
    done = asyncio.get_running_loop().create_future()

    def fire(keys: list[str]) -> None:
        fired.extend(keys)
        if "last" in keys:
            done.set_result(None)

    deadlines: Deadlines[str] = Deadlines(fire)
    now = asyncio.get_running_loop().time()
    deadlines.set("late", now + 0.06)
    deadlines.set("early", now + 0.02)
    deadlines.set("cancelled", now + 0.01)
    deadlines.set("moved", now + 0.01)
    deadlines.set("moved", now + 0.04)  # replaces its earlier deadline
    deadlines.set("last", now + 0.08)
    deadlines.cancel("cancelled")
    assert len(deadlines) == 4 and "cancelled" not in deadlines
    await asyncio.wait_for(done, 5)
    assert fired == ["early", "moved", "late", "last"]
    assert len(deadlines) == 0


async def test_deadlines_keep_their_heap_bounded_when_rearmed_over_and_over() -> None:
    deadlines: Deadlines[int] = Deadlines(lambda _: None)
    later = asyncio.get_running_loop().time() + 60
    for round_ in range(50):
        for key in range(10):
            deadlines.set(key, later + round_)
    assert len(deadlines) == 10
    assert len(deadlines._heap) <= 2 * 10 + 64 + 1


def _socket(
    eio: engineio.AsyncServer, heartbeat: Heartbeat, sid: str
) -> eio_async_socket.AsyncSocket:
    socket = eio_async_socket.AsyncSocket(eio, sid)
    eio.sockets[sid] = socket
    heartbeat.adopt(sid)
    return socket


async def test_the_heartbeat_pings_open_sockets_after_the_interval_and_skips_closed_ones() -> None:
    eio = engineio.AsyncServer(async_mode="asgi", ping_interval=0.05, ping_timeout=1)
    heartbeat = Heartbeat(eio)
    closed = _socket(eio, heartbeat, "closed")
    open_ = _socket(eio, heartbeat, "open")
    closed.schedule_ping()  # planned first: its turn comes no later than the open one's
    open_.schedule_ping()
    closed.closed = True
    # As Engine.IO: one ping planned at a time, the next once the pong has come.
    open_.schedule_ping()
    assert len(heartbeat.deadlines) == 2
    pkt = await asyncio.wait_for(open_.queue.get(), 5)
    assert pkt.packet_type == eio_packet.PING
    assert open_.last_ping is not None  # set when sent: the ping timeout counts from here
    assert open_.queue.empty() and closed.queue.empty()
    assert len(heartbeat.deadlines) == 0
    await open_.receive(eio_packet.Packet(eio_packet.PONG))
    assert open_ in heartbeat.deadlines and open_.last_ping is None
