"""Delegation in a real browser (issue #14), at a phone's and a desktop's width: "a
delegate receives the task during the delegation and signs as Plh".

The Kepala Bidang, signed in with a code from the local roster, names the Kasi Plh on
/meja from today. Step 06 of a new application then waits under the Kasi's Tugas saya,
marked as done for the Kepala Bidang; the Kasi decides it with the session; the
application's page names the Kasi as "Plh. Kepala Bidang Perindustrian", and the Nota
Dinas it signs prints that line above the Kasi's name. The Kepala Bidang then ends the
delegation from /meja (so the other width starts afresh).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from izin import delegation
from izin.documents import latest_documents
from izin.sop import Role
from izin_local.officer import Officer
from izin_local.scenario import submit, wait_for_step
from izin_local.testing import System
from playwright.sync_api import Page, expect

from tests.e2e.conftest import press, sign_in, width_of
from tests.e2e.test_workspace_browser import DECIDED, fits

pytestmark = pytest.mark.e2e

PLH = "Plh. Kepala Bidang Perindustrian"

OWN_RUNTIME = "delegation"  # a Plh in force changes where others' tasks go


def test_a_delegate_receives_the_task_during_the_delegation_and_signs_as_plh(
    system: System, tab: Page, artifacts: Path
) -> None:
    width = width_of(tab)
    roster = system.endpoints.roster
    kabid, kasi = roster.first(Role.KEPALA_BIDANG), roster.first(Role.KASI)
    today = delegation.today(datetime.now(UTC))

    # The Kepala Bidang names the Kasi Plh, from today for two weeks (a hari kerja among
    # them whatever today is).
    sign_in(system, tab, kabid)
    form = tab.locator("#form-delegasi")
    form.get_by_label("Plh/Plt", exact=True).select_option(kasi.nip)
    form.get_by_label("Selesai (WIB)").fill((today + timedelta(days=14)).isoformat())
    form.get_by_label("Alasan").fill("Dinas luar ke Jakarta")
    assert press(tab, form.get_by_role("button", name="Tunjuk Plh/Plt")) == 303
    expect(tab.locator("#pesan")).to_have_text("Plh/Plt tercatat.")
    named = tab.locator("#delegasi li[data-delegasi]")
    expect(named).to_contain_text(f"{PLH}: {kasi.nama}")
    expect(named).to_contain_text("berlaku hari ini")
    assert fits(tab)
    tab.screenshot(path=artifacts / f"delegasi-{width}.png", full_page=True)

    # Step 06 of a new application goes to the Kasi, for the Kepala Bidang.
    id_izin = f"IP-PLH-{width[0].upper()}1"
    submit(system.endpoints, id_izin, nama=f"PT Plh {width}")
    officer = Officer(system.runtime.outbox, id_izin, roster)
    for step in (4, 5):
        assert officer.act(step, "done").status == 200
    wait_for_step(system.endpoints, id_izin, 6)
    tab.context.clear_cookies()  # the Kasi's own phone or desk
    sign_in(system, tab, kasi)
    task = tab.locator(f"#tugas-saya li[data-id-izin='{id_izin}']")
    expect(task).to_contain_text(f"Sebagai Plh/Plt untuk {kabid.nama}")
    assert fits(tab)
    tab.screenshot(path=artifacts / f"plh-tugas-{width}.png", full_page=True)
    task.get_by_role("link").click()
    expect(tab.locator("#masuk-sebagai")).to_contain_text(kasi.nama)
    expect(tab.locator("#f-kode")).to_have_count(0)  # the session decides
    tab.get_by_label("Isi disposisi").fill("Segera tugaskan Tim Teknis.")
    assert press(tab, tab.get_by_role("button", name="Disposisikan kepada Kasi")) == 200
    expect(tab.locator("h1")).to_have_text(DECIDED)

    # The trail names both; the page says who acted as what; the Nota Dinas says "Plh.".
    decided = [e for e in system.endpoints.store.audit(id_izin) if e["action"] == "task.decided"][
        -1
    ]
    assert (decided["step"], decided["nip"], decided["atas_nama_nip"]) == (6, kasi.nip, kabid.nip)
    assert decided["via"].startswith("session:")
    wait_for_step(system.endpoints, id_izin, 7)
    tab.goto(f"{system.runtime.http_url}/permohonan/{id_izin}")
    expect(tab.locator("#riwayat")).to_contain_text(f"{kasi.nama} ({PLH})")
    nota = latest_documents(system.endpoints.store, id_izin)["nota_dinas"]
    s3 = boto3.client("s3", endpoint_url=system.runtime.aws_endpoint)
    letter = s3.get_object(Bucket=nota["bucket"], Key=nota["key"])["Body"].read().decode()
    signature = letter.split(PLH, 1)
    assert len(signature) == 2 and kasi.nama in signature[1]
    assert kabid.nama not in signature[1]

    # The Kepala Bidang ends it; the trail of the Kepala Bidang has both.
    tab.context.clear_cookies()
    sign_in(system, tab, kabid)
    assert press(tab, named.get_by_role("button", name="Akhiri")) == 303
    expect(tab.locator("#pesan")).to_have_text("Delegasi diakhiri.")
    expect(tab.locator("#delegasi li[data-delegasi]")).to_have_count(0)
    trail = [e["action"] for e in system.endpoints.store.officer_audit(kabid.nip)]
    assert trail[-2:] == ["delegation.named", "delegation.ended"]
