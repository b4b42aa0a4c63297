"""REST, auth: register, sign in, the profile, and status changes."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager

from src.auth.email_rule import EMAIL_RULE
from src.main import create_app
from tests.api.helpers import event_types, is_utc, room_events
from tests.support import EMAIL_RULE_CASES

PASSWORD = "correct-horse-battery"


async def register(client, email: str, password: str = PASSWORD, **extra):
    return await client.post(
        "/api/auth/register", json={"email": email, "password": password, **extra}
    )


async def sign_in(client, email: str, password: str = PASSWORD):
    return await client.post("/api/auth/token", data={"username": email, "password": password})


def signed_token(secret_key: str, **claims) -> str:
    now = datetime.now(UTC)
    payload = {"iat": now, "nbf": now, "exp": now + timedelta(minutes=5), **claims}
    return jwt.encode(payload, secret_key, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- register ------------------------------------------------------------------------------------


async def test_register_returns_201_and_the_public_user(client):
    response = await register(client, "carol@example.com", display_name="Carol")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "display_name", "is_admin", "is_active", "created_at"}
    assert isinstance(body["id"], int)
    assert body["email"] == "carol@example.com"
    assert body["display_name"] == "Carol"
    assert body["is_admin"] is False
    assert is_utc(body["created_at"])


async def test_register_without_display_name_gives_null_display_name(client):
    response = await register(client, "dave@example.com")

    assert response.status_code == 201
    assert response.json()["display_name"] is None


async def test_register_never_returns_the_password(client):
    response = await register(client, "erin@example.com")

    assert PASSWORD not in response.text
    assert "password" not in response.json()


async def test_register_cannot_make_an_admin(client):
    response = await register(client, "mallory@example.com", is_admin=True)

    assert response.status_code == 201
    assert response.json()["is_admin"] is False


async def test_registered_user_can_sign_in_and_read_their_profile(client):
    created = (await register(client, "frank@example.com")).json()

    token = (await sign_in(client, "frank@example.com")).json()["access_token"]
    me = await client.get("/api/users/me", headers=bearer(token))

    assert me.status_code == 200
    assert me.json() == created


async def test_register_with_a_taken_email_is_409(client, alice):
    response = await register(client, alice.email)

    assert response.status_code == 409
    assert "detail" in response.json()


async def test_register_with_a_taken_email_in_different_case_is_409(client, alice):
    response = await register(client, alice.email.upper())

    assert response.status_code == 409


@pytest.mark.parametrize(
    ("email", "password"),
    [
        pytest.param("gina@example.com", "x" * 7, id="password-7-chars"),
        pytest.param("gina@example.com", "x" * 129, id="password-129-chars"),
        pytest.param("gina@example.com", "", id="password-empty"),
        pytest.param("", PASSWORD, id="email-empty"),
    ],
)
async def test_register_with_invalid_fields_is_422(client, email, password):
    response = await register(client, email, password)

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize(("email", "stored"), EMAIL_RULE_CASES)
async def test_register_applies_the_email_rule(client, email, stored):
    response = await register(client, email)

    if stored is None:
        assert response.status_code == 422
        assert "not a valid email address" in response.json()["detail"][0]["msg"]
    else:
        assert response.status_code == 201, response.text
        assert response.json()["email"] == stored


async def test_register_states_the_email_rule_in_the_openapi_schema(client):
    schema = (await client.get("/openapi.json")).json()

    email = schema["components"]["schemas"]["UserCreate"]["properties"]["email"]
    assert email["format"] == "email"
    assert email["description"] == EMAIL_RULE
    assert "`.test`" in email["description"]


async def test_a_user_registered_in_any_case_signs_in_in_any_case(client):
    assert (await register(client, "Mixed.Case@Example.COM")).status_code == 201

    response = await sign_in(client, "mixed.case@EXAMPLE.com")

    assert response.status_code == 200


@pytest.mark.parametrize("length", [8, 128])
async def test_register_accepts_passwords_at_the_length_limits(client, length):
    response = await register(client, f"len{length}@example.com", "p" * length)

    assert response.status_code == 201


async def test_register_with_a_missing_password_is_422(client):
    response = await client.post("/api/auth/register", json={"email": "hank@example.com"})

    assert response.status_code == 422


@pytest.mark.parametrize(
    "display_name", ["n" * 101, "nul \x00 byte"], ids=["101-chars", "nul-character"]
)
async def test_register_with_an_invalid_display_name_is_422(client, display_name):
    response = await register(client, "ivy@example.com", display_name=display_name)

    assert response.status_code == 422


# -- token ---------------------------------------------------------------------------------------


async def test_token_returns_a_bearer_token_that_signs_the_user_in(client, alice, settings):
    response = await sign_in(client, alice.email, alice.password)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_ttl_seconds
    me = await client.get("/api/users/me", headers=bearer(body["access_token"]))
    assert me.json()["id"] == alice.id


async def test_token_accepts_the_email_in_any_case(client, alice):
    response = await sign_in(client, alice.email.upper(), alice.password)

    assert response.status_code == 200


async def test_token_with_a_wrong_password_is_401(client, alice):
    response = await sign_in(client, alice.email, "wrong-password")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_token_for_an_unknown_email_is_401_with_the_same_message(client, alice):
    wrong_password = await sign_in(client, alice.email, "wrong-password")
    unknown_email = await sign_in(client, "nobody@example.com", alice.password)

    assert unknown_email.status_code == 401
    assert unknown_email.json() == wrong_password.json()


async def test_token_for_an_email_with_a_nul_character_is_401(client, alice):
    response = await sign_in(client, alice.email + "\x00", alice.password)

    assert response.status_code == 401


async def test_token_without_form_fields_is_422(client):
    response = await client.post("/api/auth/token", data={})

    assert response.status_code == 422


# -- the development key -------------------------------------------------------------------------


async def _signed_in_profile(app, email: str | None, token: str | None) -> tuple[str, int]:
    """Register `email` on `app` and sign in (when given), then read the profile with the
    token: (the token used, the profile's status code)."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            if email is not None:
                assert (await register(http, email)).status_code == 201
                token = (await sign_in(http, email)).json()["access_token"]
            assert token is not None
            return token, (await http.get("/api/users/me", headers=bearer(token))).status_code


async def test_without_a_secret_key_a_token_outlives_a_restart(settings_factory, tmp_path):
    data_dir = tmp_path / "data"
    settings = settings_factory(secret_key="", data_dir=data_dir)

    token, before = await _signed_in_profile(create_app(settings), "kim@example.com", None)
    _, after = await _signed_in_profile(create_app(settings), None, token)  # the restart

    assert before == after == 200
    assert stat.S_IMODE((data_dir / "secret_key").stat().st_mode) == 0o600


async def test_a_token_from_another_development_key_is_refused(settings_factory, tmp_path):
    first = settings_factory(secret_key="", data_dir=tmp_path / "first")
    token, before = await _signed_in_profile(create_app(first), "lee@example.com", None)
    second = settings_factory(secret_key="", data_dir=tmp_path / "second")

    _, after = await _signed_in_profile(create_app(second), None, token)

    assert (before, after) == (200, 401)


# -- GET /api/users/me ---------------------------------------------------------------------------


async def test_me_returns_the_signed_in_user(client, alice):
    response = await client.get("/api/users/me", headers=alice.headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "email", "display_name", "is_admin", "is_active", "created_at"}
    assert body["id"] == alice.id
    assert body["email"] == alice.email
    assert body["is_admin"] is False
    assert is_utc(body["created_at"])


async def test_me_says_an_admin_is_an_admin(client, admin):
    response = await client.get("/api/users/me", headers=admin.headers)

    assert response.json()["is_admin"] is True


async def test_me_without_a_token_is_401(client):
    response = await client.get("/api/users/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_me_with_a_garbage_token_is_401(client):
    response = await client.get("/api/users/me", headers=bearer("not.a.jwt"))

    assert response.status_code == 401


# Forged and stale tokens: tests/auth/test_credentials.py (REST and socket, one table).


@pytest.mark.parametrize("subject", [str(2**31), str(2**63), str(2**70), "-1", "0", "alice", ""])
async def test_me_with_a_token_naming_an_impossible_user_id_is_401(client, settings, subject):
    token = signed_token(settings.secret_key, sub=subject)

    response = await client.get("/api/users/me", headers=bearer(token))

    assert response.status_code == 401


# -- PUT /api/users/me/status --------------------------------------------------------------------


@pytest.mark.parametrize("status", ["online", "away", "busy", "offline"])
async def test_put_status_returns_the_new_status(client, alice, status):
    response = await client.put(
        "/api/users/me/status", json={"status": status}, headers=alice.headers
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"user_id", "status", "changed_at"}
    assert body["user_id"] == alice.id
    assert body["status"] == status
    assert is_utc(body["changed_at"])


@pytest.mark.parametrize("status", ["sleeping", "", "ONLINE", None])
async def test_put_an_unknown_status_is_422(client, alice, status):
    response = await client.put(
        "/api/users/me/status", json={"status": status}, headers=alice.headers
    )

    assert response.status_code == 422


async def test_put_status_without_a_token_is_401(client):
    response = await client.put("/api/users/me/status", json={"status": "away"})

    assert response.status_code == 401


async def test_put_status_emits_user_status_changed_to_the_users_room(client, alice):
    response = await client.put(
        "/api/users/me/status", json={"status": "busy"}, headers=alice.headers
    )

    events = await room_events(client, alice, f"user_{alice.id}")
    assert event_types(events) == ["user_status_changed"]
    assert events[0]["data"] == response.json()
    assert is_utc(events[0]["emitted_at"])


async def test_put_status_emits_user_status_changed_to_admins(client, alice, admin):
    await client.put("/api/users/me/status", json={"status": "away"}, headers=alice.headers)

    events = await room_events(client, admin, "admin")
    assert [(e["event_type"], e["data"]["user_id"], e["data"]["status"]) for e in events] == [
        ("user_status_changed", alice.id, "away")
    ]


async def test_put_status_is_not_emitted_to_other_users(client, alice, bob):
    await client.put("/api/users/me/status", json={"status": "away"}, headers=alice.headers)

    assert await room_events(client, bob, f"user_{bob.id}") == []


# -- GET /api/users/online -----------------------------------------------------------------------


async def test_online_users_is_403_for_a_non_admin(client, alice):
    response = await client.get("/api/users/online", headers=alice.headers)

    assert response.status_code == 403


async def test_online_users_without_a_token_is_401(client):
    response = await client.get("/api/users/online")

    assert response.status_code == 401


async def test_online_users_lists_users_who_are_not_offline_for_an_admin(client, alice, bob, admin):
    await client.put("/api/users/me/status", json={"status": "away"}, headers=alice.headers)
    await client.put("/api/users/me/status", json={"status": "offline"}, headers=bob.headers)

    response = await client.get("/api/users/online", headers=admin.headers)

    assert response.status_code == 200
    online = response.json()
    assert [(user["id"], user["status"]) for user in online] == [(alice.id, "away")]
    assert online[0]["email"] == alice.email
    assert is_utc(online[0]["status_changed_at"])
