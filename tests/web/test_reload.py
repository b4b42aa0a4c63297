"""A reloaded dashboard resumes its rooms from the cursors kept in sessionStorage: events written
(through REST) while the page reloads are shown once, by the old page or by the new one."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from typing import TYPE_CHECKING

import httpx
from playwright.async_api import ConsoleMessage, expect

from tests.web.conftest import Tabs
from tests.web.pages import ConsoleWatch

if TYPE_CHECKING:  # imported for annotations only: pytest would try to collect `TestUser`
    from tests.support import LiveServer, TestUser

EVENTS = 90
PAUSE_SECONDS = 0.04
RELOAD_AFTER = 20

# Every page load reports each feed row it adds: "mindwire-shown <page load> <event id>".
REPORT_ROWS = """
const load = Math.random().toString(36).slice(2);
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver((changes) => {
    for (const change of changes) for (const row of change.addedNodes) {
      if (row.dataset && row.dataset.eventId) {
        console.log(`mindwire-shown ${load} ${row.dataset.eventId}`);
      }
    }
  }).observe(document.getElementById("feed"), { childList: true });
});
"""


class Shown:
    """The event ids each page load added to its feed, in the order the page loads came."""

    def __init__(self) -> None:
        self.loads: dict[str, list[int]] = {}

    def on_console(self, message: ConsoleMessage) -> None:
        parts = message.text.split()
        if len(parts) == 3 and parts[0] == "mindwire-shown":
            self.loads.setdefault(parts[1], []).append(int(parts[2]))


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
    shown = Shown()
    tab = await tabs.open(context, live_server.url, "alice")
    tab.page.on("console", shown.on_console)
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

    assert len(shown.loads) == 2, shown.loads.keys()
    before, after = (set(ids) & set(events.values()) for ids in shown.loads.values())
    sent = set(events.values())
    counts = {
        "sent": len(sent),
        "shown before the reload": len(before),
        "shown after": len(after),
        "missing": len(sent - before - after),
        "repeated": len(before & after)
        + sum(len(ids) - len(set(ids)) for ids in shown.loads.values()),
        "written while reloading": sum(reload_started <= at <= reloaded for at in times.values()),
    }
    sys.stderr.write(f"\n[dashboard reload] {counts}\n")
    assert counts["missing"] == 0
    assert counts["repeated"] == 0
    assert counts["written while reloading"] > 0, "the writes did not overlap the reload"
    assert after, "the new page showed none of them"
    console.assert_clean()
