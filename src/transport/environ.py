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


def slim_environ(environ: Any) -> None:
    """Shrink a connected socket's WSGI environ in place (~3 KiB per connection).

    python-socketio keeps the handshake's environ for the connection's life (`get_environ`),
    and the ASGI task's frames hold the same dict, so it is trimmed in place rather than
    replaced: the other request headers and the WSGI constants go, and the ASGI scope's raw
    header list (already translated, read by nobody after the handshake) is emptied, and the
    scope itself trimmed to `SCOPE_KEPT` (~0.4 KiB more).
    Called once the socket's Socket.IO connect has been accepted: connect handlers see it all.
    """
    if not isinstance(environ, dict):
        return
    kept = {key: value for key, value in environ.items() if key in ENVIRON_KEPT}
    environ.clear()  # frees the table; `update` builds a right-sized one
    environ.update(kept)
    scope = kept.get("asgi.scope")
    if isinstance(scope, dict) and scope.get("type") == "websocket":
        kept_scope = {key: value for key, value in scope.items() if key in SCOPE_KEPT}
        kept_scope["headers"] = ()  # ASGI: an iterable; one shared empty one
        scope.clear()  # held by uvicorn's protocol and the ASGI call's frames: trimmed in place
        scope.update(kept_scope)
