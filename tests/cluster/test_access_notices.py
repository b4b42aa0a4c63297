"""A sign-out, a disable or a demotion answered by one worker reaches the sockets another
worker holds at once, through Redis (`src/auth/notices.py`).

`ADMIN_RECHECK_SECONDS` is an hour on both workers, and each wait is bounded at 10 seconds:
the periodic recheck never runs during these tests, so only the notice can pass them.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from src.testing.users import UserFactory
from tests.cluster.test_workers import recording
from tests.cluster.workers import Worker
from tests.support import TestUser as User
from tests.transport.test_token_lifetime import closed_within, closing, coded

NEVER = "3600"
BOUND = 10.0
"""Seconds a notice may take, far below `ADMIN_RECHECK_SECONDS` (and generous for a slow CI)."""


def two_workers(start_worker: Callable[..., Worker]) -> tuple[Worker, Worker]:
    return start_worker(ADMIN_RECHECK_SECONDS=NEVER), start_worker(ADMIN_RECHECK_SECONDS=NEVER)


async def test_logout_on_one_worker_closes_the_tokens_socket_on_the_other_at_once(
    start_worker: Callable[..., Worker], alice: User
) -> None:
    first, second = two_workers(start_worker)
    sock = await recording(second.url, alice)
    closed = closing(sock)
    try:
        async with httpx.AsyncClient(base_url=first.url, timeout=10) as api:
            response = await api.post("/api/auth/logout", headers=alice.headers)
        assert response.status_code == 204, response.text
        [told] = await sock.wait_for("error", coded("unauthorized"), timeout=BOUND)
        await closed_within(closed, BOUND)
        assert "revoked" in told.data["message"]
    finally:
        await sock.close()


async def test_disable_and_demotion_on_one_worker_reach_sockets_on_the_other_at_once(
    start_worker: Callable[..., Worker], make_user: UserFactory, admin: User, alice: User
) -> None:
    first, second = two_workers(start_worker)
    demoted = await make_user(admin=True)
    disabled_sock = await recording(second.url, alice)
    admin_sock = await recording(second.url, demoted, "admin")
    closed = closing(disabled_sock)
    try:
        async with httpx.AsyncClient(base_url=first.url, timeout=10) as api:
            for user, change in ((alice, {"is_active": False}), (demoted, {"is_admin": False})):
                response = await api.patch(
                    f"/api/users/{user.id}", json=change, headers=admin.headers
                )
                assert response.status_code == 200, response.text
        [told] = await disabled_sock.wait_for("error", coded("unauthorized"), timeout=BOUND)
        await closed_within(closed, BOUND)
        [withdrawn] = await admin_sock.wait_for("error", coded("forbidden"), timeout=BOUND)
        assert "disabled" in told.data["message"]
        assert withdrawn.data["details"] == {"rooms": ["admin"]}
        assert admin_sock.sio.connected
    finally:
        await disabled_sock.close()
        await admin_sock.close()
