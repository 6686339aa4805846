"""The officers' workspace in a real browser (issue #14), at a phone's and a desktop's width.

The Operator signs in (NIP and a code from the local roster, or the session that sign-in
started), finds the new application's task under "Tugas saya", opens it from there (no
email link, no ticket in the URL) and decides it with the session; the application's
page shows where it stands. A Tim Teknis member, signed in, cannot open an application
they are not assigned to, nor another role's task (403).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from izin.sop import Role
from izin_local.scenario import submit, wait_for_step
from izin_local.testing import System
from playwright.sync_api import Page, expect

from tests.e2e.conftest import press, sign_in, width_of

pytestmark = pytest.mark.e2e

DECIDED = "Terima kasih, keputusan tersimpan"


def fits(tab: Page) -> bool:
    root = "document.documentElement"
    return bool(tab.evaluate(f"{root}.scrollWidth - {root}.clientWidth") == 0)


def test_tugas_saya_opens_the_task_and_the_session_decides_it(
    system: System, tab: Page, artifacts: Path
) -> None:
    width = width_of(tab)
    id_izin = f"IP-MEJA-{width[0].upper()}1"
    submit(system.endpoints, id_izin, nama=f"PT Meja Kerja {width}")
    wait_for_step(system.endpoints, id_izin, 4)
    operator = system.endpoints.roster.first(Role.OPERATOR)
    sign_in(system, tab, operator)
    task = tab.locator(f"#tugas-saya li[data-id-izin='{id_izin}']")
    expect(task).to_contain_text(f"PT Meja Kerja {width}")
    expect(task).to_contain_text("Batas")
    assert fits(tab)
    tab.screenshot(path=artifacts / f"meja-{width}.png", full_page=True)

    task.get_by_role("link").click()
    assert tab.url.endswith(f"/meja/tugas/{id_izin}")
    expect(tab.locator("#masuk-sebagai")).to_contain_text(operator.nama)
    expect(tab.locator("#f-kode")).to_have_count(0)
    assert press(tab, tab.get_by_role("button", name="Notifikasi diterima")) == 200
    expect(tab.locator("h1")).to_have_text(DECIDED)
    decided = [e for e in system.endpoints.store.audit(id_izin) if e["action"] == "task.decided"]
    assert [(e["step"], e["via"][:8]) for e in decided] == [(4, "session:")]

    # The decision is in Riwayat saya; the application's page shows it and where it stands.
    tab.goto(f"{system.runtime.http_url}/meja")
    expect(tab.locator("#riwayat-saya")).to_contain_text(id_izin)
    tab.goto(f"{system.runtime.http_url}/permohonan/{id_izin}")
    expect(tab.locator("#posisi svg")).to_be_visible()
    expect(tab.locator("#riwayat")).to_contain_text(operator.nama)
    assert fits(tab)
    tab.screenshot(path=artifacts / f"permohonan-{width}.png", full_page=True)


def test_a_tim_teknis_member_cannot_open_another_application_nor_another_roles_task(
    system: System, page: Page
) -> None:
    id_izin = "IP-MEJA-TT1"
    submit(system.endpoints, id_izin, nama="PT Bukan Tim")
    wait_for_step(system.endpoints, id_izin, 4)  # the Operator's task
    member = system.endpoints.roster.first(Role.TIM_TEKNIS)
    sign_in(system, page, member)
    expect(page.locator("#tugas-saya")).not_to_contain_text(id_izin)
    shown = page.goto(f"{system.runtime.http_url}/permohonan/{id_izin}")
    assert shown is not None and shown.status == 403
    expect(page.locator("main")).not_to_contain_text("PT Bukan Tim")
    task = page.goto(f"{system.runtime.http_url}/meja/tugas/{id_izin}")
    assert task is not None and task.status == 403
    expect(page.locator("h1")).to_have_text("Bukan tugas Anda")
    page.goto(f"{system.runtime.http_url}/meja?q=PT+Bukan+Tim")
    expect(page.locator("#cari")).to_contain_text("Tidak ada permohonan yang cocok")
