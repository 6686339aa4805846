"""When OSS or SIINAS do not deliver, the Operator records their event by hand, with evidence.

The application below never hears from SIINAS or OSS after step 17: the Operator records
SIINAS's Berita Acara Pemenuhan Komitmen (step 18) and OSS's status (steps 19–20) from the
emails the system sent while it waited, and the application ends as OSS decided.
"""

from __future__ import annotations

from izin.roster import Role
from izin_local.officer import Officer, http_get, parse_task_page
from izin_local.outbox import OutboxMessage
from izin_local.scenario import decide_shortest_path, submit, wait_for_step
from izin_local.testing import System, wait_for_status


def record_email(system: System, id_izin: str, activity: str) -> OutboxMessage:
    return system.runtime.outbox.wait_for(
        lambda m: (
            m.subject.startswith("[Izin Perluasan] Tugas manual: " + activity)
            and f"ID Izin    : {id_izin}" in (m.text or "")
        ),
        timeout=30,
    )


def record(system: System, email: OutboxMessage, **fields: str) -> tuple[int, str]:
    link = next(link for link in email.links if "/tasks/" in link)
    status, html = http_get(link)
    form = parse_task_page(html)
    assert status == 200 and form is not None
    values = {**form.fields, **{k: [v] for k, v in fields.items()}}
    values["nip"] = [system.endpoints.roster.first(Role.OPERATOR).nip]
    values["decision"] = ["done"]
    return system.post_form(link, values)


def test_the_operator_records_siinas_and_oss_by_hand_and_the_application_ends(
    system: System,
) -> None:
    id_izin = "IP-MANUAL-001"
    endpoints = system.endpoints
    submit(endpoints, id_izin)
    officer = Officer(endpoints.outbox, id_izin, endpoints.roster)
    decide_shortest_path(officer)
    wait_for_step(endpoints, id_izin, 18)

    email = record_email(system, id_izin, "Catat Berita Acara Pemenuhan Komitmen")
    status, html = record(
        system,
        email,
        nomor_berita_acara="BA-PK/77/2026",
        tanggal="2026-12-08",
        bukti="Tangkapan layar SIINAS, menu Verifikasi Teknis",
    )
    assert status == 200, html
    assert http_get(next(link for link in email.links if "/tasks/" in link))[0] == 409
    wait_for_step(endpoints, id_izin, 19)

    email = record_email(system, id_izin, "Catat Status Izin dari OSS")
    status, html = record(
        system, email, status="efektif", kd_status="50", bukti="Surat OSS nomor 123/OSS/2026"
    )
    assert status == 200, html
    final = wait_for_status(endpoints.store, id_izin, "SELESAI")
    assert final["outcome"] == "BERLAKU_EFEKTIF"
    assert system.finished(id_izin)["status"] == "SUCCEEDED"

    trail = endpoints.store.audit(id_izin)
    recorded = [e for e in trail if e["action"] == "task.decided" and e.get("kind") == "catat"]
    assert [e["data"]["bukti"] for e in recorded] == [
        "Tangkapan layar SIINAS, menu Verifikasi Teknis",
        "Surat OSS nomor 123/OSS/2026",
    ]
    applied = [e for e in trail if e["action"] == "event.applied"]
    assert [e["step"] for e in applied] == [3, 18, 19]


def test_a_record_task_stops_working_once_the_event_comes_by_webhook(system: System) -> None:
    id_izin = "IP-MANUAL-002"
    endpoints = system.endpoints
    from izin_local import samples
    from izin_local.scenario import post

    post(endpoints, "oss", "permohonan.diajukan", samples.permohonan(id_izin))
    email = record_email(system, id_izin, "Catat Notifikasi Verifikasi Teknis SIINAS")
    post(endpoints, "siinas", "verifikasi.diajukan", samples.verifikasi(id_izin))
    wait_for_step(endpoints, id_izin, 4)
    link = next(link for link in email.links if "/tasks/" in link)
    assert http_get(link)[0] == 410  # SIINAS delivered: nothing left to record by hand
