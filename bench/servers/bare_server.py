"""A bare python-socketio server under uvicorn, speaking the bench's protocol (see node_server.js).

    python bare_server.py PORT

uvicorn's defaults otherwise (permessage-deflate negotiated, uvloop and httptools when
installed): this is "python-socketio out of the box", the baseline Mindwire is compared with.
`BARE_DEFLATE=0` turns per-message deflate off.
"""

from __future__ import annotations

import datetime
import os
import sys
from typing import Any
from urllib.parse import parse_qs

import socketio
import uvicorn

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
next_id = 0


@sio.event
async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:  # noqa: ARG001
    return bool(isinstance(auth, dict) and auth.get("token"))


@sio.on("subscribe_event")
async def subscribe_event(sid: str, data: Any) -> dict[str, Any]:
    room = data.get("event_type") if isinstance(data, dict) else None
    await sio.enter_room(sid, room)
    return {"ok": True, "event_type": room, "replayed": 0, "complete": True}


async def http_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global next_id
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    status, body = 404, b""
    if scope["path"] == "/health":
        status, body = 200, b"ok"
    elif scope["path"] == "/emit" and scope["method"] == "POST":
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        room = query.get("room", "notifications")
        start = int(query.get("start", "0"))
        issued = query.get("t", "0")
        pad = "x" * int(query.get("pad", "0"))
        for i in range(int(query.get("count", "1"))):
            next_id += 1
            now = datetime.datetime.now(datetime.UTC).isoformat()
            payload = {
                "message": f"{start + i}|{issued}|{pad}",
                "level": "info",
                "audience": "everyone",
                "created_at": now,
            }
            meta = {"event_id": next_id, "event_type": "notification", "emitted_at": now}
            await sio.emit("notification", (payload, meta), to=room)
        status, body = 202, b'{"event_id":%d}' % next_id
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


app = socketio.ASGIApp(sio, other_asgi_app=http_app)

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        ws_per_message_deflate=os.environ.get("BARE_DEFLATE", "1") != "0",
    )
