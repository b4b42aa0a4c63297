"""`slim_environ`: what a connected socket keeps of its handshake is trimmed, and what every
connection has alike (names, path, host, origin, user agent) is held once, not per
connection; the client's own address, its query string (which may carry a token) and anything
unlike stay its own, and are not left in the table once the connection is gone."""

from __future__ import annotations

from typing import Any

from src.transport import environ as environ_module
from src.transport.environ import SHARED_LENGTH_MAX, SHARED_VALUES_KEPT, shared, slim_environ


def fresh(text: str) -> str:
    """An equal string that is a new object, as each request decodes its own."""
    return "".join(list(text))


def handshake(port: int, query: str = "EIO=4&transport=websocket") -> dict[str, Any]:
    """An environ as Engine.IO's `translate_request` builds it for a WebSocket."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "ws",
        "server": (fresh("127.0.0.1"), 8000),
        "client": (fresh("127.0.0.1"), port),
        "root_path": "",
        "path": fresh("/socket.io/"),
        "raw_path": b"/socket.io/",
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1:8000")],
        "subprotocols": [],
        "state": {},
    }
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": fresh("/socket.io/"),
        "QUERY_STRING": fresh(query),
        fresh("HTTP_HOST"): fresh("127.0.0.1:8000"),
        fresh("HTTP_ORIGIN"): fresh("http://127.0.0.1:8000"),
        fresh("HTTP_USER_AGENT"): fresh("node"),
        fresh("HTTP_SEC_WEBSOCKET_KEY"): fresh("dGhlIHNhbXBsZSBub25jZQ=="),
        "wsgi.url_scheme": "http",
        "asgi.scope": scope,
    }


def test_what_connections_have_alike_is_held_once(monkeypatch: Any) -> None:
    # The table as a process starts: what other tests' connections left is no concern here.
    monkeypatch.setattr(environ_module, "_shared", {})
    first, second = handshake(50001), handshake(50002)
    slim_environ(first)
    slim_environ(second)
    assert first.keys() == second.keys() == {
        "PATH_INFO", "QUERY_STRING", "HTTP_HOST", "HTTP_ORIGIN", "HTTP_USER_AGENT",
        "wsgi.url_scheme", "asgi.scope",
    }  # fmt: skip
    # A query string of Engine.IO's own parameters alone is one constant, kept in no table.
    for key in ("PATH_INFO", "QUERY_STRING", "HTTP_HOST", "HTTP_ORIGIN", "HTTP_USER_AGENT"):
        assert first[key] == second[key] and first[key] is second[key]
    assert first["QUERY_STRING"] not in environ_module._shared
    keys = {id(key) for key in first} & {id(key) for key in second}
    assert len(keys) == len(first)  # the names too
    one, two = first["asgi.scope"], second["asgi.scope"]
    for key in ("asgi", "server", "path", "query_string"):
        assert one[key] == two[key] and one[key] is two[key]
    assert one["client"] == ("127.0.0.1", 50001) and two["client"] == ("127.0.0.1", 50002)
    assert one["headers"] == () and "raw_path" not in one and "state" not in one


def test_a_query_string_with_a_token_or_a_sid_is_kept_by_its_connection_alone(
    monkeypatch: Any,
) -> None:
    """A query string can carry a token (`io(url, {query: {token}})`) or a polling client's
    `sid`: its connection keeps it, but the table, which outlives connections, never holds it
    (nor the forwarded address); the values alike are still held once."""
    monkeypatch.setattr(environ_module, "_shared", {})
    secret = "eyJhbGciOiJIUzI1NiJ9.secret"
    first = handshake(50001, f"EIO=4&transport=websocket&token={secret}")
    second = handshake(50002, "EIO=4&transport=websocket&sid=Xq3vYn2p0AAAB")
    first["HTTP_X_FORWARDED_FOR"] = fresh("203.0.113.7")
    slim_environ(first)
    slim_environ(second)
    assert first["QUERY_STRING"] == f"EIO=4&transport=websocket&token={secret}"
    assert (
        first["asgi.scope"]["query_string"] == f"EIO=4&transport=websocket&token={secret}".encode()
    )
    assert first["HTTP_X_FORWARDED_FOR"] == "203.0.113.7"
    table = [str(value) for value in environ_module._shared]
    for unkept in (secret, "Xq3vYn2p0AAAB", "203.0.113.7"):
        assert not any(unkept in value for value in table), unkept
    for key in ("PATH_INFO", "HTTP_HOST", "HTTP_ORIGIN", "HTTP_USER_AGENT"):
        assert first[key] is second[key] and first[key] in environ_module._shared
    assert first["asgi.scope"]["path"] is second["asgi.scope"]["path"]


def test_values_unlike_stay_their_own() -> None:
    assert shared(fresh("a")) == "a"
    assert shared(b"x" * 3) == b"xxx"
    assert shared(("h", 1)) == ("h", 1)
    marker = object()
    assert shared(marker) is marker


def test_the_table_is_bounded_and_unique_values_from_clients_do_not_crowd_out_the_common(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(environ_module, "_shared", {})
    for n in range(3 * SHARED_VALUES_KEPT):
        value = f"sid={n}"
        assert shared(value) == value
        assert len(environ_module._shared) <= SHARED_VALUES_KEPT
    # After thousands of unlike values, two connections with the same one still share it.
    common, again = fresh("EIO=4&transport=websocket"), fresh("EIO=4&transport=websocket")
    assert shared(common) is common and shared(again) is common
    long = fresh("x" * (SHARED_LENGTH_MAX + 1))
    monkeypatch.setattr(environ_module, "_shared", {})
    assert shared(long) is long and environ_module._shared == {}
