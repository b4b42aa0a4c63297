"""Password hashing (argon2) and HS256 access tokens (PyJWT)."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from src.core.clock import utcnow

T = TypeVar("T")
ALGORITHM = "HS256"
JTI_MAX_LENGTH = 64
"""A token id longer than this is refused (it is stored when the token is revoked)."""
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("mindwire-dummy-password")


# Argon2 takes ~0.1 s of CPU (and 64 MiB) per hash. The event loop hands it to these threads
# (argon2-cffi releases the GIL), so sign-ins never stall sockets, and at most this many run
# at once.
HASHING_THREADS = max(1, min(4, os.cpu_count() or 1))
_HASHING = ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="mindwire-argon2")
_queued = 0
"""Hashes handed to the threads and not finished (running or waiting), in this process."""
_queued_lock = threading.Lock()


class HashQueueFull(Exception):
    """`PASSWORD_HASH_QUEUE` hashes are waiting already: refused at once rather than queued
    behind them (each waiting hash delays every later sign-in by ~0.1 s / threads)."""


def _release(_done: Future[Any]) -> None:
    global _queued
    with _queued_lock:
        _queued -= 1


async def _hash_job(queue_limit: int | None, work: Callable[..., T], *args: Any) -> T:
    """Run `work` on a hashing thread, unless `queue_limit` hashes wait already."""
    global _queued
    with _queued_lock:
        if queue_limit is not None and _queued - HASHING_THREADS >= queue_limit:
            raise HashQueueFull()
        _queued += 1
    job = _HASHING.submit(work, *args)
    job.add_done_callback(_release)  # counted until it has run, even if its caller is gone
    return await asyncio.wrap_future(job)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    """Constant-time check; with `hashed=None` it still spends a full verification."""
    try:
        return _hasher.verify(hashed or _DUMMY_HASH, password) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str, *, queue_limit: int | None = None) -> str:
    """`hash_password` off the event loop; `HashQueueFull` past `queue_limit` waiting."""
    return await _hash_job(queue_limit, hash_password, password)


async def verify_password_async(
    password: str, hashed: str | None, *, queue_limit: int | None = None
) -> bool:
    """`verify_password` off the event loop; `HashQueueFull` past `queue_limit` waiting."""
    return await _hash_job(queue_limit, verify_password, password, hashed)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid access token says: whose it is, its id (for revocation), when it ends."""

    user_id: int
    jti: str | None
    """None for a token signed before tokens carried an id: it cannot be revoked alone."""
    expires_at: datetime


def create_access_token(user_id: int, *, secret_key: str, ttl_seconds: int) -> str:
    now = utcnow()
    claims = {
        "sub": str(user_id),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=ttl_seconds),
    }
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


VERIFIED_TOKENS_KEPT = 4096
"""Tokens whose signature was checked, remembered (oldest forgotten first): about 1.5 MiB."""
_verified: dict[tuple[str, str], tuple[TokenClaims, int, int]] = {}
"""(key, token) -> (claims, not valid before, expires): a token's signature is checked once
(about 60 µs); its times are checked at every use, as PyJWT checks them."""


def read_access_token(
    token: str, *, secret_key: str, now: float | None = None
) -> TokenClaims | None:
    """The claims of a valid token; None for a missing, expired, forged or malformed one.

    Only a token that passed every check is remembered, with its times: a remembered one is
    valid while `max(nbf, iat) <= now < exp`, which is what PyJWT would decide again.
    Revocation and the user's state are not decided here (they are read at every use).
    `now` (a POSIX time) is for tests of a remembered token; a first check uses the clock."""
    known = _verified.get((secret_key, token))
    if known is not None:
        claims, not_before, expires = known
        at = datetime.now(UTC).timestamp() if now is None else now
        return claims if not_before <= at < expires else None
    checked = _decode(token, secret_key)
    if checked is None:
        return None
    if len(_verified) >= VERIFIED_TOKENS_KEPT:
        _verified.pop(next(iter(_verified), ("", "")), None)
    _verified[(secret_key, token)] = checked
    return checked[0]


def _decode(token: str, secret_key: str) -> tuple[TokenClaims, int, int] | None:
    try:
        claims = jwt.decode(
            token,
            secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "iat"]},
        )
        jti = claims.get("jti")
        if jti is not None and (not isinstance(jti, str) or not 0 < len(jti) <= JTI_MAX_LENGTH):
            return None
        expires = int(claims["exp"])
        not_before = max(int(claims["iat"]), int(claims.get("nbf", claims["iat"])))
        expires_at = datetime.fromtimestamp(expires, tz=UTC)
        return TokenClaims(int(claims["sub"]), jti, expires_at), not_before, expires
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, OSError):
        return None
