"""A reloaded dashboard resumes its rooms from the cursors kept in sessionStorage: events written
(through REST) while the page reloads are shown once, by the old page or by the new one."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import TYPE_CHECKING

import httpx
from playwright.async_api import Page, expect

from tests.web.conftest import Tabs
from tests.web.pages import ConsoleWatch

if TYPE_CHECKING:  # imported for annotations only: pytest would try to collect `TestUser`
    from tests.support import LiveServer, TestUser

EVENTS = 90
PAUSE_SECONDS = 0.04
RELOAD_AFTER = 20

# Every page load records each feed row it adds, as [page load, event id], in the tab's
# sessionStorage: written in the same task as the row, kept across the reload like the client's
# own cursors. (Console messages were the first way, but one logged as the page unloads may
# never reach Playwright: a row shown just before the reload then counted as missing.)
SHOWN_KEY = "mindwire-test-shown"
REPORT_ROWS = """
const load = Math.random().toString(36).slice(2);
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver((changes) => {
    const shown = JSON.parse(sessionStorage.getItem("SHOWN_KEY") ?? "[]");
    for (const change of changes) for (const row of change.addedNodes) {
      if (row.dataset && row.dataset.eventId) shown.push([load, Number(row.dataset.eventId)]);
    }
    sessionStorage.setItem("SHOWN_KEY", JSON.stringify(shown));
  }).observe(document.getElementById("feed"), { childList: true });
});
""".replace("SHOWN_KEY", SHOWN_KEY)


async def shown_by_load(page: Page) -> dict[str, list[int]]:
    """The event ids each page load of the tab added to its feed, page loads in order."""
    loads: dict[str, list[int]] = {}
    for load, event_id in json.loads(
        await page.evaluate(f"sessionStorage.getItem('{SHOWN_KEY}')") or "[]"
    ):
        loads.setdefault(load, []).append(event_id)
    return loads


async def write_logs(
    url: str, user: TestUser, marker: str, times: dict[int, float], halfway: asyncio.Event
) -> None:
    """Create EVENTS memory logs, one at a time; `times` maps each log id to its write time.
    `halfway` is set once RELOAD_AFTER are written."""
    async with httpx.AsyncClient(base_url=url, headers=user.headers, timeout=10) as api:
        for index in range(EVENTS):
            response = await api.post("/api/memory-logs", json={"content": f"{marker} {index}"})
            assert response.status_code == 201, response.text
            times[response.json()["id"]] = time.monotonic()
            if len(times) == RELOAD_AFTER:
                halfway.set()
            await asyncio.sleep(PAUSE_SECONDS)


async def created_event_ids(url: str, user: TestUser, marker: str) -> dict[int, int]:
    """log id -> event id of the `memory_log_created` events of this test, read through REST."""
    found: dict[int, int] = {}
    async with httpx.AsyncClient(base_url=url, headers=user.headers, timeout=10) as api:
        after = 0
        while True:
            params: dict[str, str | int] = {"room": "memory_logs", "after": after, "limit": 100}
            response = await api.get("/api/events", params=params)
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            for item in items:
                after = item["event_id"]
                content = str(item["data"].get("content", ""))
                if item["event_type"] == "memory_log_created" and content.startswith(marker):
                    found[item["data"]["id"]] = item["event_id"]
            if len(items) < 100:
                return found


async def test_events_written_while_the_page_reloads_are_shown_once(
    tabs: Tabs, console: ConsoleWatch, live_server: LiveServer, alice: TestUser
) -> None:
    context = await tabs.context()
    await context.add_init_script(REPORT_ROWS)
    tab = await tabs.open(context, live_server.url, "alice")
    await tab.sign_in(alice)

    marker = f"reload {uuid.uuid4().hex[:6]}"
    times: dict[int, float] = {}
    halfway = asyncio.Event()
    writer = asyncio.create_task(write_logs(live_server.url, alice, marker, times, halfway))
    await asyncio.wait_for(halfway.wait(), timeout=30)
    reload_started = time.monotonic()
    await tab.page.reload()
    await tab.wait_live()
    reloaded = time.monotonic()
    await writer

    events = await created_event_ids(live_server.url, alice, marker)
    assert len(events) == EVENTS
    # A barrier: the last event reaches the new page after every earlier one it will show.
    last = max(events.values())
    await expect(tab.page.locator(f'#feed > li[data-event-id="{last}"]')).to_have_count(1)

    loads = await shown_by_load(tab.page)
    assert len(loads) == 2, loads.keys()
    before, after = (set(ids) & set(events.values()) for ids in loads.values())
    sent = set(events.values())
    counts = {
        "sent": len(sent),
        "shown before the reload": len(before),
        "shown after": len(after),
        "missing": len(sent - before - after),
        "repeated": len(before & after) + sum(len(ids) - len(set(ids)) for ids in loads.values()),
        "written while reloading": sum(reload_started <= at <= reloaded for at in times.values()),
    }
    sys.stderr.write(f"\n[dashboard reload] {counts}\n")
    assert counts["missing"] == 0
    assert counts["repeated"] == 0
    assert counts["written while reloading"] > 0, "the writes did not overlap the reload"
    assert after, "the new page showed none of them"
    console.assert_clean()
