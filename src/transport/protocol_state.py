"""`share_protocol_state`: what every accepted uvicorn WebSocket connection holds alike, held once.

uvicorn's WebSocket protocol object keeps 45 attributes in its instance dict (1.5 KiB per
connection), though after the handshake half of them are the same for every connection of the
server: its config, app, loop, logger, state and sets, the ping settings, the local address,
and handshake leftovers that are None or a constant from then on. Here those move to a subclass
made once per distinct set of values (the instance's class is swapped for it) and the instance
keeps a dict of what is its own (~0.3 KiB). Reads are unchanged (a missing instance attribute is
looked up on the class); a later write lands on the instance again, as any attribute write does.

Two more leftovers of the handshake go (`settle_accepted`): the ASGI scope's copy of the local
address (the shared one instead), and `websockets`' handshake parser, whose suspended frame holds
the request until the connection ends (a fresh frame parser takes its place, ~0.5 KiB). The
reader restarts the parser the same way each time it goes idle (`restart_parser`), so the last
frame received is not kept either.
"""

from __future__ import annotations

from typing import Any

from websockets.protocol import Protocol
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

SHARED = (
    "config", "app", "loop", "logger", "root_path", "asgi_version", "app_state", "connections",
    "tasks", "ping_interval", "ping_timeout", "close_timeout", "server",
    "scheme", "handshake_initiated", "handshake_complete", "initial_response", "request",
    "response", "pending_ping_payload", "ping_sent_at", "last_ping_rtt", "ping_timer",
    "pong_timer", "default_headers", "close_sent", "disconnected", "close_timer",
)  # fmt: skip
"""Attributes alike on every accepted connection of a server (same object or equal value).
The last three are the connection's own, but keep their first value until it closes (then they
are written on the instance): read from the class, they leave the instance 8 keys (9 once a
message has paused its reading), a dict table half the size of 13 keys' (~0.2 KiB less)."""
MAX_CLASSES = 64
"""Shared-state classes kept for reuse (a process runs one server; the tests, many)."""

_classes: dict[tuple[Any, ...], type] = {}

_last: dict[type, tuple[type, dict[str, Any]]] = {}
"""Per protocol class, the shared-state class it was last given and the values that made it:
a connection like the previous one (nearly every one) takes it after a comparison, without
building and hashing the 29-item key (~17 us, ~60 tuples, per connection)."""

_VALUES = (str, int, float, tuple, type(None))
"""Compared by value (a local address is a new tuple per connection); anything else by identity."""


def settle_accepted(protocol: Any) -> None:
    """What an accepted uvicorn WebSocket protocol keeps of its own, and nothing more."""
    share_protocol_state(protocol)
    scope = getattr(protocol, "scope", None)
    if isinstance(scope, dict) and scope.get("server") == protocol.server:
        scope["server"] = protocol.server  # the class's: one tuple for every connection
    restart_parser(getattr(protocol, "conn", None))


def restart_parser(conn: Any) -> None:
    """`websockets`' parser without the handshake's frame, or the last frame it parsed (its
    generator keeps it in a local until the next one arrives: ~0.2 KiB per idle connection):
    only when it waits between two frames (in `at_eof`, nothing of a frame read yet), so the
    fresh one starts where it is."""
    frames = parser = getattr(conn, "parser", None)
    if getattr(parser, "gi_code", None) is ServerProtocol.parse.__code__:  # the handshake's
        frames = getattr(parser, "gi_yieldfrom", None)
    if getattr(frames, "gi_code", None) is not Protocol.parse.__code__:
        return
    waiting = getattr(frames, "gi_yieldfrom", None)
    if getattr(waiting, "gi_code", None) is not StreamReader.at_eof.__code__ or conn.reader.buffer:
        return
    fresh = Protocol.parse(conn)
    next(fresh)  # to its first `at_eof`, as the one it replaces
    conn.parser = fresh


def share_protocol_state(protocol: Any) -> None:
    """Move `protocol`'s attributes that every accepted connection shares to its class.

    Call once the WebSocket is accepted (handshake leftovers are constant from then on)."""
    own = protocol.__dict__
    base = type(protocol)
    last = _last.get(base)
    if last is not None and _alike(own, last[1]):
        cls, shared = last
    else:
        shared = {name: own[name] for name in SHARED if name in own}
        key = (base, *((name, _identity(value)) for name, value in shared.items()))
        cls = _classes.get(key) or _made(base, key, shared)
        _last[base] = (cls, shared)
    protocol.__class__ = cls
    protocol.__dict__ = {name: value for name, value in own.items() if name not in shared}


def _made(base: type, key: tuple[Any, ...], shared: dict[str, Any]) -> type:
    """A new shared-state class for `base` holding `shared`, kept under `key`."""
    if len(_classes) >= MAX_CLASSES:
        evicted = _classes.pop(next(iter(_classes)))
        for owner, (last, _) in list(_last.items()):
            if last is evicted:
                del _last[owner]
    cls = _classes[key] = type(base.__name__, (base,), {**shared, "__slots__": ()})
    cls.__qualname__ = base.__qualname__
    cls.__module__ = base.__module__
    return cls


def _alike(own: dict[str, Any], shared: dict[str, Any]) -> bool:
    """Whether `own` has the SHARED names `shared` has, with values of the same `_identity`:
    the key `share_protocol_state` would build for it is the one `shared` was made under."""
    found = 0
    for name in SHARED:
        if name not in own:
            continue
        if name not in shared:
            return False
        mine, theirs = own[name], shared[name]
        if mine is not theirs and not (
            type(mine) is type(theirs) and isinstance(mine, _VALUES) and mine == theirs
        ):
            return False
        found += 1
    return found == len(shared)


def _identity(value: Any) -> Any:
    if isinstance(value, _VALUES):
        return (type(value), value)
    return id(value)
