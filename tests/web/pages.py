"""The dashboard as the browser tests drive it: what a person clicks and reads, and a watch on
the console so no test passes while the page logs an error."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import ConsoleMessage, Locator, Page, expect

from tests.support import TestUser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"

# What Chromium itself logs while the server it talks to is unreachable: expected during an
# outage the test causes, an error anywhere else.
NETWORK_FAILURE = re.compile(
    r"WebSocket connection to .* failed|net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|"
    r"INTERNET_DISCONNECTED|CONNECTION_CLOSED|EMPTY_RESPONSE)"
)


@dataclass
class ConsoleWatch:
    """Collects console errors and uncaught exceptions of every page it watches."""

    errors: list[str] = field(default_factory=list)
    tolerated: re.Pattern[str] | None = None

    def watch(self, page: Page, name: str) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type != "error":
                return
            if self.tolerated is not None and self.tolerated.search(message.text):
                return
            self.errors.append(f"{name}: console error: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"{name}: uncaught: {error}"))

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """While the server is down on purpose, Chromium's connection failures are expected."""
        self.tolerated = NETWORK_FAILURE
        try:
            yield
        finally:
            self.tolerated = None

    def assert_clean(self) -> None:
        assert self.errors == [], "\n".join(self.errors)


@dataclass
class Dashboard:
    """One tab showing the dashboard."""

    page: Page
    name: str

    @property
    def feed(self) -> Locator:
        return self.page.locator("#feed > li")

    @property
    def logs(self) -> Locator:
        return self.page.locator("#logs-list > li")

    @property
    def notes(self) -> Locator:
        return self.page.locator("#notes-list > li")

    @property
    def banner(self) -> Locator:
        return self.page.locator("#banner")

    @property
    def banner_text(self) -> Locator:
        return self.page.locator("#banner-text")

    def feed_rows(self, event_type: str, text: str | None = None) -> Locator:
        rows = self.page.locator(f'#feed > li[data-event-type="{event_type}"]')
        return rows.filter(has_text=text) if text is not None else rows

    def online_user(self, user: TestUser) -> Locator:
        return self.page.locator(f'#online-list > li[data-user-id="{user.id}"]')

    async def open(self, url: str) -> None:
        await self.page.goto(url)

    async def sign_in(self, user: TestUser) -> None:
        form = self.page.locator("#sign-in-form")
        await form.get_by_label("Email").fill(user.email)
        await form.get_by_label("Password").fill(user.password)
        await form.get_by_role("button", name="Sign in").click()
        await self.wait_live()

    async def wait_live(self) -> None:
        """Connected, and every room picked has answered."""
        await expect(self.page.locator("#connection")).to_have_attribute("data-state", "live")
        await expect(self.page.locator(".room-state[data-state=joining]")).to_have_count(0)
        await expect(self.page.locator(".room-state[data-state=joined]").first).to_be_visible()

    async def add_log(self, content: str) -> None:
        await self.page.get_by_label("New memory log").fill(content)
        await self.page.get_by_role("button", name="Add log").click()
        await expect(self.logs.filter(has_text=content)).to_have_count(1)

    async def add_note(self, title: str, content: str) -> None:
        form = self.page.locator("#note-form")
        await form.get_by_label("Title").fill(title)
        await form.get_by_label("Note").fill(content)
        await form.get_by_role("button", name="Add note").click()
        await expect(self.notes.filter(has_text=title)).to_have_count(1)

    async def edit_log(self, old: str, new: str) -> None:
        # The item is found by its text, then by its id: its editor shows the text in a field.
        item_id = await self.logs.filter(has_text=old).get_attribute("data-id")
        item = self.page.locator(f'#logs-list > li[data-id="{item_id}"]')
        await item.get_by_role("button", name="Edit").click()
        await item.get_by_role("textbox").fill(new)
        await item.get_by_role("button", name="Save").click()
        await expect(self.logs.filter(has_text=new)).to_have_count(1)

    async def delete_log(self, content: str) -> None:
        await self.logs.filter(has_text=content).get_by_role("button", name="Delete").click()
        await expect(self.logs.filter(has_text=content)).to_have_count(0)

    async def set_room(self, room: str, subscribed: bool) -> None:
        """Tick or untick a room with the keyboard (focus, then Space)."""
        box = self.page.locator(f'#room-list input[value="{room}"]')
        if await box.is_checked() == subscribed:
            return
        await box.focus()
        await self.page.keyboard.press("Space")
        state = self.page.locator(f'#room-list li[data-room="{room}"] .room-state')
        await expect(state).to_have_attribute("data-state", "joined" if subscribed else "left")

    async def set_status(self, status: str) -> None:
        await self.page.get_by_label("Set status").select_option(status)
        await self.page.locator("#status-form").get_by_role("button", name="Set").click()
        await expect(self.page.locator("#my-status")).to_have_text(status)

    async def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=path, full_page=True)
        return path
