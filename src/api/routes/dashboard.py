"""`GET /` and `/static/…`: the built dashboard (inside the installed package, or `web/dist` in
the source tree), else a page that says how to build it."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, HTMLResponse, Response

from src.core.paths import PACKAGE_DIR, SOURCE_ROOT

router = APIRouter(include_in_schema=False)

PACKAGED_DASHBOARD = PACKAGE_DIR / "dashboard"
"""Where a wheel built with npm present carries the page (setup.py copies `web/dist` there)."""
SOURCE_DASHBOARD = SOURCE_ROOT / "web" / "dist"
"""Where `make run` (or `npm run build` in web/) builds it in a source checkout."""


def built_dashboard_dir() -> Path:
    """The folder of `index.html` and `static/`: the packaged page when there is one, else the
    source tree's, which an editable install serves as soon as it is built."""
    if (PACKAGED_DASHBOARD / "index.html").is_file():
        return PACKAGED_DASHBOARD
    return SOURCE_DASHBOARD


DASHBOARD_DIR = built_dashboard_dir()
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
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then reload this page.
An installed package carries the page when npm was on the PATH while it was built:
reinstall it with Node.js present.</p>
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
    """A file under the dashboard's `static/`; nothing outside it, whatever `path` says."""
    root = (DASHBOARD_DIR / "static").resolve()
    file = (root / path).resolve()
    if not file.is_relative_to(root) or not file.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    return FileResponse(file, media_type=MEDIA_TYPES.get(file.suffix), headers=NO_CACHE)
