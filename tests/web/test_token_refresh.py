"""The dashboard stays signed in and live across several expiries of 4-second access tokens: the
typed client refreshes the token (`POST /api/auth/refresh`, then `refresh_token` on the socket)
and the page keeps the newest one for its REST calls and the next page load."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
from playwright.async_api import expect

from tests.web.conftest import Tabs
from tests.web.pages import ConsoleWatch

if TYPE_CHECKING:  # imported for annotations only: pytest would try to collect `TestUser`
    from tests.support import LiveServer, TestUser

TTL_SECONDS = 4
REFRESHES = 4  # each at half a token's lifetime: the first token is past its expiry and grace
STORED_TOKEN = "localStorage.getItem('mindwire.token')"


async def test_the_page_stays_live_and_signed_in_across_token_expiries(
    tabs: Tabs,
    console: ConsoleWatch,
    live_server_factory: Callable[..., LiveServer],
    alice: TestUser,
) -> None:
    server = live_server_factory(
        access_token_ttl_seconds=TTL_SECONDS, token_refresh_grace_seconds=2
    )
    tab = await tabs.open(await tabs.context(), server.url, "alice")
    await tab.sign_in(alice)
    tokens = [await tab.page.evaluate(STORED_TOKEN)]
    for _ in range(REFRESHES):
        await tab.page.wait_for_function(
            f"previous => {STORED_TOKEN} !== previous", arg=tokens[-1], timeout=15_000
        )
        tokens.append(await tab.page.evaluate(STORED_TOKEN))

    async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
        first = await api.get("/api/users/me", headers={"Authorization": f"Bearer {tokens[0]}"})
    assert first.status_code == 401, "the first token has expired"
    # REST from the page uses the newest token; the event comes back over the same socket.
    thought = f"Still here {uuid.uuid4().hex[:6]}"
    await tab.add_log(thought)
    await expect(tab.feed_rows("memory_log_created", thought)).to_have_count(1)
    await expect(tab.page.locator("#connection")).to_have_attribute("data-state", "live")
    await expect(tab.banner).to_have_attribute("data-state", "")  # never lost, never recovered
    assert len(set(tokens)) == len(tokens)
    console.assert_clean()
