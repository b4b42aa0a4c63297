"""`slim_environ`: what python-socketio keeps of a connected socket's handshake, trimmed."""

from __future__ import annotations

from typing import Any

ENVIRON_KEPT = frozenset(
    {
        "PATH_INFO", "QUERY_STRING", "wsgi.url_scheme", "HTTP_HOST", "HTTP_ORIGIN",
        "HTTP_USER_AGENT", "HTTP_X_FORWARDED_FOR", "asgi.receive", "asgi.send", "asgi.scope",
    }
)  # fmt: skip
"""What `slim_environ` keeps (at most 10 keys: the smallest dict table). Not Engine.IO's
placeholders (`REMOTE_ADDR` 127.0.0.1, `SERVER_NAME` asgi, the ports 0: the scope has the
addresses), nor `REQUEST_METHOD` (a GET) and `HTTP_X_FORWARDED_PROTO` (in the scope's
scheme); the `asgi.*` entries stay for whoever reads the environ."""
SCOPE_KEPT = frozenset(
    {
        "type", "asgi", "http_version", "scheme", "server", "client", "root_path", "path",
        "query_string", "headers",
    }
)  # fmt: skip
"""What a WebSocket's ASGI scope keeps (at most 10 keys: the smallest dict table): its raw
path, subprotocols, the copy of the lifespan state and the extensions are read by nobody
once the connection is accepted."""
ENVIRON_SHARED = frozenset(
    {"PATH_INFO", "wsgi.url_scheme", "HTTP_HOST", "HTTP_ORIGIN", "HTTP_USER_AGENT"}
)
"""The kept environ values held in `shared`'s table: those alike across connections. Never the
query string (a client may put its token there, a polling client's has its `sid`) nor the
forwarded address: a value in the table outlives its connection until the table starts again,
and values unlike for each connection only churn it."""
SCOPE_SHARED = frozenset({"type", "http_version", "scheme", "server", "root_path", "path"})
"""Likewise of the kept scope: not its `query_string`, nor the client's own address."""
_PLAIN_QUERIES: dict[Any, Any] = {
    query: query
    for text in ("EIO=4&transport=websocket", "EIO=4&transport=polling")
    for query in (text, text.encode())
}
"""Query strings with nothing but Engine.IO's own parameters, as most clients send them: a
connection's equal one is swapped for this constant (`_own_query`), so it costs no copy per
connection, while no query string from a client is ever held beyond its connection."""


SHARED_VALUES_KEPT = 256
"""Distinct values `shared` holds at a time; when the table is full it starts again."""
SHARED_LENGTH_MAX = 256
"""Longer strings and bytes are not shared (the table stays under ~100 KiB)."""
_shared: dict[Any, Any] = {}


def shared(value: Any) -> Any:
    """An equal value held once for every connection that has it: strings, bytes and tuples.

    Much of what a connection keeps of its handshake is the same text for every client (the
    path, the host, the user agent, the header names), yet each request decodes its own
    copies: ~50-70 B each, per connection, for its whole life. Equal values are handed out
    from a table of our own, at most `SHARED_VALUES_KEPT` of them: when it is full it starts
    again, so unlike values cannot crowd out the common ones for good; what connections took
    before stays shared among them. Only values alike across connections are handed to it
    (`ENVIRON_SHARED`, `SCOPE_SHARED`): a value stays here after its connection closed, so one
    that may carry a secret (a token in a query string) must not. Not `sys.intern`: the
    values come from clients, and from Python 3.12 interned strings are never freed (unique
    values would grow the process).
    """
    kind = type(value)
    if kind is tuple:
        value = tuple(shared(item) for item in value)
    elif kind is not str and kind is not bytes:
        return value
    elif len(value) > SHARED_LENGTH_MAX:
        return value
    known = _shared.get(value)
    if known is not None:
        return known
    if len(_shared) >= SHARED_VALUES_KEPT:
        _shared.clear()
    _shared[value] = value
    return value


def slim_environ(environ: Any) -> None:
    """Shrink a connected socket's WSGI environ in place (~3 KiB per connection).

    python-socketio keeps the handshake's environ for the connection's life (`get_environ`),
    and the ASGI task's frames hold the same dict, so it is trimmed in place rather than
    replaced: the other request headers and the WSGI constants go, and the ASGI scope's raw
    header list (already translated, read by nobody after the handshake) is emptied, and the
    scope itself trimmed to `SCOPE_KEPT` (~0.4 KiB more). The names kept, and the values alike
    across connections (`ENVIRON_SHARED`, `SCOPE_SHARED`), are the ones shared by every
    connection that has the same (`shared`); the query string and addresses stay its own.
    Called once the socket's Socket.IO connect has been accepted: connect handlers see it all.
    """
    if not isinstance(environ, dict):
        return
    kept = {
        shared(key): shared(value) if key in ENVIRON_SHARED else _own_query(key, value)
        for key, value in environ.items()
        if key in ENVIRON_KEPT
    }
    environ.clear()  # frees the table; `update` builds a right-sized one
    environ.update(kept)
    scope = kept.get("asgi.scope")
    if isinstance(scope, dict) and scope.get("type") == "websocket":
        kept_scope = {
            key: _scope_value(key, value) for key, value in scope.items() if key in SCOPE_KEPT
        }
        kept_scope["headers"] = ()  # ASGI: an iterable; one shared empty one
        scope.clear()  # held by uvicorn's protocol and the ASGI call's frames: trimmed in place
        scope.update(kept_scope)


def _scope_value(key: str, value: Any) -> Any:
    """The scope's `value` for `key`, shared where it is alike across connections
    (`SCOPE_SHARED`); the client's address keeps its own (uvicorn's protocol holds the same
    tuple), and the query string too."""
    if key == "asgi" and value == _ASGI:
        return _ASGI  # uvicorn builds one per connection; ASGI applications only read it
    return shared(value) if key in SCOPE_SHARED else _own_query(key, value)


def _own_query(key: str, value: Any) -> Any:
    """`value`, unless it is a query string equal to one of `_PLAIN_QUERIES`: that constant."""
    if key in ("QUERY_STRING", "query_string") and type(value) in (str, bytes):
        return _PLAIN_QUERIES.get(value, value)
    return value


_ASGI = {"version": "3.0", "spec_version": "2.4"}
