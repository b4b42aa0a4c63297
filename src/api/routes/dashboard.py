"""`GET /` and `/static/…`: the dashboard built into `web/dist` (`make run` builds it when npm
is present), else a page that says how to build it."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, HTMLResponse, Response

router = APIRouter(include_in_schema=False)

DASHBOARD_DIR = Path(__file__).resolve().parents[3] / "web" / "dist"
"""`index.html` and `static/` (compiled modules, CSS, socket.io-client's browser build)."""

# The files are not content-hashed: browsers revalidate them on each load.
NO_CACHE = {"Cache-Control": "no-cache"}
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>Mindwire</title></head>
<body><main><h1>Mindwire is running</h1>
<p>The dashboard has not been built on this machine. With Node.js 20 or later installed,
<code>make run</code> builds it, or build it by hand:
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then reload this page.</p>
<p>REST: <a href="/docs">/docs</a>, Socket.IO at <code>/socket.io</code>,
health at <a href="/health">/health</a>.</p>
</main></body></html>
"""


@router.api_route("/", methods=["GET", "HEAD"])
async def dashboard() -> Response:
    index = DASHBOARD_DIR / "index.html"
    if index.is_file():
        return FileResponse(index, media_type=MEDIA_TYPES[".html"], headers=NO_CACHE)
    return HTMLResponse(NOT_BUILT, headers=NO_CACHE)


@router.api_route("/static/{path:path}", methods=["GET", "HEAD"])
async def dashboard_file(path: str) -> Response:
    """A file under `web/dist/static`; nothing outside it, whatever `path` says."""
    root = (DASHBOARD_DIR / "static").resolve()
    file = (root / path).resolve()
    if not file.is_relative_to(root) or not file.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    return FileResponse(file, media_type=MEDIA_TYPES.get(file.suffix), headers=NO_CACHE)
