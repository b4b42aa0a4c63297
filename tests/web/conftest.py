"""Browser fixtures: the dashboard built once per session, Debian's Chromium driven by Playwright,
and a console watch. Skipped, with the reason shown, only where /usr/bin/chromium is missing or
the page is not built and npm is missing to build it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright, expect

from tests.web.pages import ConsoleWatch, Dashboard

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
BUILT_INDEX = WEB / "dist" / "index.html"
# Everything the build reads: a change to any of these makes web/dist stale.
BUILD_INPUTS = [
    WEB / "src",
    WEB / "static",
    WEB / "scripts",
    WEB / "tsconfig.json",
    WEB / "package-lock.json",
    ROOT / "clients" / "typescript" / "src",
]

expect.set_options(timeout=10_000)


def _newest_input() -> float:
    files = [path for entry in BUILD_INPUTS for path in [entry, *entry.rglob("*")]]
    return max(path.stat().st_mtime for path in files if path.is_file())


def _run(command: list[str]) -> None:
    result = subprocess.run(
        command, cwd=WEB, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} in web/ failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def dashboard_build() -> Path:
    """web/dist, built now if it is missing or older than its sources (npm ci + npm run build)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium` to run the browser tests")
    if BUILT_INDEX.is_file() and BUILT_INDEX.stat().st_mtime >= _newest_input():
        return BUILT_INDEX
    npm = shutil.which("npm")
    if npm is None:
        if BUILT_INDEX.is_file():
            return BUILT_INDEX  # older than its sources, but nothing here can rebuild it
        pytest.skip("web/dist is not built and npm is missing: install Node.js 20+ to build it")
    digest = hashlib.sha256((WEB / "package-lock.json").read_bytes()).hexdigest()
    stamp = WEB / "node_modules" / ".mindwire-lock.sha256"
    if not stamp.exists() or stamp.read_text() != digest:
        _run([npm, "ci", "--no-audit", "--no-fund"])
        stamp.write_text(digest)
    _run([npm, "run", "build"])
    return BUILT_INDEX


@pytest.fixture
async def browser(dashboard_build: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


class Tabs:
    """Opens dashboard tabs in browser contexts (a context is one person's browser profile)."""

    def __init__(self, browser: Browser, console: ConsoleWatch) -> None:
        self.browser = browser
        self.console = console

    async def context(self, *, width: int = 1280, height: int = 900) -> BrowserContext:
        return await self.browser.new_context(viewport={"width": width, "height": height})

    async def open(self, context: BrowserContext, url: str, name: str) -> Dashboard:
        page = await context.new_page()
        self.console.watch(page, name)
        tab = Dashboard(page, name)
        await tab.open(url)
        return tab


@pytest.fixture
def tabs(browser: Browser, console: ConsoleWatch) -> Tabs:
    return Tabs(browser, console)


@pytest.fixture
def artifact_suffix(stack: str) -> str:
    """Screenshots of each stack are kept apart: `…-sqlite-memory.png`, `…-postgres-redis.png`."""
    return "sqlite-memory" if stack == "embedded" else "postgres-redis"
