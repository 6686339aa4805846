"""Fixtures of the browser tests: Debian's chromium (the system is tests/conftest.py's).

Playwright (the Python package) drives /usr/bin/chromium; no browser is ever downloaded
(`playwright install` fails on these machines). Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from izin.sop import Role
from izin_local.testing import System
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

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


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where the screenshots go (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def sign_in_as_kepala_bidang(system: System, tab: Page) -> None:
    """Sign the tab in as the Kepala Bidang (code from the roster) and open /konsol."""
    kabid = system.endpoints.roster.first(Role.KEPALA_BIDANG)
    tab.goto(f"{system.runtime.http_url}/konsol")
    assert tab.url.endswith("/masuk")  # no session yet
    tab.get_by_label("NIP").fill(kabid.nip)
    tab.get_by_label("Kode autentikator").fill(system.browsers.codes.next(kabid.nip))
    tab.get_by_role("button", name="Masuk").click()
    tab.wait_for_load_state()
    tab.goto(f"{system.runtime.http_url}/konsol")
    expect(tab.locator("h1")).to_have_text("Konsol Dinas")
