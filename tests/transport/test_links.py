"""`Link` and `websocket_frame` in isolation: corking, ordering, back-pressure, the bound."""

from __future__ import annotations

import asyncio
import logging

import pytest
from websockets.server import ServerProtocol

from src.transport.frames import websocket_frame
from src.transport.hub import FLUSH_PAUSE_MAX, Hub
from src.transport.light_queue import LightQueue
from src.transport.links import Link


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


class FakeProtocol:
    def __init__(self) -> None:
        self.transport = FakeTransport()
        self.writable = asyncio.Event()
        self.writable.set()
        self.close_sent = False
        self.disconnected = False


class FakeSocket:
    sid = "eio-1"
    upgraded = True
    upgrading = False
    closing = False

    def __init__(self) -> None:
        self.queue = LightQueue()


def make_link(limit: int = 1 << 20) -> tuple[Link, FakeProtocol, FakeSocket]:
    """A link past its first write (Engine.IO's OPEN, written at once), nothing written since."""
    protocol, socket = FakeProtocol(), FakeSocket()
    link = Link(Hub(limit), protocol, socket)
    link.write(b"open")
    assert protocol.transport.writes == [b"open"]
    protocol.transport.writes.clear()
    return link, protocol, socket


async def next_pass() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def server_frame(message: str | bytes) -> bytes:
    """What uvicorn's protocol (websockets' `ServerProtocol`) writes for one message."""
    protocol = ServerProtocol()
    protocol.state = protocol.state.__class__.OPEN  # past the handshake
    if isinstance(message, str):
        protocol.send_text(message.encode())
    else:
        protocol.send_binary(message)
    return b"".join(protocol.data_to_send())


@pytest.mark.parametrize(
    "message",
    ['42["notification",{"a":1}]', "4" + "é" * 200, "4" + "x" * 70_000, b"\x01\x02binary"],
    ids=["short", "16-bit length", "64-bit length", "binary"],
)
def test_frames_are_the_bytes_uvicorn_would_write(message: str | bytes) -> None:
    assert websocket_frame(message) == server_frame(message)


async def test_frames_written_in_one_pass_go_out_in_one_write_in_order() -> None:
    link, protocol, _socket = make_link()
    for n in range(3):
        link.write(b"frame%d" % n)
    assert protocol.transport.writes == []  # corked until the end of the pass
    await next_pass()
    assert protocol.transport.writes == [b"frame0frame1frame2"]


async def test_a_connections_first_frame_goes_out_at_once_and_the_next_at_the_flush() -> None:
    """The OPEN is not paced: a burst of handshakes kept thousands of them in their links for
    seconds, and their clients' CONNECTs with them. What follows is corked as before."""
    hub = Hub(1 << 20)
    protocols = [FakeProtocol() for _ in range(3)]
    links = [Link(hub, protocol, FakeSocket()) for protocol in protocols]
    for link in links:
        link.write(b"open")
    assert [protocol.transport.writes for protocol in protocols] == [[b"open"]] * 3
    for link in links:
        link.write(b"a")
        link.write(b"b")
    assert [protocol.transport.writes for protocol in protocols] == [[b"open"]] * 3
    await next_pass()
    assert [protocol.transport.writes for protocol in protocols] == [[b"open", b"ab"]] * 3


async def test_frames_that_follow_a_flush_closely_are_joined_after_a_short_pause() -> None:
    link, protocol, _socket = make_link()
    link.write(b"first")
    await next_pass()
    assert protocol.transport.writes == [b"first"]
    link.write(b"second")  # right after a flush: paced
    await next_pass()
    link.write(b"third")
    assert protocol.transport.writes == [b"first"]
    await asyncio.sleep(FLUSH_PAUSE_MAX + 0.01)
    assert protocol.transport.writes == [b"first", b"secondthird"]
    await asyncio.sleep(FLUSH_PAUSE_MAX + 0.01)
    link.write(b"after a quiet while")  # goes out at the end of the pass again
    await next_pass()
    assert protocol.transport.writes[-1] == b"after a quiet while"


async def test_a_paused_transport_gets_the_frames_in_order_once_it_drains() -> None:
    link, protocol, _socket = make_link()
    protocol.writable.clear()  # the peer reads slowly: uvicorn's pause_writing
    link.write(b"a")
    await next_pass()
    link.write(b"b")
    link.write(b"c")
    await next_pass()
    assert protocol.transport.writes == []
    assert link.buffered == 3
    protocol.writable.set()  # resume_writing
    await asyncio.sleep(FLUSH_PAUSE_MAX + 0.01)
    assert protocol.transport.writes == [b"abc"]
    assert link.buffered == 0


async def test_a_reader_past_the_limit_is_disconnected_not_buffered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    link, protocol, _socket = make_link(limit=100)
    protocol.writable.clear()
    link.write(b"x" * 60)
    await next_pass()
    with caplog.at_level(logging.WARNING, logger="mindwire.events"):
        link.write(b"y" * 60)
    assert protocol.transport.aborted
    assert link.closed and link.buffered == 0
    assert "bytes behind" in caplog.text
    link.write(b"z")  # ignored from now on
    assert link.buffered == 0 and protocol.transport.writes == []


async def test_a_broadcast_goes_direct_only_behind_an_empty_engineio_queue() -> None:
    link, _protocol, socket = make_link()
    assert link.direct()
    socket.queue.put_nowait("a packet the writer task has not taken yet")
    assert not link.direct()
    socket.queue.get_nowait()
    assert link.direct()
    socket.upgrading = True
    assert not link.direct()


async def test_a_broadcast_waits_while_the_writer_task_holds_a_packet_it_took() -> None:
    link, _protocol, socket = make_link()
    taking = asyncio.ensure_future(socket.queue.get())  # the writer task, waiting
    await next_pass()
    socket.queue.put_nowait("a packet")
    assert await taking == "a packet"  # taken, not written yet
    assert not link.direct()
    socket.queue.in_hand = False  # what `DirectWebSocket.send` does as it writes it
    assert link.direct()


async def test_close_writes_what_waits_even_when_paused_then_nothing_more() -> None:
    link, protocol, _socket = make_link()
    protocol.writable.clear()
    link.write(b"last words")
    await next_pass()
    link.close()
    assert protocol.transport.writes == [b"last words"]
    link.write(b"after close")
    await next_pass()
    assert protocol.transport.writes == [b"last words"]


async def test_nothing_is_written_after_the_close_frame() -> None:
    link, protocol, _socket = make_link()
    link.write(b"late")
    protocol.close_sent = True
    await next_pass()
    assert protocol.transport.writes == []


# -- LightQueue: what Engine.IO needs of asyncio.Queue ----------------------------------------


async def test_light_queue_is_fifo_and_wakes_a_waiting_getter() -> None:
    queue = LightQueue()
    assert queue.empty() and queue.qsize() == 0
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    waiter = asyncio.ensure_future(queue.get())
    await next_pass()
    assert not waiter.done()
    await queue.put("a")
    queue.put_nowait("b")
    assert await waiter == "a"
    assert queue.qsize() == 1 and queue.get_nowait() == "b"
    for n in range(1000):
        queue.put_nowait(n)
    assert [queue.get_nowait() for _ in range(1000)] == list(range(1000))
    assert queue.empty()


async def test_light_queue_get_survives_a_timeout_without_losing_an_item() -> None:
    queue = LightQueue()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), 0.01)  # Engine.IO's poll() does this
    first, second = asyncio.ensure_future(queue.get()), asyncio.ensure_future(queue.get())
    await next_pass()
    queue.put_nowait("x")
    first.cancel()  # woken, but cancelled before it ran: the wake-up passes to `second`
    await next_pass()
    assert first.cancelled()
    assert await asyncio.wait_for(second, 1) == "x"


async def test_light_queue_join_waits_for_task_done() -> None:
    queue = LightQueue()
    await asyncio.wait_for(queue.join(), 1)  # nothing unfinished
    queue.put_nowait(None)
    joiner = asyncio.ensure_future(queue.join())
    await next_pass()
    assert not joiner.done()
    queue.get_nowait()
    queue.task_done()
    await asyncio.wait_for(joiner, 1)
    with pytest.raises(ValueError):
        queue.task_done()


async def test_an_idle_reader_and_link_keep_no_list() -> None:
    """What an idle connection holds: its reader's one waiting future, no list around it,
    and no buffer list in its link between writes."""
    link, protocol, socket = make_link()
    assert link.buffer is None
    link.write(b"frame")
    await next_pass()
    assert protocol.transport.writes == [b"frame"] and link.buffer is None
    queue = socket.queue
    waiter = queue.put_waiter()
    assert queue._getters is waiter  # the future alone
    queue.put_nowait("a")
    assert waiter.done() and queue._getters is None and queue.get_nowait() == "a"


async def test_light_queue_skips_a_cancelled_put_waiter_for_the_next_one() -> None:
    queue = LightQueue()
    stale = queue.put_waiter()
    stale.cancel()  # its reader's task was cancelled
    fresh = queue.put_waiter()
    queue.put_nowait("x")
    assert fresh.done() and not fresh.cancelled() and queue.get_nowait() == "x"
    assert queue._getters is None
