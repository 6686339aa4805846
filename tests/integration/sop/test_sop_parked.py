"""A step that fails for good parks the application: TERHENTI, reason kept, the Operator told."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from izin.roster import Role, load_roster
from izin_local import samples
from izin_local.officer import Officer, wait_until
from izin_local.scenario import decide_shortest_path, post, submit, wait_for_step
from izin_local.testing import ROSTER, System, endpoints_of, start_system, wait_for_status


@pytest.fixture(scope="module")
def roster_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A roster that names no Kepala Dinas: no letter can name its signer."""
    roster = json.loads(ROSTER.read_text())
    roster["officers"] = [o for o in roster["officers"] if o["role"] != "kepala_dinas"]
    path: Path = tmp_path_factory.mktemp("roster") / "roster.json"
    path.write_text(json.dumps(roster))
    return path


@pytest.fixture(scope="module")
def system_without_kepala_dinas(
    tmp_path_factory: pytest.TempPathFactory, roster_file: Path
) -> Iterator[System]:
    state = tmp_path_factory.mktemp("parked")
    with start_system(state, workday_seconds=120, roster=roster_file) as runtime:
        yield System(runtime, endpoints_of(runtime, roster_file))


def test_h_a_step_that_fails_for_good_parks_the_application(
    system_without_kepala_dinas: System,
) -> None:
    system, id_izin = system_without_kepala_dinas, "IP-PARK-001"
    endpoints = system.endpoints
    submit(endpoints, id_izin)
    officer = Officer(endpoints.outbox, id_izin, endpoints.roster)
    assert officer.act(4, "done").status == 200
    trail_before = endpoints.store.audit(id_izin)

    parked = wait_for_status(endpoints.store, id_izin, "TERHENTI")
    assert parked["reason"]["error"] == "SignatoryMissing"  # a letter whose signer the roster lacks
    assert "kepala_dinas" in parked["reason"]["cause"]
    assert parked["current_step"] == 4  # the last step that happened
    assert system.finished(id_izin)["status"] == "FAILED"
    states = system.states(id_izin)
    assert states[-3:] == [
        "05 Dokumen - Surat Pengantar Kepala Bidang",
        "Dihentikan - Kegagalan Sistem",
        "TERHENTI",
    ]

    operator = endpoints.roster.first(Role.OPERATOR)
    email = endpoints.outbox.wait_for(lambda m: m.subject.startswith("[Izin Perluasan] TERHENTI"))
    assert email.to == (operator.email,)
    assert id_izin in email.subject and "SignatoryMissing" in (email.text or "")

    trail = endpoints.store.audit(id_izin)
    assert trail[: len(trail_before)] == trail_before  # append-only: nothing rewritten
    assert trail[-1]["action"] == "application.parked"


def test_h_once_the_cause_is_fixed_the_administrator_resumes_it_where_it_failed(
    system_without_kepala_dinas: System, roster_file: Path
) -> None:
    from izin_local.resume import resume

    system, id_izin = system_without_kepala_dinas, "IP-PARK-002"
    endpoints = system.endpoints
    submit(endpoints, id_izin)
    officer = Officer(endpoints.outbox, id_izin, load_roster(ROSTER))
    assert officer.act(4, "done").status == 200
    wait_for_status(endpoints.store, id_izin, "TERHENTI")

    roster_file.write_text(ROSTER.read_text())  # the IT staff put the Kepala Dinas back
    system.runtime.seed_officer_secrets()  # and enroll his authenticator
    arn = resume(
        id_izin,
        table=system.runtime.table_names["IzinTable"],
        state_machine_arn=system.runtime.state_machine_arns["IzinStateMachine"],
        by="admin-ti",
    )
    assert arn.endswith(f"{id_izin}-lanjut-1")
    assert (endpoints.store.application(id_izin) or {})["status"] == "PROSES"
    decide_shortest_path(officer, first=5)
    wait_for_step(endpoints, id_izin, 18)
    post(endpoints, "siinas", "komitmen.terpenuhi", samples.komitmen(id_izin))
    wait_for_step(endpoints, id_izin, 19)
    post(endpoints, "oss", "izin.status", samples.izin_status(id_izin))
    final = wait_for_status(endpoints.store, id_izin, "SELESAI")
    assert final["outcome"] == "BERLAKU_EFEKTIF"

    import boto3

    sfn = boto3.client("stepfunctions")
    resumed = wait_until(  # the record says SELESAI a state before the execution ends
        lambda: (
            e if (e := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" else None
        ),
        timeout=30,
        what="the resumed execution ended",
    )
    assert resumed["status"] == "SUCCEEDED"
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in boto3.client("stepfunctions").get_execution_history(
            executionArn=arn, maxResults=1000
        )["events"]
        if "stateEnteredEventDetails" in e
    ]
    assert entered[:2] == ["Mulai", "05 Dokumen - Surat Pengantar Kepala Bidang"]
    actions = [e["action"] for e in endpoints.store.audit(id_izin)]
    assert actions.index("application.parked") < actions.index("application.resumed")
