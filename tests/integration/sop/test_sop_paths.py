"""Whole executions of the SOP, each path of the SOP's decisions, under the local runtime.

Each test takes one application from OSS's webhook to the end, every officer's step taken
by following the email's link over HTTP, and asserts the states the execution entered,
in order, and how the application ended.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from izin.documents.versions import content_changes
from izin.pages import describe
from izin.sop import step
from izin.stepfunctions import StepFunctionsCallbacks
from izin_local import samples
from izin_local.scenario import BAP_RETURN_NOTE, CORRECTED_TKA_L, Scenario, drive
from izin_local.testing import System, awaits, doc, human

_ids = itertools.count(1)


def new_id() -> str:
    return f"IP-TEST-{next(_ids):03d}"


def start() -> list[str]:
    return ["Mulai", step(1).state_name, *awaits(2), step(3).state_name]


def until_verification() -> list[str]:
    return [
        *human(4),
        "04 Berkas Belum Lengkap?",
        *doc("05", "Surat Pengantar Kepala Bidang"),
        *human(5),
        *human(6),
        *doc("06", "Nota Dinas"),
        *human(7),
        *doc("07", "Surat Tugas"),
        *human(8),
        step(9).state_name,
    ]


FIELD_INSPECTION = [
    "10 OSS - Status Inspeksi Lapangan",
    *human(10),
    *doc("10", "Form Pemeriksaan Lapangan"),
]


def bap_and_report() -> list[str]:
    return [*human(11), *doc("11", "Berita Acara Pemeriksaan"), *REPORT_AGAIN]


# The Kasi writes, then the letter is made from it.
REPORT_AGAIN = [*human(12), *doc("12", "Surat Pengantar DPMPTSP")]
KABID_YES = [*human(13), "13 Lengkap?"]
KADIS = [*human(14), "14 Disetujui?"]


def approved_to_end(outcome: str) -> list[str]:
    return [
        "14 Dokumen - Pengesahan",
        "14 OSS - Status Persetujuan BAP",
        step(15).state_name,
        step(16).state_name,
        "17 Operator - Tembusan BAP ke DPMPTSP Kalbar",
        step(17).state_name,
        *awaits(18),
        *awaits(19),
        step(20).state_name,
        "20 IP Berlaku Efektif?",
        outcome,
    ]


def versi(item: dict[str, Any]) -> int:
    return int(item["versi"])


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed between two versions of a document, field by field."""
    return content_changes(before.get("isi"), after.get("isi"))


def _payload(parameters: str) -> dict[str, Any]:
    """The Payload a Lambda task was scheduled with (its parameters' JSON)."""
    return dict(json.loads(parameters).get("Payload") or {})


def oss_codes(system: System, id_izin: str) -> list[str]:
    assert system.runtime.oss is not None
    return [
        r.json["IZINSTATUS"]["kd_status"]
        for r in system.runtime.oss.requests
        if r.json["IZINSTATUS"]["id_izin"] == id_izin
    ]


def siinas_uploads(system: System, id_izin: str) -> list[object]:
    assert system.runtime.siinas is not None
    return [r for r in system.runtime.siinas.requests if f"/{id_izin}/" in r.path]


def test_a_no_field_inspection_siap_ends_berlaku_efektif(system: System) -> None:
    id_izin = new_id()
    final = drive(system.endpoints, id_izin, Scenario(field_inspection=False))

    assert system.finished(id_izin)["status"] == "SUCCEEDED"
    assert system.states(id_izin) == [
        *start(),
        *until_verification(),
        *bap_and_report(),
        *KABID_YES,
        *KADIS,
        *approved_to_end("IP Berlaku Efektif"),
    ]
    assert final["status"] == "SELESAI"
    assert final["outcome"] == "BERLAKU_EFEKTIF"
    assert oss_codes(system, id_izin) == ["45"]
    assert len(siinas_uploads(system, id_izin)) == 1


def test_b_with_field_inspection(system: System) -> None:
    id_izin = new_id()
    final = drive(system.endpoints, id_izin, Scenario(field_inspection=True))

    assert system.finished(id_izin)["status"] == "SUCCEEDED"
    assert system.states(id_izin) == [
        *start(),
        *until_verification(),
        *FIELD_INSPECTION,
        *bap_and_report(),
        *KABID_YES,
        *KADIS,
        *approved_to_end("IP Berlaku Efektif"),
    ]
    assert final["outcome"] == "BERLAKU_EFEKTIF"
    assert oss_codes(system, id_izin) == ["40", "45"]


def test_c_kepala_bidang_sends_back_once(system: System) -> None:
    id_izin = new_id()
    final = drive(
        system.endpoints, id_izin, Scenario(field_inspection=False, kepala_bidang_returns=1)
    )

    assert system.finished(id_izin)["status"] == "SUCCEEDED"
    assert system.states(id_izin) == [
        *start(),
        *until_verification(),
        *bap_and_report(),
        *human(13),
        "13 Lengkap?",
        *REPORT_AGAIN,
        *KABID_YES,
        *KADIS,
        *approved_to_end("IP Berlaku Efektif"),
    ]
    assert final["outcome"] == "BERLAKU_EFEKTIF"
    trail = system.endpoints.store.audit(id_izin)
    sent_back = [
        e
        for e in trail
        if e.get("action") == "task.decided" and e["decision"] == "no" and e["step"] in (13, 14)
    ]
    assert [(e["step"], e["data"]["catatan"]) for e in sent_back] == [
        (13, "Lampirkan foto lokasi pabrik pada laporan.")
    ]


def test_c_the_kasi_sees_the_send_back_note(system: System) -> None:
    id_izin = new_id()
    drive(system.endpoints, id_izin, Scenario(field_inspection=False, kepala_bidang_returns=1))
    emails = [
        m
        for m in system.runtime.outbox.messages()
        if "Langkah 12 " in m.subject and f"ID Izin    : {id_izin}" in (m.text or "")
    ]
    assert len(emails) == 2
    newest = emails[0]
    assert "Catatan pengembalian dari Dra. Sri Wahyuni" in (newest.text or "")
    assert "Lampirkan foto lokasi pabrik" in (newest.text or "")


def test_c_a_return_with_nothing_changed_makes_no_new_version(system: System) -> None:
    """The Kasi answers step 12 again as before: the letter keeps its version, the trail
    says so, and only the seal adds one."""
    id_izin = new_id()
    drive(system.endpoints, id_izin, Scenario(field_inspection=False, kepala_bidang_returns=1))
    store = system.endpoints.store
    letters = sorted(store.document_versions(id_izin, "surat_pengantar_dpmptsp"), key=versi)
    assert [(int(v["versi"]), v["sealed"]) for v in letters] == [(1, False), (2, True)]
    kept = [e for e in store.audit(id_izin) if e.get("action") == "document.unchanged"]
    assert [(e["jenis"], int(e["versi"])) for e in kept] == [("surat_pengantar_dpmptsp", 1)]


def test_c_kepala_bidang_returns_the_bap_to_the_tim_teknis(system: System) -> None:
    id_izin = new_id()
    final = drive(system.endpoints, id_izin, Scenario(field_inspection=False, bap_returns=1))

    assert system.finished(id_izin)["status"] == "SUCCEEDED"
    assert system.states(id_izin) == [
        *start(),
        *until_verification(),
        *bap_and_report(),
        *human(13),
        "13 Lengkap?",
        *bap_and_report(),  # the Tim Teknis correct the BAP, the Kasi reports again
        *KABID_YES,
        *KADIS,
        *approved_to_end("IP Berlaku Efektif"),
    ]
    assert final["outcome"] == "BERLAKU_EFEKTIF"
    store = system.endpoints.store
    assert store.step_data(id_izin, 13)["kembalikan_ke"] is None  # the last answer: yes
    assert int(store.step_data(id_izin, 11)["tka_l"]) == CORRECTED_TKA_L
    # The form kept the rest of the ketua's earlier answers.
    assert int(store.step_data(id_izin, 11)["tki_l"]) == int(samples.bap()["tki_l"])
    baps = sorted(store.document_versions(id_izin, "bap"), key=versi)
    assert [(int(v["versi"]), v["sealed"]) for v in baps] == [(1, False), (2, False), (3, True)]
    assert [(c["label"], c["sebelum"], c["sesudah"]) for c in changed(baps[0], baps[1])] == [
        ("Tenaga kerja asing laki-laki", samples.bap()["tka_l"], str(CORRECTED_TKA_L))
    ]
    # Nothing the letter is made of changed: it kept its version until the seal.
    letters = store.document_versions(id_izin, "surat_pengantar_dpmptsp")
    assert sorted(int(v["versi"]) for v in letters) == [1, 2]
    decided = [e for e in store.audit(id_izin) if e.get("action") == "task.decided"]
    assert [e["step"] for e in decided[-6:]] == [12, 13, 11, 12, 13, 14]
    assert describe(decided[-5]).startswith("TIDAK (dikembalikan kepada Tim Teknis (langkah 11))")
    assert BAP_RETURN_NOTE in describe(decided[-5])


def test_d_kepala_dinas_sends_back_once(system: System) -> None:
    id_izin = new_id()
    final = drive(
        system.endpoints, id_izin, Scenario(field_inspection=False, kepala_dinas_returns=1)
    )

    assert system.finished(id_izin)["status"] == "SUCCEEDED"
    assert system.states(id_izin) == [
        *start(),
        *until_verification(),
        *bap_and_report(),
        *KABID_YES,
        *KADIS,
        *REPORT_AGAIN,
        *KABID_YES,
        *KADIS,
        *approved_to_end("IP Berlaku Efektif"),
    ]
    assert final["outcome"] == "BERLAKU_EFEKTIF"


def test_e_belum_siap_still_goes_through_and_ends_belum_efektif(system: System) -> None:
    id_izin = new_id()
    final = drive(
        system.endpoints, id_izin, Scenario(field_inspection=True, kesimpulan="belum_siap")
    )

    assert system.finished(id_izin)["status"] == "SUCCEEDED"
    assert system.states(id_izin) == [
        *start(),
        *until_verification(),
        *FIELD_INSPECTION,
        *bap_and_report(),
        *KABID_YES,
        *KADIS,
        *approved_to_end("IP Belum Efektif"),
    ]
    assert final["outcome"] == "BELUM_EFEKTIF"
    assert oss_codes(system, id_izin) == ["40", "93"]
    assert siinas_uploads(system, id_izin)[0].json["kesimpulan"] == "belum_siap"  # type: ignore[attr-defined]


def test_f_siinas_first_says_not_met_then_met(system: System) -> None:
    id_izin = new_id()
    final = drive(
        system.endpoints, id_izin, Scenario(field_inspection=False, komitmen_first_tidak=True)
    )

    assert system.finished(id_izin)["status"] == "SUCCEEDED"
    assert system.states(id_izin)[:11] == [
        *start(),
        *awaits(2),
        step(3).state_name,
        "04 Tenggat",
    ]
    assert final["outcome"] == "BERLAKU_EFEKTIF"
    # The history's answer to "was this event handed over?", as moto's interpreter records it:
    # what confirms a hand-over that TaskGone left open (izin.events).
    handed = [
        e["event_id"]
        for e in system.endpoints.store.audit(id_izin)
        if e["action"] == "event.applied"
    ]
    assert len(handed) >= 3  # SIINAS's verification, the two commitments, OSS's status
    history = StepFunctionsCallbacks()
    execution = system.execution_arn(id_izin)
    assert all(history.received(execution, event_id) for event_id in handed)
    assert not history.received(execution, "evt-never-sent")
    # …and to "did the officer's step waiting on this token go on?", for a decision whose
    # answer was lost (izin.tasks.page): every task this application's officers decided.
    asked = [
        payload["task_token"]
        for e in system.history(id_izin)
        if "taskScheduledEventDetails" in e
        and "task_token" in (payload := _payload(e["taskScheduledEventDetails"]["parameters"]))
        and "RequestTask" in e["taskScheduledEventDetails"]["parameters"]
    ]
    assert len(asked) >= 9  # the officers' steps 04–08 and 11–14 (no field inspection)
    assert all(history.succeeded(execution, token) for token in asked)
    assert not history.succeeded(execution, "token-never-issued")


def test_siinas_event_before_oss_starts_one_execution_on_the_right_path(system: System) -> None:
    id_izin = new_id()
    final = drive(system.endpoints, id_izin, Scenario(field_inspection=False, siinas_first=True))

    assert system.finished(id_izin)["status"] == "SUCCEEDED"
    assert system.states(id_izin)[:7] == [*start(), "04 Tenggat"]
    assert final["outcome"] == "BERLAKU_EFEKTIF"


def test_the_state_stays_small_and_holds_no_secret_or_file(system: System) -> None:
    id_izin = new_id()
    drive(system.endpoints, id_izin, Scenario(field_inspection=True, kepala_dinas_returns=1))
    system.finished(id_izin)  # the record says SELESAI a moment before the execution ends
    sizes, texts = [], []
    for event in system.history(id_izin):
        for details in event.values():
            if isinstance(details, dict):
                for key in ("input", "output"):
                    if isinstance(details.get(key), str):
                        sizes.append(len(details[key].encode()))
                        texts.append(details[key])
    assert max(sizes) < 16 * 1024  # far from Step Functions' 256 KiB
    final = system.final_output(id_izin)
    assert {"id_izin", "nib", "perusahaan", "sla", "s14", "izin_status"} <= set(final)
    assert not any("base64" in text or "<html" in text for text in texts)
    assert "task_token" not in json.dumps(final)


def test_izin_status_reads_the_record_and_the_trail(
    system: System, capsys: pytest.CaptureFixture[str]
) -> None:
    from izin_local.status import print_status

    id_izin = new_id()
    drive(system.endpoints, id_izin, Scenario(field_inspection=False))
    table = system.runtime.table_names["IzinTable"]
    capsys.readouterr()
    assert (
        print_status(id_izin, as_json=True, endpoint_url=system.runtime.aws_endpoint, table=table)
        == 0
    )
    out = capsys.readouterr().out  # the functions' own log lines run in this process too
    shown, _ = json.JSONDecoder().raw_decode(out[out.index("{\n") :])
    assert (shown["status"], shown["current_step"], shown["outcome"]) == (
        "SELESAI",
        20,
        "BERLAKU_EFEKTIF",
    )
    assert shown["audit"][0]["action"] == "application.received"
    assert (
        print_status(None, as_json=False, endpoint_url=system.runtime.aws_endpoint, table=table)
        == 0
    )
    listing = capsys.readouterr().out
    assert id_izin in listing and "SELESAI" in listing
    assert (
        print_status(
            "IP-TIDAK-ADA", as_json=False, endpoint_url=system.runtime.aws_endpoint, table=table
        )
        == 1
    )
