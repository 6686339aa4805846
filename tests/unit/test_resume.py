"""Where a parked application starts again."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from izin.memory_store import MemoryStore
from izin.models import ContinueRequest
from izin.resume import (
    PARK_STATE,
    NotResumable,
    continue_as_new,
    failed_state,
    resumable_states,
    resume_parked,
    resume_point,
    where_parked,
)
from izin.sla import event_budget
from izin_local import samples

DEFINITION = (Path(__file__).parents[2] / "statemachine" / "izin_perluasan.asl.json").read_text()
RESUMABLE = resumable_states(DEFINITION)
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


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


# --- a wait past the execution's year: continued in a new execution ---------------------


class _Executions:
    def __init__(self, taken: set[str] | None = None) -> None:
        self.started: dict[str, dict[str, object]] = {}
        self.taken = taken or set()

    def start(self, name: str, state: dict[str, object]) -> bool:
        if name in self.taken or name in self.started:
            return False
        self.started[name] = state
        return True


def _continue(store: MemoryStore, executions: _Executions, current: str) -> str:
    request = ContinueRequest(
        id_izin="IP-LAMA",
        step=18,
        execution=current,
        lanjut_dari="18 Batas Tunggu",
        state={
            "id_izin": "IP-LAMA",
            "sla": {},
            "batas": {"step": 18, "late": 3, "lanjut_baru": True},
            "timeout": {"Error": "States.Timeout"},
        },
    )
    return continue_as_new(request, store=store, executions=executions, now=NOW)


def test_a_wait_past_the_year_continues_in_the_next_execution_at_its_budget() -> None:
    store, executions = MemoryStore(), _Executions()
    store.create_application("IP-LAMA", {"id_izin": "IP-LAMA", "created_at": NOW.isoformat()})

    assert _continue(store, executions, "IP-LAMA") == "IP-LAMA-lanjut-1"
    assert executions.started["IP-LAMA-lanjut-1"] == {
        "id_izin": "IP-LAMA",
        "sla": {},
        "batas": {"step": 18, "late": 3, "lanjut_baru": True},  # its lateness goes on
        "lanjut_dari": "18 Batas Tunggu",
    }
    assert "18 Batas Tunggu" in RESUMABLE  # the router can start there
    assert _continue(store, executions, "IP-LAMA-lanjut-1") == "IP-LAMA-lanjut-2"
    assert store.application("IP-LAMA")["execution"] == "IP-LAMA-lanjut-2"  # type: ignore[index]
    [first, second] = [e for e in store.audit("IP-LAMA") if e["action"] == "execution.continued"]
    assert (first["previous"], first["execution"]) == ("IP-LAMA", "IP-LAMA-lanjut-1")
    assert second["previous"] == "IP-LAMA-lanjut-1"


def test_a_retried_continuation_starts_nothing_twice() -> None:
    store, executions = MemoryStore(), _Executions()
    store.create_application("IP-LAMA", {"id_izin": "IP-LAMA", "created_at": NOW.isoformat()})
    assert _continue(store, executions, "IP-LAMA") == "IP-LAMA-lanjut-1"
    assert _continue(store, executions, "IP-LAMA") == "IP-LAMA-lanjut-1"
    assert list(executions.started) == ["IP-LAMA-lanjut-1"]


def test_a_name_taken_by_izin_resume_moves_the_continuation_one_further() -> None:
    store, executions = MemoryStore(), _Executions(taken={"IP-LAMA-lanjut-1"})
    store.create_application("IP-LAMA", {"id_izin": "IP-LAMA", "created_at": NOW.isoformat()})
    assert _continue(store, executions, "IP-LAMA") == "IP-LAMA-lanjut-2"


DAY = 86400
YEAR_BUDGET = 335 * DAY


def _budget(previous: dict[str, object], *, days_running: float, late_after: float = 5 * DAY):
    started = NOW - timedelta(days=days_running)
    return event_budget(
        18, started, previous, now=NOW, budget_seconds=YEAR_BUDGET, late_after=late_after
    )


def test_a_first_wait_lasts_until_it_is_late() -> None:
    budget = _budget({"step": 4, "late": 0}, days_running=10)
    assert (budget.timeout_seconds, budget.late, budget.lanjut_baru) == (5 * DAY, 0, False)


def test_a_wait_that_timed_out_is_late_once_more() -> None:
    timed_out = {"step": 18, "late": 1, "habis": {"Error": "States.Timeout"}}
    budget = _budget(timed_out, days_running=10)
    assert (budget.timeout_seconds, budget.late, budget.lanjut_baru) == (5 * DAY, 2, False)


def test_a_new_wait_at_the_same_step_starts_on_time() -> None:
    # Step 2 again after step 4 sent the file back to the applicant: not a lateness.
    budget = _budget({"step": 18, "late": 1}, days_running=10)
    assert (budget.late, budget.lanjut_baru) == (0, False)


def test_a_wait_never_outlasts_what_is_left_of_the_execution_s_year() -> None:
    budget = _budget({"step": 4, "late": 0}, days_running=300, late_after=60 * DAY)
    assert budget.timeout_seconds == 35 * DAY and not budget.lanjut_baru


def test_with_the_year_spent_the_application_continues_without_a_new_lateness() -> None:
    budget = _budget({"step": 18, "late": 2, "habis": {}}, days_running=335)
    assert (budget.timeout_seconds, budget.late, budget.lanjut_baru) == (1, 2, True)


def test_the_first_wait_of_a_continued_execution_is_no_new_lateness() -> None:
    budget = _budget({"step": 18, "late": 2, "lanjut_baru": True}, days_running=0)
    assert (budget.timeout_seconds, budget.late, budget.lanjut_baru) == (5 * DAY, 2, False)


# --- where it parked, kept on the record: resumable after the history's 90 days ----------

FAILED = "05 Dokumen - Surat Pengantar Kepala Bidang"
ARN = "arn:aws:states:ap-southeast-3:123456789012:execution:izin-izin-perluasan:IP-TUA"


class _Forgotten(_Executions):
    """A state machine whose closed executions are past Step Functions' 90 days."""

    def executions(self, base: str) -> list[str]:
        return []

    def entered(self, name: str) -> list[str]:
        raise AssertionError("the history is gone")

    def definition(self) -> str:
        return DEFINITION


def _parked(store: MemoryStore, parked_in: dict[str, str]) -> None:
    fields = {"id_izin": "IP-TUA", "created_at": NOW.isoformat(), "status": "TERHENTI"}
    store.create_application("IP-TUA", {**fields, "data": samples.permohonan("IP-TUA")})
    store.update_application("IP-TUA", {"parked_in": parked_in, "reason": {"error": "E"}})


def test_where_it_parked_is_read_from_the_execution_s_history_when_it_parks() -> None:
    history = ["Mulai", "04 Tenggat", FAILED, PARK_STATE]
    assert where_parked(ARN, lambda arn: history) == {"execution": "IP-TUA", "state": FAILED}
    assert failed_state(["Mulai", FAILED, PARK_STATE, "TERHENTI"]) == FAILED


def test_a_history_that_cannot_tell_parks_all_the_same() -> None:
    def refused(arn: str) -> list[str]:
        raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "GetExecutionHistory")

    assert where_parked(ARN, refused) == {}
    assert where_parked(ARN, lambda arn: ["Mulai", FAILED]) == {}  # not parked
    assert where_parked("", refused) == {}  # a definition that did not pass its ARN


def test_a_parked_application_resumes_from_its_record_after_the_history_is_gone() -> None:
    store, machine = MemoryStore(), _Forgotten()
    _parked(
        store,
        {
            "execution": "IP-TUA-lanjut-1",
            "state": "14 Kepala Dinas - Persetujuan dan Penandatanganan",
        },
    )
    name = resume_parked(
        "IP-TUA", store=store, history=machine, executions=machine, by="x", now=NOW
    )
    assert name == "IP-TUA-lanjut-2"
    assert machine.started[name]["lanjut_dari"] == "14 Tenggat"
    record = store.application("IP-TUA") or {}
    assert record["status"] == "PROSES" and "parked_in" not in record and "reason" not in record


def test_an_application_parked_before_the_record_kept_it_needs_the_history() -> None:
    store, machine = MemoryStore(), _Forgotten()
    _parked(store, {})
    with pytest.raises(NotResumable, match="no execution"):
        resume_parked("IP-TUA", store=store, history=machine, executions=machine, by="x", now=NOW)
