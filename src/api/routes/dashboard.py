"""`GET /`: the dashboard when it has been built, else a page that says how to build it."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

router = APIRouter(include_in_schema=False)

DASHBOARD_INDEX = Path(__file__).resolve().parents[3] / "web" / "dist" / "index.html"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mindwire</title></head>
<body><main><h1>Mindwire is running</h1>
<p>The dashboard has not been built on this machine. REST: <a href="/docs">/docs</a>,
Socket.IO at <code>/socket.io</code>, health at <a href="/health">/health</a>.</p>
</main></body></html>
"""


@router.get("/")
async def dashboard() -> Response:
    if DASHBOARD_INDEX.is_file():
        return FileResponse(DASHBOARD_INDEX)
    return HTMLResponse(NOT_BUILT)
