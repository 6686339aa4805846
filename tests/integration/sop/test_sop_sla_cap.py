"""SLA in working days: the reminders are capped, then the application waits for an
administrator.

No officer acts here, so nothing needs room to answer between two reminders: one hari kerja
lasts 1 s (test_sop_sla.py's officers need 3), and the four deadlines of step 4 (the SLA,
then one per reminder, 2 hari kerja each) pass in 8 s rather than 24.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from izin_local.officer import is_task_email
from izin_local.scenario import submit
from izin_local.testing import System, endpoints_of, start_system, wait_for_status


@pytest.fixture(scope="module")
def fast_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    with start_system(tmp_path_factory.mktemp("sla-cap"), workday_seconds=1) as runtime:
        yield System(runtime, endpoints_of(runtime))


def test_g_reminders_are_capped_then_the_application_waits_for_an_administrator(
    fast_system: System,
) -> None:
    system, id_izin = fast_system, "IP-SLA-002"
    submit(system.endpoints, id_izin)

    parked = wait_for_status(system.endpoints.store, id_izin, "TERHENTI")
    assert parked["reason"]["error"] == "SlaExhausted"
    reminders = [
        m
        for m in system.runtime.outbox.messages()
        if is_task_email(m, id_izin, 4) and m.subject.startswith("PENGINGAT")
    ]
    assert len(reminders) == 3  # IZIN_MAX_REMINDERS' default; no step was decided by time
    assert not [e for e in system.endpoints.store.audit(id_izin) if e["action"] == "task.decided"]
    assert system.finished(id_izin)["status"] == "FAILED"
