"""Forged and stale credentials, on REST and on Socket.IO connect, from one table.

Every forged or stale token is refused the same way on both doors: REST answers `401` with
`WWW-Authenticate: Bearer`, a socket gets `connect_error` `unauthorized`. Admin rights come
from the database at each request and each connect, never from the token.
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import delete, update

from src.auth.models import User
from tests import support
from tests.conftest import TEST_SECRET
from tests.support import refusal_message

OTHER_KEY = "another-secret-key-that-is-long-enough-for-hs256-too"
HOUR = timedelta(hours=1)


def claims_for(user: support.TestUser, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {"sub": str(user.id), "iat": now, "nbf": now, "exp": now + HOUR}
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def sign(claims: dict[str, Any], key: str | None = TEST_SECRET, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():  # HS512 with the server's (short for it) key, on purpose
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=algorithm)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def with_payload(token: str, **changes: Any) -> str:
    """`token` with claims changed in its payload, keeping its header and signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return ".".join([header, _b64(claims), signature])


def with_header(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    fields.update(changes)
    return ".".join([_b64(fields), payload, signature])


@dataclass(frozen=True)
class Forgery:
    name: str
    token: Callable[[support.TestUser, support.TestUser], str]  # (victim, other user) -> token


NOW = datetime.now(UTC)
FORGERIES = [
    Forgery("alg-none", lambda u, _o: sign(claims_for(u), key=None, algorithm="none")),
    Forgery("alg-none-header-on-a-real-token", lambda u, _o: with_header(u.token, alg="none")),
    Forgery("other-key", lambda u, _o: sign(claims_for(u), key=OTHER_KEY)),
    Forgery("hs512-same-key", lambda u, _o: sign(claims_for(u), algorithm="HS512")),
    Forgery("tampered-subject", lambda u, o: with_payload(u.token, sub=str(o.id))),
    Forgery(
        "tampered-expiry",
        lambda u, _o: with_payload(u.token, exp=int((NOW + 100 * HOUR).timestamp())),
    ),
    Forgery("signature-stripped", lambda u, _o: u.token.rsplit(".", 1)[0] + "."),
    Forgery(
        "expired",
        lambda u, _o: sign(claims_for(u, iat=NOW - 3 * HOUR, nbf=NOW - 3 * HOUR, exp=NOW - HOUR)),
    ),
    Forgery("not-yet-valid", lambda u, _o: sign(claims_for(u, nbf=NOW + HOUR))),
    Forgery("issued-in-the-future", lambda u, _o: sign(claims_for(u, iat=NOW + HOUR))),
    Forgery("without-expiry", lambda u, _o: sign(claims_for(u, exp=None))),
    Forgery("without-issued-at", lambda u, _o: sign(claims_for(u, iat=None))),
    Forgery("integer-subject", lambda u, _o: sign(claims_for(u, sub=u.id))),
    Forgery("truncated", lambda u, _o: u.token[:-5]),
]


async def assert_refused_everywhere(api, live_url: str, token: str) -> None:
    response = await api.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert await refusal_message(live_url, {"token": token}) == "unauthorized"


@pytest.mark.parametrize("forgery", FORGERIES, ids=[f.name for f in FORGERIES])
async def test_forged_or_stale_token_is_refused_on_rest_and_socket(
    api, live_url, alice, bob, forgery
):
    await assert_refused_everywhere(api, live_url, forgery.token(alice, bob))


async def test_the_genuine_token_is_accepted_on_both(api, connect, alice):
    """The control row: the same checks pass with the real token."""
    response = await api.get("/api/users/me", headers=alice.headers)
    assert response.status_code == 200
    sock = await connect(alice)
    assert sock.events("connection_established")[0].data["user_id"] == alice.id


async def test_a_deleted_users_token_is_refused(api, live_url, alice, db_session):
    await db_session.execute(delete(User).where(User.id == alice.id))
    await db_session.commit()

    await assert_refused_everywhere(api, live_url, alice.token)


async def test_a_demoted_admins_token_carries_no_admin_rights(
    api, connect, admin, alice, db_session
):
    log = await api.post("/api/memory-logs", json={"content": "mine"}, headers=alice.headers)
    await db_session.execute(update(User).where(User.id == admin.id).values(is_admin=False))
    await db_session.commit()

    me = await api.get("/api/users/me", headers=admin.headers)
    assert me.status_code == 200 and me.json()["is_admin"] is False
    notification = {"message": "hi", "audience": "everyone"}
    refusals = {
        "notify": await api.post("/api/notifications", json=notification, headers=admin.headers),
        "online": await api.get("/api/users/online", headers=admin.headers),
        "admin events": await api.get(
            "/api/events", params={"room": "admin"}, headers=admin.headers
        ),
        "list others": await api.get(
            "/api/memory-logs", params={"user_id": alice.id}, headers=admin.headers
        ),
        "read others": await api.get(f"/api/memory-logs/{log.json()['id']}", headers=admin.headers),
    }
    assert {name: r.status_code for name, r in refusals.items()} == {
        "notify": 403,
        "online": 403,
        "admin events": 403,
        "list others": 403,
        "read others": 404,
    }

    sock = await connect(admin)
    for room in ("admin", f"user_{alice.id}"):
        ack = await sock.call("subscribe_event", {"event_type": room})
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", (room, ack)


async def test_a_demoted_admins_open_socket_loses_its_admin_rooms(
    live_server_factory, connect, admin, alice, db_session
):
    """A socket outlives its token's check: connected admins' rights are read again every
    `ADMIN_RECHECK_SECONDS`, and a demoted admin keeps only what a user may hold."""
    server = live_server_factory(admin_recheck_seconds=0.2)
    sock = await connect(admin, url=server.url)
    rooms = ("admin", "memory_logs", "notifications", f"user_{alice.id}")
    for room in rooms:
        assert (await sock.call("subscribe_event", {"event_type": room}))["ok"], room

    await db_session.execute(update(User).where(User.id == admin.id).values(is_admin=False))
    await db_session.commit()
    [error] = await sock.wait_for("error", timeout=10)
    assert error.data["code"] == "forbidden"
    assert error.data["details"] == {"rooms": sorted(["admin", "memory_logs", f"user_{alice.id}"])}

    async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
        others = await api.post(
            "/api/memory-logs", json={"content": "alice's"}, headers=alice.headers
        )
        own = await api.post("/api/memory-logs", json={"content": "own"}, headers=admin.headers)
    assert others.status_code == own.status_code == 201
    [created] = await sock.wait_for("memory_log_created")  # its own log, through its own scope
    assert created.data["id"] == own.json()["id"]
    await server.run_on_server(server.services.emitter.emit_notification("still subscribed"))
    # The barrier: the notification was written after alice's log, and events reach a socket
    # in id order, so had hers been delivered here it would have arrived first.
    [notification] = await sock.wait_for("notification")  # `notifications` is everyone's
    assert notification.data["message"] == "still subscribed"
    assert [e.data["id"] for e in sock.events("memory_log_created")] == [own.json()["id"]]
    ack = await sock.call("subscribe_event", {"event_type": "admin"})
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    assert sock.sio.connected  # rights withdrawn, connection kept
