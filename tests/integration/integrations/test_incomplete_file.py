"""Step 4 "Belum lengkap" is a path (#13): the file goes back to the applicant, OSS hears
status 11 with what is missing, and the application waits for SIINAS's new verification;
its second `verifikasi.diajukan` brings the Operator back to step 4, and "Lengkap" goes on.
"""

from __future__ import annotations

from izin_local import samples
from izin_local.officer import Officer, http_get, parse_task_page, wait_until
from izin_local.scenario import post, submit, wait_for_step
from izin_local.testing import System, wait_for_status

MISSING = "Persetujuan lingkungan (AMDAL) belum diunggah."


def test_an_incomplete_file_goes_back_to_the_applicant_and_returns_with_siinas(
    system: System,
) -> None:
    id_izin = "IP-BELUM-LENGKAP"
    endpoints = system.endpoints
    submit(endpoints, id_izin)
    operator = Officer(endpoints.outbox, id_izin, endpoints.roster)

    email = operator.task_email(4)
    link = next(link for link in email.links if "/tasks/" in link)
    form = parse_task_page(http_get(link)[1])
    assert form is not None
    values = {
        **form.fields,
        "kelengkapan": ["tidak_lengkap"],
        "catatan": [""],
        "nip": [operator.nips[email.to[0]]],
        "decision": ["done"],
    }
    status, page = system.post_form(link, values)
    assert status == 422 and "apa yang belum lengkap" in page  # the note says what is missing
    status, page = system.post_form(link, {**values, "catatan": [MISSING]})
    assert status == 200 and "status 11" in page

    wait_until(lambda: system.oss_statuses(id_izin), timeout=30, what="OSS told status 11")
    [told] = [r.json["IZINSTATUS"] for r in system.oss_statuses(id_izin)]
    assert told["kd_status"] == "11" and told["keterangan"] == f"Dokumen belum lengkap: {MISSING}"
    waiting = wait_for_status(endpoints.store, id_izin, "MENUNGGU_SIINAS")
    assert waiting["current_step"] == 2
    assert "02 Batas Tunggu" in system.states(id_izin)[-3:]

    # The applicant completes the file; SIINAS sends a new verification.
    post(endpoints, "siinas", "verifikasi.diajukan", samples.verifikasi(id_izin))
    wait_for_step(endpoints, id_izin, 4)
    assert operator.act(4, "done", fields={"kelengkapan": "lengkap"}).status == 200
    wait_for_step(endpoints, id_izin, 5)
    states = system.states(id_izin)
    assert states.count("04 Operator - Menerima Notifikasi Verifikasi Teknis") == 2
    assert "04 OSS - Dokumen Belum Lengkap" in states
    assert [r.json["IZINSTATUS"]["kd_status"] for r in system.oss_statuses(id_izin)] == ["11"]
