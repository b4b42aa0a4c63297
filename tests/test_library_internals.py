"""Every private or undocumented name Mindwire relies on, checked against the installed libraries.

The fan-out fast path (src/transport/fastpath.py, hub.py, links.py, websocket.py), the handshake
(src/transport/handshake.py, slow_http.py), the managers
(src/transport/holding.py and src/transport/redis_manager.py), the packets
(src/transport/packets.py) and the SQLite driver
(src/core/sqlite_driver.py) reach below these libraries' public APIs. pyproject.toml bounds
their versions; when `make lock` moves a bound's library to a release that drops one of these
names, this test fails and says which library, which version and which name, before anything
fails in a less readable way.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import re
import sys
from importlib import metadata

import pytest

# (distribution, module, class or None for the module itself, attribute, where it is used)
INTERNALS: list[tuple[str, str, str | None, str, str]] = [
    # python-engineio: the fast path serves fresh WebSockets with Engine.IO's own socket.
    ("python-engineio", "engineio.async_drivers.asgi", "WebSocket", "handler", "websocket"),
    ("python-engineio", "engineio.async_drivers.asgi", "WebSocket", "asgi_receive", "websocket"),
    ("python-engineio", "engineio.async_drivers.asgi", "WebSocket", "asgi_send", "websocket"),
    ("python-engineio", "engineio.async_drivers.asgi", "WebSocket", "wait", "websocket"),
    ("python-engineio", "engineio.async_drivers.asgi", "WebSocket", "send", "websocket"),
    ("python-engineio", "engineio.async_drivers.asgi", "WebSocket", "close", "websocket"),
    ("python-engineio", "engineio.async_server", "AsyncServer", "_async", "fastpath.install"),
    ("python-engineio", "engineio.async_server", "AsyncServer", "create_queue", "outbox"),
    ("python-engineio", "engineio.base_server", "BaseServer", "max_http_buffer_size", "websocket"),
    ("python-engineio", "engineio.base_server", "BaseServer", "ping_interval", "websocket"),
    ("python-engineio", "engineio.base_server", "BaseServer", "ping_timeout", "websocket"),
    ("python-engineio", "engineio.base_server", "BaseServer", "reason", "websocket"),
    ("python-engineio", "engineio.async_socket", "AsyncSocket", "queue", "websocket"),
    ("python-engineio", "engineio.async_socket", "AsyncSocket", "connected", "websocket"),
    ("python-engineio", "engineio.async_socket", "AsyncSocket", "upgraded", "websocket"),
    ("python-engineio", "engineio.async_socket", "AsyncSocket", "upgrading", "websocket"),
    ("python-engineio", "engineio.async_socket", "AsyncSocket", "closing", "websocket"),
    ("python-engineio", "engineio.async_socket", "AsyncSocket", "receive", "websocket"),
    # python-engineio: the heartbeat pings every socket from one timer (heartbeat.py).
    *[
        ("python-engineio", "engineio.async_socket", "AsyncSocket", name, "heartbeat")
        for name in ("schedule_ping", "last_ping", "send", "closed", "closing")
    ],  # fmt: skip
    ("python-engineio", "engineio.async_server", "AsyncServer", "handlers", "fastpath.install"),
    ("python-engineio", "engineio.async_server", "AsyncServer", "sockets", "heartbeat"),
    ("python-engineio", "engineio.exceptions", None, "UnknownPacketError", "websocket"),
    ("python-engineio", "engineio.exceptions", None, "SocketIsClosedError", "websocket"),
    # python-socketio: the managers and the fan-out write below AsyncServer.emit.
    ("python-socketio", "socketio.async_server", "AsyncServer", "_send_eio_packet", "fastpath"),
    ("python-socketio", "socketio.async_server", "AsyncServer", "packet_class", "gateway"),
    ("python-socketio", "socketio.base_manager", "BaseManager", "rooms", "holding"),
    ("python-socketio", "socketio.base_manager", "BaseManager", "get_participants", "fastpath"),
    # python-socketio and bidict: rooms created before `basic_enter_room` would make them
    # bidicts, read as bidicts (room_maps.ConnectedRoom, NamedRoom; room_index.RoomIndex).
    *[
        ("python-socketio", "socketio.base_manager", "BaseManager", name, "room_index")
        for name in ("basic_enter_room", "is_sid_room", "pre_connect", "sid_from_eio_sid")
    ],  # fmt: skip
    *[
        ("bidict", "bidict", None, name, "room_maps.ConnectedRoom")
        for name in ("ValueDuplicationError", "KeyAndValueDuplicationError")
    ],  # fmt: skip
    (
        "python-socketio",
        "socketio.async_pubsub_manager",
        "AsyncPubSubManager",
        "_publish",
        "redis_manager",
    ),
    (
        "python-socketio",
        "socketio.async_pubsub_manager",
        "AsyncPubSubManager",
        "_handle_emit",
        "redis_manager",
    ),
    (
        "python-socketio",
        "socketio.async_pubsub_manager",
        "AsyncPubSubManager",
        "host_id",
        "redis_manager",
    ),
    (
        "python-socketio",
        "socketio.async_pubsub_manager",
        "AsyncPubSubManager",
        "channel",
        "redis_manager",
    ),
    (
        "python-socketio",
        "socketio.async_pubsub_manager",
        "AsyncPubSubManager",
        "thread",
        "redis_manager",
    ),
    (
        "python-socketio",
        "socketio.async_redis_manager",
        "AsyncRedisManager",
        "_redis_connect",
        "redis_manager",
    ),
    (
        "python-socketio",
        "socketio.async_redis_manager",
        "AsyncRedisManager",
        "redis",
        "redis_manager",
    ),
    (
        "python-socketio",
        "socketio.async_redis_manager",
        "AsyncRedisManager",
        "pubsub",
        "redis_manager",
    ),
    (
        "python-socketio",
        "socketio.async_redis_manager",
        "AsyncRedisManager",
        "connected",
        "redis_manager",
    ),
    ("python-socketio", "socketio.packet", "Packet", "json", "packets.TolerantPacket"),
    ("python-socketio", "socketio.packet", "Packet", "data_is_binary", "redis_manager"),
    ("python-socketio", "socketio.packet", "Packet", "deconstruct_binary", "redis_manager"),
    # uvicorn: a Link writes to the WebSocket protocol's transport itself.
    *[
        (
            "uvicorn",
            "uvicorn.protocols.websockets.websockets_sansio_impl",
            "WebSocketsSansIOProtocol",
            name,
            "links.Link",
        )
        for name in (
            "request",
            "response",
            "queue",
            "writable",
            "transport",
            "close_sent",
            "disconnected",
            "send",
        )
    ],  # fmt: skip
    # uvicorn: the HTTP protocols with header and body deadlines subclass uvicorn's own.
    *[
        ("uvicorn", "uvicorn.protocols.http.httptools_impl", "HttpToolsProtocol", name, "slow_http")
        for name in (
            "on_headers_complete",
            "on_message_complete",
            "on_response_complete",
            "_should_upgrade",
            "parser",
            "pipeline",
            "cycle",
            "flow",
            "loop",
            "transport",
            "server_state",
        )
    ],  # fmt: skip
    *[
        ("uvicorn", "uvicorn.protocols.http.h11_impl", "H11Protocol", name, "slow_http")
        for name in (
            "handle_websocket_upgrade",
            "on_response_complete",
            "conn",
            "cycle",
            "flow",
            "loop",
            "transport",
            "server_state",
        )
    ],  # fmt: skip
    *[
        ("uvicorn", f"uvicorn.protocols.http.{module}", "RequestResponseCycle", name, "slow_http")
        for module in ("httptools_impl", "h11_impl")
        for name in ("response_started", "disconnected", "message_event")
    ],  # fmt: skip
    ("uvicorn", "uvicorn.protocols.http.flow_control", "FlowControl", "read_paused", "slow_http"),
    ("uvicorn", "uvicorn.server", "ServerState", "default_headers", "slow_http"),
    ("uvicorn", "uvicorn.config", "Config", "http_protocol_class", "serving (http=a partial)"),
    # websockets and uvicorn: the upgrade request handed over as parsed, and the refusal of
    # one `websockets` could not parse sent (handshake.HandshakeProtocol).
    *[
        ("websockets", "websockets.http11", None, name, "handshake.parsed_request")
        for name in ("_token_re", "_value_re", "MAX_LINE_LENGTH", "MAX_NUM_HEADERS")
    ],  # fmt: skip
    ("websockets", "websockets.protocol", "Protocol", "parse", "handshake.take_request"),
    *[
        ("websockets", "websockets.server", "ServerProtocol", name, "handshake")
        for name in ("debug", "parser", "handshake_exc", "data_to_send", "reject")
    ],  # fmt: skip
    # websockets: a handshake of the usual shape answered as `accept` would (quick_accept).
    *[
        ("websockets", "websockets.server", "ServerProtocol", name, "handshake.quick_accept")
        for name in (
            "origins",
            "available_extensions",
            "available_subprotocols",
            "accept_called",
            "origin",
            "extensions",
            "subprotocol",
            "accept",
        )
    ],  # fmt: skip
    ("websockets", "websockets.utils", None, "accept_key", "handshake.quick_accept"),
    *[
        (
            "uvicorn",
            "uvicorn.protocols.websockets.websockets_sansio_impl",
            "WebSocketsSansIOProtocol",
            name,
            "handshake.HandshakeProtocol",
        )
        for name in ("conn", "handle_connect", "handshake_initiated", "handshake_complete")
    ],  # fmt: skip
    *[
        ("uvicorn", "uvicorn.protocols.http.httptools_impl", "HttpToolsProtocol", name, "slow_http")
        for name in ("ws_protocol_class", "url", "connections", "app_state", "config", "client")
    ],  # fmt: skip
    # aiosqlite: one trip to the connection's thread per statement.
    ("aiosqlite", "aiosqlite.core", "Connection", "_conn", "sqlite_driver"),
    ("aiosqlite", "aiosqlite.core", "Connection", "_execute", "sqlite_driver"),
    ("aiosqlite", "aiosqlite.core", "Connection", "_thread", "sqlite_driver"),
    # SQLAlchemy: the grouped writes bind their compiled statements' parameters themselves.
    ("sqlalchemy", "sqlalchemy.sql.compiler", "SQLCompiler", "_bind_processors", "grouped_writes"),
    ("sqlalchemy", "sqlalchemy.sql.compiler", "SQLCompiler", "positiontup", "grouped_writes"),
    ("sqlalchemy", "sqlalchemy.sql.compiler", "SQLCompiler", "binds", "grouped_writes"),
]

STDLIB_INTERNALS = [(asyncio.Queue, "_getters"), (asyncio.Event, "_waiters")]
"""Replaced by their light versions only while nothing waits (hub._lighten)."""
STDLIB_INTERNALS.append((asyncio.Lock, "_waiters"))  # sqlite_driver: a free write turn


def _assigned_in_source(cls: type, name: str) -> bool:
    """True when a class in `cls`'s MRO assigns `self.<name>` (an instance attribute)."""
    pattern = re.compile(rf"\bself\.{re.escape(name)}\s*(:[^=]*)?=")
    for klass in cls.__mro__:
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        if pattern.search(source):
            return True
    return False


def _has(module_name: str, class_name: str | None, name: str) -> bool:
    module = importlib.import_module(module_name)
    if class_name is None:
        return hasattr(module, name)
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        return False
    return hasattr(cls, name) or _assigned_in_source(cls, name)


@pytest.mark.parametrize(
    ("distribution", "module", "class_name", "name", "used_by"),
    INTERNALS,
    ids=[f"{d}:{c or m}.{n}" for d, m, c, n, _ in INTERNALS],
)
def test_a_library_internal_mindwire_relies_on_is_still_there(
    distribution: str, module: str, class_name: str | None, name: str, used_by: str
) -> None:
    version = metadata.version(distribution)
    owner = f"{module}.{class_name}" if class_name else module
    assert _has(module, class_name, name), (
        f"{distribution} {version} no longer has {owner}.{name} (used by {used_by}):"
        " keep the previous version in requirements.lock, or adapt Mindwire to the new one"
    )


@pytest.mark.parametrize(("cls", "name"), STDLIB_INTERNALS, ids=lambda v: getattr(v, "__name__", v))
def test_an_asyncio_internal_the_fast_path_reads_is_still_there(cls: type, name: str) -> None:
    assert hasattr(cls(), name), (
        f"Python {sys.version.split()[0]}: asyncio.{cls.__name__} has no {name} "
        "(read by src/transport/hub.py _lighten)"
    )


def test_the_check_itself_fails_for_a_missing_name() -> None:
    assert not _has("engineio.async_socket", "AsyncSocket", "no_such_attribute_anywhere")
    assert not _has("engineio.exceptions", None, "NoSuchError")
