"""A reassignment holds (issue 13): the Kasi moves step 08 from the ketua to another member of
the Tim Teknis through the link of the lock alert, and steps 10 and 11 follow the new officer.

Everything goes through the running system as people would: the emails in the outbox, the
task pages over HTTP, the Kasi's reassign form.
"""

from __future__ import annotations

from izin.roster import Role
from izin_local import samples
from izin_local.officer import Officer, http_get, is_task_email, parse_task_page
from izin_local.scenario import submit, wait_for_step
from izin_local.testing import System

ID_IZIN = "IP-ALIH-001"


def test_a_reassignment_holds_for_steps_10_and_11_and_the_removed_ketua_is_told(
    system: System,
) -> None:
    endpoints, outbox = system.endpoints, system.runtime.outbox
    roster = endpoints.roster
    ketua, anggota, *_ = roster.holders(Role.TIM_TEKNIS)
    kasi = roster.first(Role.KASI)
    submit(endpoints, ID_IZIN)
    officer = Officer(outbox, ID_IZIN, roster)
    for step in (4, 5, 6):
        assert officer.act(step, "done").status == 200
    team: dict[str, str | list[str]] = {"ketua": ketua.nip, "anggota": [anggota.nip]}
    assert officer.act(7, "done", fields=team).status == 200

    # The ketua's link is locked by wrong NIPs; the Kasi's alert carries the reassign link.
    step8 = officer.task_email(8)
    assert step8.to == (ketua.email,)
    surat_tugas = outbox.wait_for(
        lambda m: "Surat Tugas" in m.subject and ID_IZIN in (m.text or ""), timeout=10
    )
    assert surat_tugas.to == (anggota.email,) and ketua.nama in (surat_tugas.text or "")
    link = next(link for link in step8.links if "/tasks/" in link)
    _, html = http_get(link)
    form = parse_task_page(html)
    assert form is not None
    for _ in range(5):
        status, _ = system.post_form(
            link, {**form.fields, "nip": ["199001012020011001"], "decision": ["yes"]}
        )
        assert status == 403
    alert = outbox.wait_for(lambda m: "dikunci" in m.subject and ID_IZIN in m.subject, timeout=10)
    assert alert.to == (kasi.email,)
    reassign = next(link for link in alert.links if "/tasks/" in link)
    _, html = http_get(reassign)
    reassign_form = parse_task_page(html)
    assert reassign_form is not None
    fields = {
        **reassign_form.fields,
        "petugas": [anggota.nip],
        "alasan": ["Ketua sedang dinas luar."],
        "nip": [kasi.nip],
        "decision": ["done"],
    }
    status, _ = system.post_form(reassign, fields)
    assert status == 200

    told = outbox.wait_for(
        lambda m: "dialihkan" in m.subject and ID_IZIN in (m.text or ""), timeout=10
    )
    assert told.to == (ketua.email,) and anggota.nama in (told.text or "")
    assert not [link for link in told.links if "/tasks/" in link]

    # Steps 08, 10 and 11 all go to the new officer.
    # The ketua, who never decided a step, signed the BAP on paper: ticked, the page uploaded.
    signed = {**samples.bap(), **samples.signatures([ketua.nip])}
    for step, decision, written in (
        (8, "yes", {}),
        (10, "done", samples.field_inspection()),
        (11, "done", signed),
    ):
        uploads = {"bap-ditandatangani.pdf": samples.signed_page()} if step == 11 else {}
        decided = officer.act(step, decision, fields=written, uploads=uploads)
        assert (decided.status, decided.officer) == (200, anggota.email), decided.page
    wait_for_step(endpoints, ID_IZIN, 12)
    to_ketua = [
        m
        for m in outbox.messages()
        if is_task_email(m, ID_IZIN, 10) or is_task_email(m, ID_IZIN, 11)
    ]
    assert to_ketua and {m.to for m in to_ketua} == {(anggota.email,)}

    trail = endpoints.store.audit(ID_IZIN)
    (moved,) = [e for e in trail if e["action"] == "task.reassigned"]
    assert (moved["step"], moved["from_nip"], moved["to_nip"]) == (8, ketua.nip, anggota.nip)
    assert moved["nip"] == kasi.nip and "Ketua sedang dinas luar." in moved["note"]
    decided_by = {int(e["step"]): e["nip"] for e in trail if e["action"] == "task.decided"}
    assert [decided_by[s] for s in (8, 10, 11)] == [anggota.nip] * 3
