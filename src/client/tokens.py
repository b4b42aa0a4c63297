"""Where the client's access token comes from: a string, or a callable asked at every connect
and whenever the server says `token_expired` (docs/contract.md, "Staying signed in")."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from src.client.callbacks import first_argument
from src.events.schemas import EventType, RefreshTokenEvent

logger = logging.getLogger("mindwire.client")

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


async def send_refreshed_token(sio: Any, source: TokenSource, ack_timeout: float) -> bool:
    """Send `refresh_token` with the source's current token on `sio`; True once accepted."""
    request = RefreshTokenEvent(token=await current_token(source))
    try:
        raw = await sio.call(EventType.REFRESH_TOKEN, request.model_dump(), timeout=ack_timeout)
    except socketio.exceptions.SocketIOError:
        logger.warning("mindwire: refresh_token was not answered")
        return False
    ack = first_argument(raw)
    if isinstance(ack, dict) and ack.get("ok"):
        return True
    logger.warning("mindwire: refresh_token refused: %r", ack)
    return False
