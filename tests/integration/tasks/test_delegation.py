"""Delegation under the local runtime (issue #14): the Kepala Bidang, signed in, names the
Kasi Plh on /meja for today; step 06 then goes to the Kasi, who decides it, and the Nota
Dinas it signs says "Plh. Kepala Bidang Perindustrian" above the Kasi's name. Ending the
delegation is recorded in the Kepala Bidang's own trail.

Everything goes through the running system as people would: /masuk, /meja's forms, the
emails in the outbox, the task pages over HTTP.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import boto3
from izin import delegation
from izin.documents import latest_documents
from izin.roster import Role
from izin_local.officer import Officer, http_request
from izin_local.scenario import submit, wait_for_step
from izin_local.testing import System

ID_IZIN = "IP-PLH-001"

OWN_RUNTIME = "tasks-delegation"  # a Plh in force changes where others' tasks go


def form_token(html: str, form_id: str) -> str:
    """The CSRF token of one form of the page."""
    form = html.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    found = re.search(r'name="csrf" value="([^"]+)"', form)
    assert found, form
    return found.group(1)


def test_the_kasi_as_plh_kepala_bidang_receives_step_06_and_signs_the_nota_dinas_as_plh(
    system: System,
) -> None:
    endpoints, outbox = system.endpoints, system.runtime.outbox
    roster = endpoints.roster
    kabid, kasi = roster.first(Role.KEPALA_BIDANG), roster.first(Role.KASI)
    meja = f"{system.runtime.http_url}/meja"
    cookie = [system.browsers.cookie(kabid.nip)]
    page = http_request(meja, cookies=cookie)
    assert page.status == 200
    today = delegation.today(datetime.now(UTC))
    fields = {
        "aksi": ["delegasi"],
        "csrf": [form_token(page.text, "form-delegasi")],
        "untuk": [kabid.nip],
        "plh": [kasi.nip],
        "jenis": ["Plh"],
        "mulai": [today.isoformat()],
        # Two weeks: a hari kerja among them whatever today is (a weekend, a cuti bersama).
        "selesai": [(today + timedelta(days=14)).isoformat()],
        "alasan": ["Dinas luar ke Jakarta"],
    }
    named = http_request(meja, fields, cookies=cookie)
    assert named.status == 303, named.text
    (kept,) = delegation.of(endpoints.store, kabid.nip)
    assert (kept.delegate_nip, kept.by_nip, kept.in_force(today)) == (kasi.nip, kabid.nip, True)

    submit(endpoints, ID_IZIN)
    officer = Officer(outbox, ID_IZIN, roster)
    for step in (4, 5):
        assert officer.act(step, "done").status == 200
    step6 = officer.task_email(6)
    assert step6.to == (kasi.email,)
    assert f"sebagai Plh. {kabid.jabatan}" in (step6.text or "")
    officer.used.discard(step6.name)
    assert officer.act(6, "done", fields={"disposisi": "Segera tugaskan Tim Teknis."}).status == 200

    decided = [e for e in endpoints.store.audit(ID_IZIN) if e["action"] == "task.decided"]
    assert (decided[-1]["step"], decided[-1]["nip"], decided[-1]["atas_nama_nip"]) == (
        6,
        kasi.nip,
        kabid.nip,
    )
    wait_for_step(endpoints, ID_IZIN, 7)
    nota = latest_documents(endpoints.store, ID_IZIN)["nota_dinas"]
    bucket = system.runtime.bucket_names["DocumentBucket"]
    text = boto3.client("s3").get_object(Bucket=bucket, Key=nota["key"])["Body"].read().decode()
    assert "Plh. Kepala Bidang Perindustrian" in text and kasi.nama in text
    assert kabid.nama not in text.split("Plh. Kepala Bidang Perindustrian", 1)[1]

    # The Kepala Bidang ends it; step 07 stays the Kasi's own (no Plh in it).
    page = http_request(meja, cookies=cookie)
    token = re.search(
        rf'name="id" value="{kept.id}">\s*<input type="hidden" name="csrf" value="([^"]+)"',
        page.text,
    )
    assert token, page.text
    ended = http_request(
        meja,
        {"aksi": ["akhiri"], "untuk": [kabid.nip], "id": [kept.id], "csrf": [token.group(1)]},
        cookies=cookie,
    )
    assert ended.status == 303
    trail = [e["action"] for e in endpoints.store.officer_audit(kabid.nip)]
    assert trail == ["delegation.named", "delegation.ended"]
