"""A create (`POST /api/memory-logs`, `POST /api/mental-notes`) checks its bearer inside its
INSERT (`src/auth/guard.py`) instead of reading the user first: it must refuse exactly what
the user read refused, at once, and write nothing (no row, no event) when it refuses.

The same checks across two workers: tests/cluster/test_write_holder.py."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import delete, update

from src.auth.models import User
from tests.api.helpers import room_events
from tests.api.test_auth_routes import bearer, signed_token
from tests.api.test_item_routes import COLLECTIONS, Collection
from tests.auth.test_credentials import FORGERIES
from tests.support import TestUser


@pytest.fixture(params=COLLECTIONS)
def collection(request: pytest.FixtureRequest) -> Collection:
    chosen: Collection = request.param
    return chosen


async def post(
    client: httpx.AsyncClient, collection: Collection, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(collection.url, json=collection.body("refused?"), headers=headers)


def refused(response: httpx.Response) -> bool:
    return response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


async def nothing_written(client: httpx.AsyncClient, admin: TestUser, room: str) -> bool:
    """No event in `room` (an item is never written without its event: one transaction)."""
    return await room_events(client, admin, room) == []


async def test_a_signed_out_token_writes_nothing(client, alice, admin, collection):
    assert (await client.post("/api/auth/logout", headers=alice.headers)).status_code == 204

    assert refused(await post(client, collection, alice.headers))
    assert await nothing_written(client, admin, collection.room)


async def test_a_signed_out_token_leaves_the_users_other_tokens_writing(client, alice, collection):
    form = {"username": alice.email, "password": alice.password}
    other = (await client.post("/api/auth/token", data=form)).json()["access_token"]
    assert (await client.post("/api/auth/logout", headers=alice.headers)).status_code == 204

    assert (await post(client, collection, bearer(other))).status_code == 201


async def test_a_disabled_user_writes_nothing_until_re_enabled(client, alice, admin, collection):
    async def set_active(active: bool) -> None:
        response = await client.patch(
            f"/api/users/{alice.id}", json={"is_active": active}, headers=admin.headers
        )
        assert response.status_code == 200, response.text

    await set_active(False)
    assert refused(await post(client, collection, alice.headers))
    assert await nothing_written(client, admin, collection.room)

    await set_active(True)
    assert (await post(client, collection, alice.headers)).status_code == 201


async def test_a_user_disabled_in_the_database_writes_nothing(
    client, alice, admin, collection, db_session
):
    """A change no request announces (by hand, or `mindwire disable-user`) holds at once."""
    await db_session.execute(update(User).where(User.id == alice.id).values(is_active=False))
    await db_session.commit()

    assert refused(await post(client, collection, alice.headers))
    assert await nothing_written(client, admin, collection.room)


async def test_a_deleted_users_token_writes_nothing(client, alice, admin, collection, db_session):
    await db_session.execute(delete(User).where(User.id == alice.id))
    await db_session.commit()

    assert refused(await post(client, collection, alice.headers))
    assert await nothing_written(client, admin, collection.room)


@pytest.mark.parametrize("forgery", FORGERIES, ids=[f.name for f in FORGERIES])
async def test_a_forged_or_stale_token_writes_nothing(
    client, alice, bob, admin, collection, forgery
):
    assert refused(await post(client, collection, bearer(forgery.token(alice, bob))))
    assert await nothing_written(client, admin, collection.room)


@pytest.mark.parametrize("subject", [str(2**31), "0", "-1"])
async def test_a_token_naming_an_impossible_user_writes_nothing(
    client, settings, admin, collection, subject
):
    token = signed_token(settings.secret_key, sub=subject, jti="x")

    assert refused(await post(client, collection, bearer(token)))
    assert await nothing_written(client, admin, collection.room)


async def test_no_token_writes_nothing(client, admin, collection):
    assert refused(await post(client, collection, {}))
    assert await nothing_written(client, admin, collection.room)


NOTIFICATION = {"message": "from whom?", "audience": "everyone"}


@pytest.mark.parametrize(
    ("change", "status"),
    [("sign-out", 401), ("disable", 401), ("delete", 401), ("demote", 403), ("none", 202)],
)
async def test_a_notification_checks_its_admin_at_once(
    client, make_user, admin, db_session, change, status
):
    """`POST /api/notifications` reads its admin with one Core query: the same answers."""
    sender = await make_user(admin=True)
    if change == "sign-out":
        assert (await client.post("/api/auth/logout", headers=sender.headers)).status_code == 204
    elif change == "delete":
        await db_session.execute(delete(User).where(User.id == sender.id))
        await db_session.commit()
    elif change != "none":
        fields = {"is_active": False} if change == "disable" else {"is_admin": False}
        patched = await client.patch(f"/api/users/{sender.id}", json=fields, headers=admin.headers)
        assert patched.status_code == 200, patched.text

    response = await client.post("/api/notifications", json=NOTIFICATION, headers=sender.headers)

    assert response.status_code == status, response.text
    sent = await room_events(client, admin, "notifications")
    assert len(sent) == (1 if status == 202 else 0)
    if status == 202:
        assert response.json() == {"event_id": sent[0]["event_id"], "audience": "everyone"}
