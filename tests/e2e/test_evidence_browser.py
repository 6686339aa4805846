"""A field photo uploaded from the step 10 page in a real browser with JavaScript off: the
page's plain form posts it to S3 (moto) under the page's CSP, S3 sends the browser back,
and the page lists the file; the page fits a phone's width."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from izin.sop import Role
from izin_local.officer import Officer
from izin_local.scenario import submit, wait_for_step
from izin_local.testing import System
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.e2e.conftest import ARTIFACTS, PHONE, TIMEOUT_MS

pytestmark = pytest.mark.e2e

PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 64


@pytest.fixture
def no_script_phone(browser: Browser) -> Iterator[Page]:
    """A phone's tab that runs no JavaScript: the upload must work with plain HTML."""
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, java_script_enabled=False, locale="id-ID"
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_field_photo_is_uploaded_without_javascript(
    system: System, no_script_phone: Page
) -> None:
    page, id_izin = no_script_phone, "IP-E2E-LAMPIRAN"
    ketua = system.endpoints.roster.first(Role.TIM_TEKNIS)
    submit(system.endpoints, id_izin, nama="PT Peramban Foto")
    wait_for_step(system.endpoints, id_izin, 4)
    officer = Officer(system.endpoints.outbox, id_izin, system.endpoints.roster)
    for step, decision in ((4, "done"), (5, "done"), (6, "done"), (7, "done"), (8, "yes")):
        assert officer.act(step, decision).status == 200
    link = next(link for link in officer.task_email(10).links if "/tasks/" in link)

    response = page.goto(link)
    assert response is not None and response.status == 200
    expect(page.locator("#lampiran")).to_contain_text("Belum ada lampiran.")
    photo: FilePayload = {"name": "tangki-cpo.jpg", "mimeType": "image/jpeg", "buffer": PHOTO}
    page.set_input_files("#f-berkas", files=photo)
    with page.expect_navigation(url=link) as navigation:
        page.get_by_role("button", name="Unggah lampiran").click()
    assert navigation.value is not None and navigation.value.status == 200
    listed = page.locator("#lampiran ul.lampiran li")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("tangki-cpo.jpg")
    expect(listed).to_contain_text(f"diunggah {ketua.nama}")
    folder = ARTIFACTS / "step10-lampiran"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / "task-phone-390x844.png", full_page=True)
    root = "document.documentElement"
    # No script runs in this tab; the width is read through Playwright's own evaluation.
    assert page.evaluate(f"{root}.scrollWidth - {root}.clientWidth") == 0
