"""REST, `POST /api/auth/refresh`: a new token for a valid one, 401 for any other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete

from src.auth.models import User
from src.core.security import read_access_token
from tests.api.test_auth_routes import bearer, sign_in, signed_token


async def refresh(client, token: str | None):
    headers = {} if token is None else bearer(token)
    return await client.post("/api/auth/refresh", headers=headers)


async def test_refresh_answers_like_sign_in_with_a_new_full_length_token(client, alice, settings):
    before = datetime.now(UTC).replace(microsecond=0)
    response = await refresh(client, alice.token)

    assert response.status_code == 200, response.text
    body = response.json()
    signed_in = (await sign_in(client, alice.email, alice.password)).json()
    assert set(body) == set(signed_in) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_ttl_seconds
    old = read_access_token(alice.token, secret_key=settings.secret_key)
    new = read_access_token(body["access_token"], secret_key=settings.secret_key)
    assert old is not None and new is not None
    assert new.user_id == alice.id
    assert new.jti is not None and new.jti != old.jti
    assert new.expires_at >= before + timedelta(seconds=settings.access_token_ttl_seconds)
    me = await client.get("/api/users/me", headers=bearer(body["access_token"]))
    assert me.json()["id"] == alice.id


async def test_the_old_token_keeps_working_after_a_refresh(client, alice):
    assert (await refresh(client, alice.token)).status_code == 200

    assert (await client.get("/api/users/me", headers=alice.headers)).status_code == 200


async def test_a_refreshed_token_can_be_refreshed_again(client, alice):
    first = (await refresh(client, alice.token)).json()["access_token"]
    second = await refresh(client, first)

    assert second.status_code == 200
    assert second.json()["access_token"] not in (first, alice.token)


async def test_refresh_without_a_token_is_401(client):
    response = await refresh(client, None)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("token", ["garbage", ""])
async def test_refresh_with_a_malformed_token_is_401(client, token):
    assert (await refresh(client, token)).status_code == 401


async def test_refresh_with_an_expired_token_is_401(client, alice, settings):
    past = datetime.now(UTC) - timedelta(minutes=10)
    claims = {"sub": str(alice.id), "jti": "expired-one", "iat": past, "nbf": past}
    expired = signed_token(settings.secret_key, **claims, exp=past + timedelta(minutes=5))

    assert (await refresh(client, expired)).status_code == 401


async def test_refresh_with_a_signed_out_token_is_401(client, alice):
    assert (await client.post("/api/auth/logout", headers=alice.headers)).status_code == 204

    assert (await refresh(client, alice.token)).status_code == 401


async def test_refresh_for_a_deleted_user_is_401(client, alice, db_session):
    await db_session.execute(delete(User).where(User.id == alice.id))
    await db_session.commit()

    assert (await refresh(client, alice.token)).status_code == 401
