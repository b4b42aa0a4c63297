"""`AllowedMethods`: `OPTIONS` and `405` name every method of the path.

FastAPI makes one route per method, and Starlette's 405 names the methods of the first route
whose path matched: `OPTIONS /api/memory-logs` was a 405 with `Allow: POST`, though the path
also takes GET. Here `OPTIONS` on a path the app serves is a 204 with the full `Allow`
(RFC 9110 §9.3.7), and any 405 carries the same list. A CORS preflight never gets here: the
CORS middleware, outside this one, answers it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(router: Router, scope: Scope) -> list[str]:
    """The methods some route of `router` takes on `scope`'s path; empty for an unknown path."""
    allowed = [
        method
        for method in METHODS
        if any(
            route.matches({**scope, "method": method})[0] == Match.FULL for route in router.routes
        )
    ]
    return [*allowed, "OPTIONS"] if allowed else []


class AllowedMethods:
    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and (allowed := allowed_methods(self.router, scope)):
            headers = [(b"allow", ", ".join(allowed).encode()), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def full_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = allowed_methods(self.router, scope)
                if allowed:
                    MutableHeaders(scope=message)["Allow"] = ", ".join(allowed)
            await send(message)

        await self.app(scope, receive, full_allow)
