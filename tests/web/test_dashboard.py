"""The dashboard at `/` in headless Chromium: tabs of two users and an admin, live delivery,
presence, a server restart the page recovers from, and a phone-sized, keyboard-only session."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
from playwright.async_api import expect

from src.core.config import Settings
from tests.web.conftest import Tabs
from tests.web.pages import ConsoleWatch, Dashboard
from tests.web.server import RestartableServer

if TYPE_CHECKING:  # imported for annotations only: pytest would try to collect `TestUser`
    from tests.support import LiveServer, TestUser


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:6]}"


async def event_ids(tab: Dashboard, event_type: str, text: str) -> list[str]:
    rows = await tab.feed_rows(event_type, text).all()
    return [await row.get_attribute("data-event-id") or "" for row in rows]


async def test_a_log_created_in_one_tab_reaches_the_users_other_tab_and_never_another_user(
    tabs: Tabs,
    console: ConsoleWatch,
    live_server: LiveServer,
    alice: TestUser,
    bob: TestUser,
    artifact_suffix: str,
) -> None:
    alice_browser, bob_browser = await tabs.context(), await tabs.context()
    first = await tabs.open(alice_browser, live_server.url, "alice-1")
    await first.sign_in(alice)
    # A second tab of the same browser profile: already signed in.
    second = await tabs.open(alice_browser, live_server.url, "alice-2")
    await second.wait_live()
    bobs = await tabs.open(bob_browser, live_server.url, "bob")
    await bobs.sign_in(bob)

    thought = unique("Alice remembers the sea")
    await first.add_log(thought)
    await expect(second.logs.filter(has_text=thought)).to_have_count(1)
    created = second.feed_rows("memory_log_created", thought)
    await expect(created).to_have_count(1)
    await expect(created.locator(".event-rooms")).to_contain_text("memory_logs")
    await expect(first.feed_rows("memory_log_created", thought)).to_have_count(1)
    # Both tabs show the same event: one event_id, as the server numbered it.
    assert await event_ids(first, "memory_log_created", thought) == await event_ids(
        second, "memory_log_created", thought
    )

    edited = unique("Alice remembers the whole coast")
    await second.edit_log(thought, edited)
    await expect(first.logs.filter(has_text=edited)).to_have_count(1)
    await expect(first.feed_rows("memory_log_updated", edited)).to_have_count(1)

    note = unique("Call the lighthouse keeper")
    await second.add_note(note, "before Friday")
    await expect(first.notes.filter(has_text=note)).to_have_count(1)
    await expect(first.feed_rows("mental_note_created", note)).to_have_count(1)

    await first.delete_log(edited)
    await expect(second.logs.filter(has_text=edited)).to_have_count(0)
    await expect(second.feed_rows("memory_log_deleted")).to_have_count(1)

    # Bob's own log reaches Bob; events reach a socket in id order, so had any of Alice's
    # (all older) been sent to him, they would be on his page by now.
    bobs_log = unique("Bob's shopping list")
    await bobs.add_log(bobs_log)
    await expect(bobs.feed_rows("memory_log_created", bobs_log)).to_have_count(1)
    await expect(bobs.page.get_by_text(re.compile("Alice remembers"))).to_have_count(0)
    await expect(bobs.page.get_by_text(note)).to_have_count(0)
    await expect(bobs.feed_rows("memory_log_deleted")).to_have_count(0)
    await expect(first.page.get_by_text(bobs_log)).to_have_count(0)

    await first.screenshot(f"alice-first-tab-{artifact_suffix}")
    await second.screenshot(f"alice-second-tab-{artifact_suffix}")
    await bobs.screenshot(f"bob-{artifact_suffix}")
    console.assert_clean()


async def test_the_admin_sees_bob_come_online_change_status_and_leave(
    tabs: Tabs,
    console: ConsoleWatch,
    live_server: LiveServer,
    admin: TestUser,
    bob: TestUser,
    artifact_suffix: str,
) -> None:
    admins = await tabs.open(await tabs.context(), live_server.url, "admin")
    await admins.sign_in(admin)
    await expect(admins.online_user(admin)).to_have_attribute("data-status", "online")
    await expect(admins.online_user(bob)).to_have_count(0)

    bob_browser = await tabs.context()
    bobs = await tabs.open(bob_browser, live_server.url, "bob")
    await bobs.sign_in(bob)
    await expect(admins.online_user(bob)).to_have_attribute("data-status", "online")
    await expect(bobs.page.locator("#my-status")).to_have_text("online")

    await bobs.set_status("busy")
    await expect(admins.online_user(bob)).to_have_attribute("data-status", "busy")
    await expect(admins.feed_rows("user_status_changed", '"status":"busy"')).to_have_count(1)

    message = unique("Maintenance at noon")
    await admins.page.get_by_label("Message", exact=True).fill(message)
    await admins.page.get_by_label("Level").select_option("warning")
    await admins.page.get_by_role("button", name="Send").click()
    await expect(admins.page.locator("#notify-result")).to_contain_text("Sent to everyone")
    await expect(bobs.feed_rows("notification", message)).to_have_count(1)
    await expect(bobs.page.locator("#last-notification")).to_contain_text(message)
    await bobs.screenshot(f"bob-notified-{artifact_suffix}")
    await admins.add_log(unique("Review the week's notes"))
    await admins.screenshot(f"dashboard-admin-{artifact_suffix}")  # README's picture

    await bobs.page.close()
    await expect(admins.online_user(bob)).to_have_count(0)
    await expect(admins.feed_rows("user_status_changed", '"status":"offline"')).to_have_count(1)
    await admins.screenshot(f"admin-{artifact_suffix}")
    console.assert_clean()


async def test_the_page_recovers_the_events_it_missed_while_the_server_restarted(
    tabs: Tabs,
    console: ConsoleWatch,
    settings_factory: Callable[..., Settings],
    alice: TestUser,
    bob: TestUser,
    artifact_suffix: str,
) -> None:
    server = RestartableServer(settings_factory())  # one database, one fixed SECRET_KEY
    await asyncio.to_thread(server.start)
    try:
        alice_browser = await tabs.context()
        tab = await tabs.open(alice_browser, server.url, "alice")
        await tab.sign_in(alice)
        # Only the two data rooms, so the count below is exact (no status events).
        await tab.set_room("notifications", False)
        await tab.set_room(f"user_{alice.id}", False)
        before = unique("Written before the restart")
        await tab.add_log(before)
        await expect(tab.feed_rows("memory_log_created", before)).to_have_count(1)

        with console.outage():
            await asyncio.to_thread(server.stop)
            await expect(tab.banner).to_have_attribute("data-state", "lost")
            await expect(tab.banner_text).to_contain_text("Reconnecting")
            await expect(tab.page.locator("#connection")).to_have_text("Reconnecting…")
            await tab.screenshot(f"restart-connection-lost-{artifact_suffix}")
            # Keep this browser away while the restarted server takes writes from elsewhere,
            # so they are surely missed by the page, not delivered live.
            await alice_browser.set_offline(True)
            await asyncio.to_thread(server.start)
            missed = [unique("Written while you were away"), unique("And this one too")]
            note = unique("A note from the phone")
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                for content in missed:
                    response = await http.post(
                        "/api/memory-logs", json={"content": content}, headers=alice.headers
                    )
                    assert response.status_code == 201, response.text
                response = await http.post(
                    "/api/mental-notes", json={"title": note}, headers=alice.headers
                )
                assert response.status_code == 201, response.text
                response = await http.post(
                    "/api/memory-logs", json={"content": "Bob's, not Alice's"}, headers=bob.headers
                )
                assert response.status_code == 201, response.text
            await expect(tab.banner).to_have_attribute("data-state", "lost")
            await alice_browser.set_offline(False)
            await expect(tab.banner).to_have_attribute("data-state", "recovered", timeout=20_000)

        await expect(tab.banner_text).to_have_text("Reconnected. Recovered 3 missed events.")
        for content in missed:
            await expect(tab.feed_rows("memory_log_created", content)).to_have_count(1)
            await expect(tab.logs.filter(has_text=content)).to_have_count(1)
        await expect(tab.feed_rows("mental_note_created", note)).to_have_count(1)
        await expect(tab.notes.filter(has_text=note)).to_have_count(1)
        await expect(tab.page.locator("#feed > li[data-recovered]")).to_have_count(3)
        await expect(tab.page.get_by_text("Bob's, not Alice's")).to_have_count(0)
        # Nothing twice: the event from before the restart is still there once.
        await expect(tab.feed_rows("memory_log_created", before)).to_have_count(1)
        await expect(tab.page.locator("#connection")).to_have_text("Live")

        # And the page is live again on the restarted server.
        after = unique("Written after the restart")
        await tab.add_log(after)
        await expect(tab.feed_rows("memory_log_created", after)).to_have_count(1)
        await tab.screenshot(f"restart-recovered-{artifact_suffix}")
        assert server.starts == 2
        console.assert_clean()
    finally:
        await asyncio.to_thread(server.stop)


async def test_the_dashboard_fits_a_phone_and_works_from_the_keyboard(
    tabs: Tabs,
    console: ConsoleWatch,
    live_server: LiveServer,
    artifact_suffix: str,
) -> None:
    phone = await tabs.context(width=375, height=740)
    tab = await tabs.open(phone, live_server.url, "phone")
    keyboard = tab.page.keyboard
    email = f"kim-{uuid.uuid4().hex[:6]}@example.com"

    # Focus starts in the sign-in email field; three Tabs reach the registration form.
    await expect(tab.page.locator("#sign-in-email")).to_be_focused()
    await tab.screenshot(f"phone-sign-in-{artifact_suffix}")
    for _ in range(3):
        await keyboard.press("Tab")
    await expect(tab.page.locator("#register-email")).to_be_focused()
    await keyboard.type(email)
    await keyboard.press("Tab")
    await keyboard.type("correct-horse-battery")
    await keyboard.press("Tab")
    await keyboard.type("Kim")
    await keyboard.press("Enter")
    await tab.wait_live()
    await expect(tab.page.locator("#whoami-name")).to_have_text("Kim")

    content = unique("Typed without a mouse")
    await tab_to(tab, "#log-content")
    await keyboard.type(content)
    await keyboard.press("Tab")
    await expect(tab.page.get_by_role("button", name="Add log")).to_be_focused()
    await keyboard.press("Enter")
    await expect(tab.logs.filter(has_text=content)).to_have_count(1)
    await expect(tab.feed_rows("memory_log_created", content)).to_have_count(1)

    width: dict[str, Any] = await tab.page.evaluate(
        "({page: document.documentElement.scrollWidth, viewport: window.innerWidth})"
    )
    assert width["page"] <= width["viewport"], f"the page scrolls sideways at 375px: {width}"
    await tab.screenshot(f"phone-{artifact_suffix}")
    console.assert_clean()


async def tab_to(tab: Dashboard, selector: str, presses: int = 40) -> None:
    """Press Tab until `selector` has the focus, as a keyboard user would."""
    target = tab.page.locator(selector)
    for _ in range(presses):
        if await target.evaluate("element => element === document.activeElement"):
            return
        await tab.page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with Tab")
