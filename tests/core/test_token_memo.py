"""A token's signature is checked once per process (`read_access_token` remembers the tokens
that passed); its times are checked at every use, so a remembered token still expires. The
gateway's read of a token's holder is shared by connects asking at once, and never kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import jwt

from src.auth import revocation
from src.core import security
from src.core.security import read_access_token

KEY = "a-test-key-that-is-long-enough-for-hs256-000"


def token(**changes: object) -> str:
    now = datetime.now(UTC)
    claims = {"sub": "7", "jti": "j", "iat": now, "nbf": now, "exp": now + timedelta(minutes=5)}
    return jwt.encode({**claims, **changes}, KEY, algorithm="HS256")


def test_a_remembered_token_expires_at_its_exp() -> None:
    fresh = token()
    claims = read_access_token(fresh, secret_key=KEY)
    assert claims is not None and (KEY, fresh) in security._verified
    expires = claims.expires_at.timestamp()

    assert read_access_token(fresh, secret_key=KEY, now=expires - 1) == claims
    assert read_access_token(fresh, secret_key=KEY, now=expires) is None


def test_a_remembered_token_is_not_valid_before_its_nbf_or_iat() -> None:
    later = datetime.now(UTC) - timedelta(seconds=30)
    fresh = token(iat=later - timedelta(seconds=10), nbf=later)
    assert read_access_token(fresh, secret_key=KEY) is not None

    assert read_access_token(fresh, secret_key=KEY, now=later.timestamp() - 1) is None


def test_only_valid_tokens_are_remembered_and_only_under_their_key() -> None:
    forged = jwt.encode({"sub": "7", "iat": datetime.now(UTC)}, "another-key" * 4)
    fresh = token()
    assert read_access_token(forged, secret_key=KEY) is None
    assert read_access_token(fresh, secret_key=KEY) is not None

    assert (KEY, forged) not in security._verified
    assert read_access_token(fresh, secret_key="another-key" * 4) is None


def test_the_memo_keeps_at_most_its_bound() -> None:
    for n in range(security.VERIFIED_TOKENS_KEPT + 10):
        read_access_token(token(jti=f"t{n}"), secret_key=KEY)

    assert len(security._verified) <= security.VERIFIED_TOKENS_KEPT


async def test_connects_with_one_token_at_once_share_one_read_and_a_sign_out_is_seen_next(
    services, settings, alice, db_session
) -> None:
    """The gateway reads a token's holder once for the connects that present it together (a
    user's tabs coming back after a blip), and keeps nothing: the next connect reads again."""
    authenticate = services.gateway.authenticate
    reads = authenticate.__self__.token_reads
    before = reads.queries
    held = await asyncio.gather(*(authenticate(alice.token) for _ in range(16)))
    assert {credentials.viewer.user_id for credentials in held if credentials} == {alice.id}
    assert len([credentials for credentials in held if credentials]) == 16
    assert reads.queries == before + 1

    claims = read_access_token(alice.token, secret_key=settings.secret_key)
    assert claims is not None
    await revocation.revoke(db_session, claims)
    assert await authenticate(alice.token) is None
