"""The WebSocket handshake handed over as parsed (`src/transport/handshake.py`) answers every
upgrade request as `websockets` parsing it again did: the same scope for the app when it is
accepted, the same refusal when it is not; and a request `websockets` refuses while parsing it,
which uvicorn leaves unanswered and open, gets its refusal and is closed.

Each request goes, over a raw socket, to two uvicorn servers that differ only in the WebSocket
protocol: uvicorn's own `websockets-sansio` (which parses the request again) and
`HandshakeProtocol`, both behind the HTTP protocol with deadlines (`slow_http.py`).
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.http11 import Request
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

from src.transport.handshake import (
    HandshakeProtocol,
    QuickServerProtocol,
    parsed_request,
    quick_accept,
    serialized,
)
from src.transport.slow_http import H11DeadlineProtocol, HttpToolsDeadlineProtocol
from tests.support import serving_in_thread

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def upgrade(
    *extra: bytes, method: bytes = b"GET", target: bytes = b"/socket.io/?EIO=4", **fields: bytes
) -> bytes:
    """An upgrade request: the usual handshake headers (each overridable by keyword, `b""`
    leaves one out), then `extra` header lines, and no body."""
    headers = {
        "Host": b"127.0.0.1",
        "Upgrade": b"websocket",
        "Connection": b"Upgrade",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": b"13",
    }
    headers.update({name.replace("_", "-"): value for name, value in fields.items()})
    lines = [method + b" " + target + b" HTTP/1.1"]
    lines += [name.encode() + b": " + value for name, value in headers.items() if value]
    return b"\r\n".join([*lines, *extra]) + b"\r\n\r\n"


REQUESTS = {
    "plain": upgrade(),
    "more headers": upgrade(b"Origin: http://example.com", b"Cookie: a=b; c=d", b"X-Y: \xe9t\xe9"),
    "repeated header": upgrade(b"X-Forwarded-For: 10.0.0.1", b"X-Forwarded-For: 10.0.0.2"),
    "quoted target": upgrade(target=b"/socket.io/%C3%A9?EIO=4&t=a%20b"),
    "subprotocol": upgrade(b"Sec-WebSocket-Protocol: chat, superchat"),
    "deflate offered": upgrade(b"Sec-WebSocket-Extensions: permessage-deflate"),
    "empty body": upgrade(b"Content-Length: 0"),
    "no key": upgrade(Sec_WebSocket_Key=b""),
    "short key": upgrade(Sec_WebSocket_Key=b"c2hvcnQ="),
    "two keys": upgrade(b"Sec-WebSocket-Key: " + KEY),
    "old version": upgrade(Sec_WebSocket_Version=b"8"),
    "no connection upgrade": upgrade(Connection=b"keep-alive"),
    "post": upgrade(method=b"POST"),
    "http 1.0": upgrade().replace(b"HTTP/1.1", b"HTTP/1.0", 1),
    "lower case tokens": upgrade(Connection=b"upgrade", Upgrade=b"WebSocket"),
    "connection list": upgrade(Connection=b"keep-alive, Upgrade"),
    "two upgrades": upgrade(b"Upgrade: websocket"),
    "upgrade list": upgrade(Upgrade=b"websocket, h2c"),
    "key not base64": upgrade(Sec_WebSocket_Key=b"not base64 at all!!!!!=="),
    "two versions": upgrade(b"Sec-WebSocket-Version: 13"),
    "two origins": upgrade(b"Origin: http://a.example", b"Origin: http://b.example"),
    "bad subprotocol": upgrade(b"Sec-WebSocket-Protocol: ,;"),
}
UNPARSED = {  # refused by `websockets`' parser: the status it (or `refuse_unparsed`) answers
    "body": (upgrade(b"Content-Length: 5") + b"hello", b"400"),
    "chunked": (upgrade(b"Transfer-Encoding: chunked") + b"0\r\n\r\n", b"400"),
    "too many headers": (upgrade(*(b"X-%d: v" % n for n in range(130))), b"431"),
    "long header": (upgrade(b"X-Long: " + b"v" * 9000), b"431"),
    "long target": (upgrade(target=b"/socket.io/?" + b"a" * 9000), b"414"),
}


async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]):
    """Accepts, and answers with the scope it was given (as the text of one message)."""
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    seen = {key: value for key, value in scope.items() if key not in ("client", "server", "state")}
    await send({"type": "websocket.send", "text": repr(sorted(seen.items()))})
    while (await receive())["type"] != "websocket.disconnect":
        pass


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, int]]:
    """The port of a server on each WebSocket protocol."""
    ports: dict[str, int] = {}
    with serving("websockets-sansio", ports), serving(HandshakeProtocol, ports):
        yield ports


@pytest.fixture
def answers(servers: dict[str, int]) -> Callable[[bytes], dict[str, bytes]]:
    def ask(request: bytes) -> dict[str, bytes]:
        return {name: answer(port, request) for name, port in servers.items()}

    return ask


class serving:
    """A uvicorn server with WebSocket protocol `ws`, its port put in `ports`."""

    def __init__(self, ws: Any, ports: dict[str, int], http: Any = HttpToolsDeadlineProtocol):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        ports["handed over" if ws is HandshakeProtocol else "parsed again"] = (
            self.sock.getsockname()[1]
        )
        config = uvicorn.Config(
            app,
            http=functools.partial(http, header_timeout=5, body_timeout=5),
            ws=ws,
            log_level="critical",
            lifespan="off",
            ws_ping_interval=None,
        )
        self.context = serving_in_thread(uvicorn.Server(config), self.sock)

    def __enter__(self) -> None:
        self.context.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.context.__exit__(*exc)


def answer(port: int, request: bytes) -> bytes:
    """What the server sends back until it closes or has sent its first WebSocket frame,
    without the `date` header (different from one answer to the next)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(request)
        received = b""
        while not (b"\r\n\r\n" in received and b"\x81" in received.partition(b"\r\n\r\n")[2]):
            if received.startswith(b"HTTP/1.1 ") and not received.startswith(b"HTTP/1.1 101"):
                if b"\r\n\r\n" in received:
                    break
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return received + b"<still open>"
            if not chunk:
                return received + b"<closed>"
            received += chunk
    lines = received.split(b"\r\n")
    return b"\r\n".join(line for line in lines if not line.lower().startswith(b"date:"))


@pytest.mark.parametrize("name", list(REQUESTS))
def test_each_upgrade_request_is_answered_as_when_parsed_again(answers, name: str) -> None:
    got = answers(REQUESTS[name])
    assert got["handed over"] == got["parsed again"]


def until_closed(port: int, request: bytes) -> bytes:
    """All the server sends back until it closes (`<still open>` after a second of silence)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(request)
        received = b""
        while chunk := _recv(sock):
            received += chunk
        return received + (b"<closed>" if chunk == b"" else b"<still open>")


def _recv(sock: socket.socket) -> bytes | None:
    try:
        return sock.recv(65536)
    except TimeoutError:
        return None


@pytest.mark.parametrize("name", list(UNPARSED))
def test_a_request_websockets_cannot_parse_is_refused_and_closed(servers, name: str) -> None:
    request, status = UNPARSED[name]
    got = until_closed(servers["handed over"], request)
    assert got.startswith(b"HTTP/1.1 " + status + b" "), got[:200]
    assert b"\r\nConnection: close\r\n" in got and got.endswith(b"<closed>"), got[-200:]
    # uvicorn on its own leaves it unanswered and open: the check above is not idle.
    assert until_closed(servers["parsed again"], request) == b"<still open>"


def test_behind_h11_too_a_request_websockets_cannot_parse_is_refused_and_closed() -> None:
    request, status = UNPARSED["body"]
    with serving(HandshakeProtocol, ports := {}, http=H11DeadlineProtocol):
        got = until_closed(ports["handed over"], request)
    assert got.startswith(b"HTTP/1.1 " + status + b" ") and got.endswith(b"<closed>"), got
    assert b"unsupported request body" in got


def test_an_accepted_upgrade_shows_the_app_its_scope() -> None:
    """The comparison above holds something: an accepted connection's answer carries the
    scope, with every header the client sent."""
    with serving(HandshakeProtocol, ports := {}):
        got = answer(ports["handed over"], REQUESTS["more headers"])
    assert got.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"(b'cookie', b'a=b; c=d')" in got
    assert b"(b'x-y', b'\\xe9t\\xe9')" in got
    assert b"('query_string', b'EIO=4')" in got


def reparsed(raw: bytes) -> Request:
    """What `websockets` parses from `raw`."""
    reader = StreamReader()
    reader.feed_data(raw)
    parser = Request.parse(reader.read_line)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("incomplete request")


def test_the_request_handed_over_is_the_one_websockets_parses() -> None:
    headers = [(b"host", b"h"), (b"x-a", b"1"), (b"x-a", b"\xe92"), (b"upgrade", b"websocket")]
    request = parsed_request("GET", b"/p?q=1", headers)
    expected = reparsed(serialized("GET", b"/p?q=1", headers))
    assert request is not None
    assert (request.method, request.path, request.protocol) == (
        expected.method, expected.path, expected.protocol,
    )  # fmt: skip
    assert list(request.headers.raw_items()) == list(expected.headers.raw_items())


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("POST", b"/", []),
        ("GET", b"/a b", []),
        ("GET", "/\u00e9".encode(), []),
        ("GET", b"/" * 9000, []),
        ("GET", b"/", [(b"x", b"v ")]),
        ("GET", b"/", [(b"x y", b"v")]),
        ("GET", b"/", [(b"x", b"a\x00b")]),
        ("GET", b"/", [(b"x", b"v" * 9000)]),
        ("GET", b"/", [(b"x", b"v")] * 129),
        ("GET", b"/", [(b"transfer-encoding", b"chunked")]),
        ("GET", b"/", [(b"content-length", b"1")]),
    ],
)
def test_a_request_websockets_might_read_otherwise_is_left_to_it(
    method: str, target: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    assert parsed_request(method, target, headers) is None


@pytest.mark.parametrize("name", list(REQUESTS))
def test_the_quick_answer_is_the_one_websockets_builds(name: str) -> None:
    """`QuickServerProtocol` answers each request (and sets what the connection keeps of it) as
    `ServerProtocol` does; the requests of the usual shape are answered without its parsers."""
    request = reparsed(REQUESTS[name])
    quick, usual = QuickServerProtocol(), ServerProtocol()
    answers = [conn.accept(request) for conn in (quick, usual)]
    for response in answers:
        if "Date" in response.headers:
            del response.headers["Date"]
    mine, theirs = (response.serialize() for response in answers)
    assert mine == theirs
    kept = ("accept_called", "origin", "extensions", "subprotocol", "state")
    assert [getattr(quick, n, None) for n in kept] == [getattr(usual, n, None) for n in kept]
    assert (quick.handshake_exc is None) == (usual.handshake_exc is None)
    usual_shape = name in ("plain", "more headers", "repeated header", "quoted target",
                           "deflate offered", "empty body", "lower case tokens")  # fmt: skip
    assert (quick_accept(ServerProtocol(), request) is not None) == usual_shape


def test_a_server_with_something_to_negotiate_is_answered_by_websockets() -> None:
    request = reparsed(REQUESTS["plain"])
    assert quick_accept(ServerProtocol(subprotocols=["chat"]), request) is None
    assert quick_accept(ServerProtocol(origins=["http://a.example"]), request) is None
    deflate = ServerProtocol(extensions=[ServerPerMessageDeflateFactory()])
    assert quick_accept(deflate, request) is None
