"""An access change answered by one worker holds on the very next request to another, for the
writes that check their bearer inside their INSERT (`src/auth/guard.py`) as for the routes
that read the user first: nothing is cached per worker, so no notice has to arrive first.

`ADMIN_RECHECK_SECONDS` is an hour on both workers: no periodic recheck runs meanwhile."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import delete

from src.auth.models import User
from tests.cluster.test_access_notices import two_workers
from tests.cluster.workers import Worker
from tests.support import TestUser

LOG = {"content": "after the change"}
NOTE = {"title": "after the change"}
NOTIFICATION = {"message": "still an admin?", "audience": "everyone"}


async def writes(api: httpx.AsyncClient, user: TestUser) -> tuple[int, int, int]:
    """The statuses of a memory-log create, a mental-note create and `GET /api/users/me`."""
    log = await api.post("/api/memory-logs", json=LOG, headers=user.headers)
    note = await api.post("/api/mental-notes", json=NOTE, headers=user.headers)
    me = await api.get("/api/users/me", headers=user.headers)
    return log.status_code, note.status_code, me.status_code


async def test_sign_out_disable_and_deletion_on_one_worker_hold_on_the_others_next_request(
    start_worker: Callable[..., Worker],
    admin: TestUser,
    alice: TestUser,
    bob: TestUser,
    make_user,
    db_session,
) -> None:
    first, second = two_workers(start_worker)
    carol = await make_user()
    async with (
        httpx.AsyncClient(base_url=first.url, timeout=10) as one,
        httpx.AsyncClient(base_url=second.url, timeout=10) as other,
    ):
        for user in (alice, bob, carol):  # warm: each has written on the second worker
            assert await writes(other, user) == (201, 201, 200)

        assert (await one.post("/api/auth/logout", headers=alice.headers)).status_code == 204
        assert await writes(other, alice) == (401, 401, 401)

        disabled = await one.patch(
            f"/api/users/{bob.id}", json={"is_active": False}, headers=admin.headers
        )
        assert disabled.status_code == 200, disabled.text
        assert await writes(other, bob) == (401, 401, 401)

        await db_session.execute(delete(User).where(User.id == carol.id))
        await db_session.commit()
        assert await writes(other, carol) == (401, 401, 401)
        assert await writes(one, carol) == (401, 401, 401)


async def test_a_demotion_on_one_worker_holds_on_the_others_next_request(
    start_worker: Callable[..., Worker], make_user, admin: TestUser
) -> None:
    first, second = two_workers(start_worker)
    demoted = await make_user(admin=True)
    async with (
        httpx.AsyncClient(base_url=first.url, timeout=10) as one,
        httpx.AsyncClient(base_url=second.url, timeout=10) as other,
    ):
        sent = await other.post("/api/notifications", json=NOTIFICATION, headers=demoted.headers)
        assert sent.status_code == 202, sent.text

        response = await one.patch(
            f"/api/users/{demoted.id}", json={"is_admin": False}, headers=admin.headers
        )
        assert response.status_code == 200, response.text

        refused = await other.post("/api/notifications", json=NOTIFICATION, headers=demoted.headers)
        assert refused.status_code == 403, refused.text
        assert await writes(other, demoted) == (201, 201, 200)
