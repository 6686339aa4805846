"""Where a parked application starts again."""

import json
from pathlib import Path

import pytest
from izin.resume import PARK_STATE, NotResumable, resumable_states, resume_point

DEFINITION = (Path(__file__).parents[2] / "statemachine" / "izin_perluasan.asl.json").read_text()
RESUMABLE = resumable_states(DEFINITION)


def test_every_resumable_state_is_a_state_and_no_officer_wait_is_one() -> None:
    states = json.loads(DEFINITION)["States"]
    assert set(states) >= RESUMABLE
    assert "05 Tenggat" in RESUMABLE and "05 Dokumen - Surat Pengantar Kepala Bidang" in RESUMABLE
    assert "05 Operator - Membuat Surat Pengantar" not in RESUMABLE


def test_a_failed_task_is_started_again_itself() -> None:
    entered = [
        "Mulai",
        "01 Pemohon - Mengajukan Izin Perluasan",
        "05 Dokumen - Surat Pengantar Kepala Bidang",
        PARK_STATE,
        "TERHENTI",
    ]
    assert resume_point(entered, RESUMABLE) == "05 Dokumen - Surat Pengantar Kepala Bidang"


def test_a_failed_officer_s_wait_starts_again_at_its_deadline() -> None:
    entered = [
        "Mulai",
        "14 Tenggat",
        "14 Kepala Dinas - Persetujuan dan Penandatanganan",
        PARK_STATE,
    ]
    assert resume_point(entered, RESUMABLE) == "14 Tenggat"


def test_an_execution_that_was_not_parked_is_not_resumable() -> None:
    with pytest.raises(NotResumable):
        resume_point(["Mulai", "IP Berlaku Efektif"], RESUMABLE)
