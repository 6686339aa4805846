"""The Dinas's console in a real browser (issue #15), at a phone's and a desktop's width:
the Kepala Bidang signs in, filters /konsol to the overdue application, and downloads the
month's XLSX, whose numbers are counted here from the audit trail."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from izin.calendar import to_wib
from izin_local.officer import Officer
from izin_local.scenario import submit, wait_for_step
from izin_local.testing import System
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in_as_kepala_bidang

pytestmark = pytest.mark.e2e


def test_the_list_filters_to_an_overdue_application(system: System, tab: Page) -> None:
    width = "P" if (tab.viewport_size or {"width": 0})["width"] < 500 else "D"
    late, fresh = f"IP-KONSOL-LATE-{width}", f"IP-KONSOL-BARU-{width}"
    for id_izin in (late, fresh):
        submit(system.endpoints, id_izin, nama=f"PT Konsol {id_izin[-6:]}")
    for id_izin in (late, fresh):
        wait_for_step(system.endpoints, id_izin, 4)
    # The Operator let step 4's deadline pass: moved to the past in the table (no sleeping).
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    system.endpoints.store.update_application(late, {"deadline": past})

    sign_in_as_kepala_bidang(system, tab)
    tab.get_by_label("Keadaan SLA").select_option("terlambat")
    tab.get_by_role("button", name="Tampilkan").click()
    tab.wait_for_load_state()
    rows = tab.locator("#permohonan li.row")
    row = tab.locator(f'#permohonan li.row[data-id="{late}"]')
    expect(row).to_contain_text("Terlambat")
    shown = [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]
    assert late in shown and fresh not in shown
    for i in range(rows.count()):  # only the overdue (other modules' applications too)
        expect(rows.nth(i)).to_contain_text("Terlambat")
    expect(row.locator("a")).to_have_attribute("href", f"/permohonan/{late}")
    root = "document.documentElement"
    assert tab.evaluate(f"{root}.scrollWidth - {root}.clientWidth") == 0  # fits the width


def test_the_month_s_xlsx_holds_the_numbers_of_the_audit_trail(system: System, tab: Page) -> None:
    width = "P" if (tab.viewport_size or {"width": 0})["width"] < 500 else "D"
    id_izin = f"IP-KONSOL-XLSX-{width}"
    submit(system.endpoints, id_izin, nama=f"PT Laporan {width}")
    officer = Officer(system.endpoints.outbox, id_izin, system.endpoints.roster)
    assert officer.act(4, "done").status == 200  # one task decided this month, at step 4
    sign_in_as_kepala_bidang(system, tab)
    bulan = to_wib(datetime.now(UTC)).strftime("%Y-%m")
    tab.goto(f"{system.runtime.http_url}/konsol/laporan?bulan={bulan}")
    with tab.expect_download() as download:
        tab.get_by_role("link", name="Unduh XLSX").click()
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    store = system.endpoints.store
    trails = [store.audit(str(a["id_izin"])) for a in store.applications(1000)]

    def in_month(at: str) -> bool:
        return to_wib(datetime.fromisoformat(at)).strftime("%Y-%m") == bulan

    def count(action: str) -> int:
        return sum(e["action"] == action and in_month(e["at"]) for trail in trails for e in trail)

    summary = [c.value for c in book["Ringkasan"][2]]
    assert summary[:2] == [bulan, count("application.received")] and summary[1] >= 1
    assert summary[5] == count("application.parked")
    decided = {row[1]: row[3] for row in book["Per langkah"].iter_rows(min_row=2, values_only=True)}
    by_step = {
        s: sum(
            e["action"] == "task.decided"
            and e.get("kind") == "langkah"
            and e["step"] == s
            and in_month(e["at"])
            for trail in trails
            for e in trail
        )
        for s in range(1, 21)
    }
    assert decided == by_step and by_step[4] >= 1
