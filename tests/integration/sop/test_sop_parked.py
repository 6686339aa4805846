"""A step that fails for good parks the application: TERHENTI, reason kept, the Operator told."""

from __future__ import annotations

from pathlib import Path

from izin.roster import Role, load_roster
from izin_local.officer import Officer, wait_until
from izin_local.scenario import complete, decide_shortest_path, submit
from izin_local.testing import ROSTER, System, wait_for_status


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
    final = complete(endpoints, id_izin)
    assert (final["status"], final["outcome"]) == ("SELESAI", "BERLAKU_EFEKTIF")

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
