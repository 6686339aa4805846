"""Fixtures of the browser tests: Debian's chromium (the system is tests/conftest.py's).

Playwright (the Python package) drives /usr/bin/chromium; no browser is ever downloaded
(`playwright install` fails on these machines). Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from izin.roster import Officer
from izin.sessions import COOKIE
from izin.sop import Role
from izin_local.officer import known_session, remember_session
from izin_local.testing import System
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
# A page is the runtime's work (Lambda, Step Functions, DynamoDB, all on moto): generous
# waits, so that a loaded machine is slow rather than failing.
TIMEOUT_MS = 60_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, closed at the end of the session."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` (apt-get install -y chromium)")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh desktop-sized tab with its own cookies."""
    context = browser.new_context(viewport=DESKTOP, locale="id-ID")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A tab as a phone shows it: 390×844 CSS pixels, touch, the page's own viewport meta."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="id-ID"
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def tab(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """A fresh tab with its own cookies: at a phone's width (touch), then at a desktop's."""
    viewport: ViewportSize = request.param
    mobile = viewport == PHONE
    context = browser.new_context(
        viewport=viewport, is_mobile=mobile, has_touch=mobile, locale="id-ID"
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


Desk = Callable[[System, Officer], Page]


@pytest.fixture
def desk(browser: Browser) -> Iterator[Desk]:
    """`desk(system, officer)`: that officer's own browser, a desktop tab (the same one each
    time), holding the session the officer's earlier sign-in on this system started if
    there was one, as a person's browser keeps it all day."""
    desks: dict[str, Page] = {}

    def open_desk(system: System, officer: Officer) -> Page:
        if officer.nip not in desks:
            context = browser.new_context(viewport=DESKTOP, locale="id-ID")
            context.set_default_timeout(TIMEOUT_MS)
            carry_session(context, system, officer)
            desks[officer.nip] = context.new_page()
        return desks[officer.nip]

    try:
        yield open_desk
    finally:
        for tab in desks.values():
            tab.context.close()


def carry_session(context: BrowserContext, system: System, officer: Officer) -> bool:
    """Put the officer's session on this system (if a sign-in started one) in the browser's
    cookie jar; whether there was one."""
    url = system.runtime.http_url
    cookie = known_session(url, officer.nip)
    if cookie:
        name, value = cookie.split("=", 1)
        context.add_cookies([{"name": name, "value": value, "url": url}])
    return bool(cookie)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where the screenshots go (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def width_of(tab: Page) -> str:
    """The width the tab shows pages at: "phone" or "desktop"."""
    size = tab.viewport_size
    return "phone" if size is not None and size["width"] < 500 else "desktop"


def press(tab: Page, button: Locator) -> int:
    """Press a form's button: the status the POST itself answered (before any redirect)."""
    with tab.expect_response(lambda answer: answer.request.method == "POST") as posted:
        button.click()
    tab.wait_for_load_state()
    return posted.value.status


def sign_in(system: System, tab: Page, officer: Officer) -> None:
    """The officer's browser, signed in, at /meja. The first time on this system, at
    /masuk with NIP and code; after that with the session it started, as a person's browser
    keeps it all day (test_second_factor_browser signs in and out on its own system)."""
    url = system.runtime.http_url
    if carry_session(tab.context, system, officer):
        tab.goto(f"{url}/meja")
        if tab.url.endswith("/meja"):
            return
        remember_session(url, officer.nip, "")  # it ended: /meja sent the tab to /masuk
    tab.goto(f"{url}/masuk")
    tab.get_by_label("NIP").fill(officer.nip)
    tab.get_by_label("Kode autentikator").fill(system.browsers.codes.next(officer.nip))
    assert press(tab, tab.get_by_role("button", name="Masuk")) == 303
    assert tab.url.endswith("/meja")
    started = next(c for c in tab.context.cookies(url) if c["name"] == COOKIE)
    remember_session(url, officer.nip, f"{COOKIE}={started['value']}")


def sign_in_as_kepala_bidang(system: System, tab: Page) -> None:
    """Sign the tab in as the Kepala Bidang and open /konsol."""
    sign_in(system, tab, system.endpoints.roster.first(Role.KEPALA_BIDANG))
    tab.goto(f"{system.runtime.http_url}/konsol")
    expect(tab.locator("h1")).to_have_text("Konsol Dinas")
