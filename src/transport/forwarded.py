"""`TrustedProxies`: uvicorn's proxy-headers rewrite of a request's scope, without a frame kept.

uvicorn wraps the app in its `ProxyHeadersMiddleware` (`X-Forwarded-For` and
`X-Forwarded-Proto` from a trusted proxy become the scope's `client` and `scheme`). That
middleware is a coroutine that awaits the app: for a WebSocket, its frame (with the header
list it collected, ~0.5 KiB) stays suspended for the connection's whole life. `SocketApp`
applies the same rewrite itself, before anything reads the scope, by running the middleware's
own code to completion around an app that does nothing, so the rules are uvicorn's exactly
(the trusted hosts, `FORWARDED_ALLOW_IPS` and its default, the parsing); `uvicorn_options`
then turns uvicorn's off (`proxy_headers=False`). Served some other way, with uvicorn's
middleware on as well, the second rewrite finds the scope already rewritten and leaves it as
it is (the client it set is untrusted, or every hop was trusted and it is set again alike).
"""

from __future__ import annotations

import os
from typing import Any, cast

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

DEFAULT_TRUSTED = "127.0.0.1,::1"
"""uvicorn's default for `FORWARDED_ALLOW_IPS`."""


async def _nothing(*_call: Any) -> None:
    """The app the middleware's code awaits here: nothing to do, it returns at once."""


class TrustedProxies(ProxyHeadersMiddleware):
    """uvicorn's `ProxyHeadersMiddleware` as a function of the scope (`rewrite`)."""

    def __init__(self, trusted_hosts: list[str] | str | None = None) -> None:
        if trusted_hosts is None:  # as uvicorn's `Config` reads it
            trusted_hosts = os.environ.get("FORWARDED_ALLOW_IPS", DEFAULT_TRUSTED)
        super().__init__(_nothing, trusted_hosts=trusted_hosts)

    def rewrite(self, scope: dict[str, Any]) -> None:
        """Set the scope's `client` and `scheme` from a trusted proxy's headers, as uvicorn does."""
        call = self(cast(Any, scope), cast(Any, _nothing), cast(Any, _nothing))
        try:
            call.send(None)
        except StopIteration:
            return
        call.close()  # pragma: no cover - the app above never suspends
        raise RuntimeError("the proxy-headers rewrite suspended")
