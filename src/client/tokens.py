"""Where the client's access token comes from: a string, or a callable asked at every connect
and whenever the server says `token_expired` (docs/contract.md, "Staying signed in")."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

TokenSource = str | Callable[[], str] | Callable[[], Awaitable[str]]
"""A fixed token, or a (sync or async) function returning the current one, e.g. from
`POST /api/auth/token`."""


async def current_token(source: TokenSource) -> str:
    """The token to send now."""
    if isinstance(source, str):
        return source
    token = source()
    if inspect.isawaitable(token):
        return await token
    return token


def can_refresh(source: TokenSource) -> bool:
    """A fixed string cannot give a new token: the socket then closes when it expires."""
    return not isinstance(source, str)
