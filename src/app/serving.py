"""`uvicorn_options(settings)`: the uvicorn options every way of serving the app uses.

`mindwire serve` and the tests' servers (in a thread or a process) take them from here, so
a limit set here holds wherever the app runs.
"""

from __future__ import annotations

from typing import Any

from src.core.config import Settings
from src.transport.handshake import HandshakeProtocol
from src.transport.slow_http import protocol_factory


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config`.

    `ws`: uvicorn's `websockets-sansio` protocol, taking the upgrade request as httptools
    parsed it rather than parsing it again (`src/transport/handshake.py`).
    `ws_max_size`: uvicorn's default (16 MiB) lets a client stream a frame of up to 16 MiB
    that Engine.IO refuses only once it has all arrived; at the inbound limit, `websockets`
    refuses the frame from its header (close code 1009), before buffering its payload.
    `ws_per_message_deflate`: off, the fast path writes uncompressed frames itself.
    `http`: uvicorn's HTTP/1.1 protocol with deadlines for a request's headers and body
    (`src/transport/slow_http.py`), which uvicorn lacks.
    `ws_ping_interval`: off. Engine.IO's own heartbeat already pings every socket and closes
    one that stays silent for its ping interval plus timeout; uvicorn's WebSocket-level pings
    on top cost each idle connection a timer (~0.5 KiB) and a ping frame every 20 s.
    `proxy_headers`: off in uvicorn; `SocketApp` applies the same rewrite (uvicorn's code, the
    same `FORWARDED_ALLOW_IPS`) without a middleware frame kept per WebSocket
    (`src/transport/forwarded.py`).
    """
    return {
        "http": protocol_factory(settings),
        "ws": HandshakeProtocol,
        "ws_max_size": settings.max_inbound_message_bytes,
        "ws_per_message_deflate": False,
        "ws_ping_interval": None,
        "proxy_headers": False,
    }
