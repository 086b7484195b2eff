"""Browser tests: Debian's Chromium, driven by Playwright, against a real
`clarion serve`. Every request the browser makes is recorded, and a test fails
if one went to any host other than Clarion's own."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.support.accounts import ADMIN_EMAIL, ADMIN_PASSWORD, serve_with_admin
from tests.support.processes import Server

pytestmark = pytest.mark.slow

SCREENS = Path(__file__).resolve().parents[2] / "docs" / "console"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
# what a closed network needs: no background fetches, no first-run pages
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    return found


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = serve_with_admin(tmp_path_factory.mktemp("console"))
    try:
        yield server
    finally:
        server.stop()


# Per module, not per session: while Playwright's sync API is open it keeps an
# event loop running in this thread, and every later test's asyncio.run() fails.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Console:
    """A signed-in (or not yet signed-in) browser tab on the console."""

    url: str
    page: Page
    context: BrowserContext
    requests: list[str] = field(default_factory=list)

    def open(self, path: str) -> Page:
        self.page.goto(f"{self.url}{path}")
        return self.page

    def sign_in(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> Page:
        page = self.open("/console/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("networkidle")
        return page

    def shoot(self, name: str) -> None:
        """The current page at a laptop's and a phone's size, for docs/console.md."""
        SCREENS.mkdir(parents=True, exist_ok=True)
        page = self.page
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(150)
            page.screenshot(path=str(SCREENS / f"{name}-{size}.png"))
        page.set_viewport_size({"width": 1280, "height": 800})

    def foreign_requests(self) -> list[str]:
        own = urlsplit(self.url).netloc
        return [url for url in self.requests if urlsplit(url).netloc != own]


def new_console(browser: Browser, url: str) -> Console:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    console = Console(url, page, context)
    # every request, from the page, its scripts and any worker or frame
    context.on("request", lambda request: console.requests.append(request.url))
    return console


@pytest.fixture
def console(browser: Browser, console_server: Server) -> Iterator[Console]:
    opened = new_console(browser, console_server.url)
    try:
        yield opened
        assert opened.foreign_requests() == [], "the console asked another host"
    finally:
        opened.context.close()


@pytest.fixture
def admin_console(console: Console) -> Console:
    console.sign_in()
    assert console.page.url.endswith("/console/overview"), console.page.inner_text("main")
    return console
