"""`HandshakeProtocol`: uvicorn's WebSocket protocol, given its handshake request parsed once.

uvicorn's HTTP protocol parses a request's line and headers (httptools, in C); at a WebSocket
upgrade it writes them back into bytes and feeds them to the WebSocket protocol, whose
`websockets` parser reads them again, a line at a time, in Python generators: per connect,
two parses of the same headers (docs/performance.md, "The upgrade request, parsed once").

Here `HttpToolsDeadlineProtocol` (`slow_http.py`) hands the parsed request over instead
(`take_request`), and `websockets` builds its `Request` from it. What decides stays where it
was: `websockets`' `accept` checks the handshake (method, protocol, `Connection`, `Upgrade`,
key, version) and answers it, uvicorn builds the scope and runs the app. Only a request its
parser would read exactly as httptools did takes this way (`parsed_request`); any other
(a header `websockets` refuses or reads differently, too many or too long ones, a body,
HTTP/1.0, debug logging on) is written back and parsed by `websockets`, as before, so it is
refused as before.

The answer to a handshake of the usual shape (one `Connection: Upgrade`, one `Upgrade: websocket`,
one valid key, version 13, at most one `Origin`, no subprotocol asked, on a server that offers no
extension, subprotocol or origin list) is built here (`QuickServerProtocol.accept`): the response
`websockets` would build, without its general parsers of those headers' grammars (~25 µs per
connect, 3% of a connect burst's CPU). Any other request is checked and answered by `websockets`.

A request `websockets` refuses while parsing it (a body, chunked, too many or too long
headers) is answered here and its connection closed (`data_received`): uvicorn leaves the
refusal `websockets` prepared unsent and the connection open, and the HTTP deadline
(`slow_http.py`) was disarmed at the upgrade, so a client without an account could hold a
connection (a file descriptor) for as long as it liked.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import time
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets import http11
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.protocol import Protocol
from websockets.server import ServerProtocol
from websockets.utils import accept_key

_REQUEST_LINE_EXTRA = len(b"  HTTP/1.1\r\n")
"""A request line's bytes besides its method and target (`websockets` counts the CRLF)."""
_HEADER_LINE_EXTRA = len(b": \r\n")


def parsed_request(
    method: str, target: bytes, headers: list[tuple[bytes, bytes]]
) -> Request | None:
    """The `Request` `websockets`' parser reads from uvicorn's serialization of this request
    (`method target HTTP/1.1`, then `name: value` per header), or None when it might not read
    it so, or would refuse it (`Request.parse` and `parse_headers`, whose limits and patterns
    are read from `websockets` itself)."""
    if method != "GET" or len(headers) > http11.MAX_NUM_HEADERS:
        return None
    if len(method) + len(target) + _REQUEST_LINE_EXTRA > http11.MAX_LINE_LENGTH:
        return None
    if not target.isascii():
        return None
    if b" " in target:  # the request line would split differently
        return None
    token, value_re, limit = http11._token_re, http11._value_re, http11.MAX_LINE_LENGTH
    parsed = Headers()
    for name, value in headers:
        if len(name) + len(value) + _HEADER_LINE_EXTRA > limit or not token.fullmatch(name):
            return None
        if value != value.strip(b" \t") or not value_re.fullmatch(value):
            return None
        parsed.set_insecure(name.decode("ascii"), value.decode("iso-8859-1"))
    if "Transfer-Encoding" in parsed or not set(parsed.get_all("Content-Length")) <= {"0"}:
        return None
    return Request(target.decode("ascii"), parsed, method, "HTTP/1.1")


class QuickServerProtocol(ServerProtocol):
    """`websockets`' server side, answering a handshake of the usual shape itself
    (`quick_accept`)."""

    def accept(self, request: Request) -> Response:
        return quick_accept(self, request) or super().accept(request)


def quick_accept(conn: ServerProtocol, request: Request) -> Response | None:
    """The 101 `conn.accept(request)` would answer, with what it sets on `conn`, for a request of
    the usual shape; None for any other (`accept` then checks and answers it).

    Each header is taken only in the one form whose reading by `websockets`' grammar is known
    (a single token, compared as it compares it); negotiation is skipped only where it has
    nothing to negotiate (no extension, subprotocol, origin list or subprotocol hook here).
    """
    if (
        conn.debug
        or conn.origins is not None
        or conn.available_extensions
        or conn.available_subprotocols
        or "select_subprotocol" in conn.__dict__
        or request.method != "GET"
        or request.protocol != "HTTP/1.1"
    ):
        return None
    get_all = request.headers.get_all
    connection, upgrade = get_all("Connection"), get_all("Upgrade")
    key, version, origin = (
        get_all("Sec-WebSocket-Key"),
        get_all("Sec-WebSocket-Version"),
        get_all("Origin"),
    )
    if (
        len(connection) != 1
        or connection[0].lower() != "upgrade"
        or len(upgrade) != 1
        or upgrade[0].lower() != "websocket"
        or len(key) != 1
        or version != ["13"]
        or len(origin) > 1
        or get_all("Sec-WebSocket-Protocol")
    ):
        return None
    try:
        if len(base64.b64decode(key[0].encode(), validate=True)) != 16:
            return None
    except (binascii.Error, UnicodeEncodeError):
        return None
    conn.accept_called = True
    conn.origin = origin[0] if origin else None  # type: ignore[assignment]
    conn.extensions = []
    conn.subprotocol = None
    headers = Headers()
    headers["Date"] = _http_date()
    headers["Upgrade"] = "websocket"
    headers["Connection"] = "Upgrade"
    headers["Sec-WebSocket-Accept"] = accept_key(key[0])
    return Response(101, "Switching Protocols", headers)


_date = (0, "")


def _http_date() -> str:
    """`email.utils.formatdate(usegmt=True)`, formatted once a second (uvicorn replaces it
    with its own `date` header anyway)."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, email.utils.formatdate(now, usegmt=True))
    return _date[1]


class HandshakeProtocol(WebSocketsSansIOProtocol):
    """uvicorn's `websockets-sansio` protocol (the `ws=` option, `src/app/serving.py`) that
    can take its handshake request already parsed (`take_request`) and answers a handshake of
    the usual shape itself (`QuickServerProtocol`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if type(self.conn) is ServerProtocol:
            self.conn.__class__ = QuickServerProtocol

    def take_request(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        """Handle the upgrade request httptools parsed, as `data_received` handles its bytes."""
        conn = self.conn
        request = None if conn.debug else parsed_request(method, target, headers)
        if request is None:
            self.data_received(serialized(method, target, headers))
            return
        # Where `ServerProtocol.parse` goes once it has read a request: the frames' parser.
        conn.parser = Protocol.parse(conn)
        next(conn.parser)
        self.handle_connect(request)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        refused = self.conn.handshake_exc
        if not self.handshake_initiated and refused is not None:
            self.refuse_unparsed(refused)

    def refuse_unparsed(self, refused: Exception) -> None:
        """Send the refusal `websockets` prepared for a request it could not parse (or, where
        it prepared none, a 400 saying so), and close the connection."""
        conn = self.conn
        answer = b"".join(conn.data_to_send())
        if not answer:  # `websockets` only closes after "did not receive a valid HTTP request"
            why = f"{refused}; {refused.__cause__}"
            reason = f"Failed to open a WebSocket connection: {why}.\n"
            answer = conn.reject(HTTPStatus.BAD_REQUEST, reason).serialize()
        self.handshake_initiated = self.handshake_complete = self.close_sent = True
        self.transport.write(answer)
        self.transport.close()


def serialized(method: str, target: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The request as uvicorn's `handle_websocket_upgrade` writes it back."""
    output = [method.encode(), b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        output += [name, b": ", value, b"\r\n"]
    output.append(b"\r\n")
    return b"".join(output)


def takes_requests(protocol: Any) -> bool:
    """Whether uvicorn's WebSocket protocol class `protocol` is one to hand requests to."""
    return isinstance(protocol, type) and issubclass(protocol, HandshakeProtocol)
