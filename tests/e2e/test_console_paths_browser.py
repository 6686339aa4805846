"""An application's path on the Dinas's pages in a real browser (issue #15): its SOP
swimlane on /permohonan/{id} highlights the step a send-back returned it to and draws the
send-back, and a parked (TERHENTI) application is resumed with /konsol's button after the
data fix and runs on to SELESAI, BERLAKU_EFEKTIF.

The officers' other steps are taken as the integration tests take them (the email's link,
over HTTP); the browser is the Kepala Bidang's, who signs in with NIP and code."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from izin.calendar import to_wib
from izin.roster import Role, load_roster
from izin_local.officer import Officer
from izin_local.scenario import (
    BAP_RETURN_NOTE,
    CORRECTED_TKA_L,
    complete,
    decide_shortest_path,
    submit,
    wait_for_step,
)
from izin_local.testing import ROSTER, System, wait_for_status
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import sign_in_as_kepala_bidang

pytestmark = pytest.mark.e2e

DONE_BEFORE_13 = (4, 5, 6, 7, 8, 11, 12)  # the shortest path's officers' steps up to 12


def swimlane_of(page: Page, system: System, id_izin: str) -> Locator:
    """The application's page, opened afresh; its swimlane SVG."""
    page.goto(f"{system.runtime.http_url}/permohonan/{id_izin}")
    expect(page.locator("h1")).to_have_text(id_izin)
    return page.locator("#posisi .swimlane svg")


def expect_current(lane: Locator, step: int) -> None:
    """One step is highlighted, this one, with a heavier outline than the steps around."""
    current = lane.locator("g.langkah.sekarang")
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("data-langkah", str(step))
    shape = current.locator("rect, polygon")
    other = lane.locator('g.langkah[data-langkah="20"]').locator("rect, polygon")
    assert float(shape.get_attribute("stroke-width") or 0) > float(
        other.get_attribute("stroke-width") or 0
    )
    assert shape.get_attribute("stroke") != other.get_attribute("stroke")


def expect_sent_back(lane: Locator, *arcs: str) -> None:
    """The send-backs taken, and only these, are drawn as taken ("13→11")."""
    taken = lane.locator("g.kembali-diambil")
    expect(taken).to_have_count(len(arcs))
    drawn = sorted(t.removeprefix("TIDAK ") for t in taken.all_text_contents())
    assert drawn == sorted(arcs)


def test_the_swimlane_highlights_the_step_a_send_back_returned_to(
    system: System, page: Page, artifacts: Path
) -> None:
    endpoints, id_izin = system.endpoints, "IP-JALUR-KEMBALI"
    submit(endpoints, id_izin, nama="PT Jalur Kembali")
    officer = Officer(endpoints.outbox, id_izin, endpoints.roster)
    decide_shortest_path(officer, last=12)
    # The Kepala Bidang returns the BAP's data to the Tim Teknis (step 11).
    back = {"catatan": BAP_RETURN_NOTE, "kembalikan_ke": "bap"}
    assert officer.act(13, "no", fields=back).status == 200
    wait_for_step(endpoints, id_izin, 11)

    sign_in_as_kepala_bidang(system, page)
    lane = swimlane_of(page, system, id_izin)
    expect_current(lane, 11)
    expect_sent_back(lane, "13→11")
    for step in (*DONE_BEFORE_13, 13):
        expect(lane.locator(f'g.langkah[data-langkah="{step}"]')).to_have_class(
            re.compile(r"\b(selesai|sekarang)\b")
        )
    # Step 13 done: by whom, on which day of the Dinas's (WIB), as the trail says.
    kabid = endpoints.roster.first(Role.KEPALA_BIDANG)
    trail = endpoints.store.audit(id_izin)
    [sent_back] = [e for e in trail if e["action"] == "task.decided" and e["step"] == 13]
    on = to_wib(datetime.fromisoformat(sent_back["at"])).strftime("%Y-%m-%d")
    expect(lane.locator('g.langkah[data-langkah="13"]')).to_contain_text(f"{kabid.nama[:22]} {on}")
    for step in (9, 10, 14, 15):  # skipped (no field inspection) or not reached
        expect(lane.locator(f'g.langkah.selesai[data-langkah="{step}"]')).to_have_count(0)

    # The Tim Teknis corrects the BAP, the Kasi passes it on, and this time the Kepala
    # Bidang returns the report to the Kasi (step 12).
    assert officer.act(11, "done", fields={"tka_l": str(CORRECTED_TKA_L)}).status == 200
    assert officer.act(12, "done").status == 200
    back = {"catatan": "Lampirkan foto lokasi pabrik.", "kembalikan_ke": "surat_pengantar"}
    assert officer.act(13, "no", fields=back).status == 200
    wait_for_step(endpoints, id_izin, 12)

    lane = swimlane_of(page, system, id_izin)
    expect_current(lane, 12)
    expect_sent_back(lane, "13→11", "13→12")
    expect(lane.locator('g.langkah[data-langkah="11"]')).to_have_class(re.compile(r"\bselesai\b"))
    page.locator("#posisi").screenshot(path=artifacts / "swimlane-kembali.png")


# After the send-back's test: a process holds one runtime at a time, and this module's own
# (on the roster without the Kepala Dinas) lives until the module ends.
def test_a_parked_application_is_resumed_from_the_console_and_completes(
    system_without_kepala_dinas: System, roster_file: Path, page: Page
) -> None:
    system, id_izin = system_without_kepala_dinas, "IP-JALUR-LANJUT"
    endpoints = system.endpoints
    submit(endpoints, id_izin, nama="PT Jalur Lanjut")
    # The officers as the fixed roster knows them (the Kepala Dinas signs step 14).
    officer = Officer(endpoints.outbox, id_izin, load_roster(ROSTER))
    assert officer.act(4, "done").status == 200
    wait_for_status(endpoints.store, id_izin, "TERHENTI")

    roster_file.write_text(ROSTER.read_text())  # the data fix: the Kepala Dinas is back
    system.runtime.seed_officer_secrets()
    sign_in_as_kepala_bidang(system, page)
    incident = page.locator(f'#insiden .incident[data-id="{id_izin}"]')
    expect(incident).to_contain_text("SignatoryMissing")
    incident.get_by_role("button", name="Lanjutkan (Resume)").click()
    page.wait_for_load_state()
    expect(page.get_by_role("status")).to_contain_text(f"Permohonan {id_izin} dilanjutkan")
    expect(page.locator(f'#insiden .incident[data-id="{id_izin}"]')).to_have_count(0)
    kabid = endpoints.roster.first(Role.KEPALA_BIDANG)
    [resumed] = [e for e in endpoints.store.audit(id_izin) if e["action"] == "application.resumed"]
    assert kabid.nip in resumed["actor"]

    decide_shortest_path(officer, first=5)  # from the letter that failed, on to 14
    final = complete(endpoints, id_izin)
    assert (final["status"], final["outcome"]) == ("SELESAI", "BERLAKU_EFEKTIF")

    page.goto(f"{system.runtime.http_url}/permohonan/{id_izin}")
    expect(page.locator("dl")).to_contain_text("SELESAI")
    expect(page.locator("#posisi g.langkah.sekarang")).to_have_count(0)  # finished: none
