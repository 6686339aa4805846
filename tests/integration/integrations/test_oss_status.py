"""OSS receiveLicenseStatus (CONTRACT §2, PIA): 40, 45 and 93 at their steps, never waited on.

Two applications, between them taking both ways of each decision that matters to OSS
(field inspection or not; BAP siap or belum siap), run at once; each must have told OSS
exactly its milestones, in PIA's shape, after the decision that makes them. A third, with
no inspection and siap, runs while OSS is down. Then OSS refuses a status for good. And
OSS's own decision, its izin.status never sent, is found by checkLicenseStatus.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from izin.reconcile import RECORDED_BY
from izin.roster import Role
from izin_local import samples
from izin_local.officer import Officer, wait_until
from izin_local.scenario import (
    Scenario,
    application,
    decide_shortest_path,
    drive,
    post,
    submit,
    wait_for_step,
)
from izin_local.simulators import RecordedRequest
from izin_local.testing import System

PIA_FIELDS = {
    "nib",
    "id_izin",
    "kd_izin",
    "kd_instansi",
    "kd_status",
    "tgl_status",
    "nip_status",
    "nama_status",
    "keterangan",
}
# id_izin -> (scenario, the kd_status OSS must receive, in order). Each decision that
# matters to OSS takes both its values: inspection or not, BAP siap or belum siap.
PATHS: dict[str, tuple[Scenario, list[str]]] = {
    "IP-OSS-LAPANGAN-SIAP": (Scenario(field_inspection=True), ["40", "45"]),
    "IP-OSS-BELUM": (Scenario(field_inspection=False, kesimpulan="belum_siap"), ["93"]),
}


def statuses(system: System, id_izin: str) -> list[RecordedRequest]:
    """The receiveLicenseStatus calls OSS received for this application, in order."""
    return system.oss_statuses(id_izin)


def received(system: System, id_izin: str, count: int) -> list[RecordedRequest]:
    """The application's calls, once OSS has received `count` of them."""
    wait_until(
        lambda: len(statuses(system, id_izin)) >= count,
        timeout=30,
        what=f"{count} OSS calls for {id_izin}",
    )
    return statuses(system, id_izin)


def trail(system: System, id_izin: str, action: str) -> list[dict[str, Any]]:
    return [e for e in system.endpoints.store.audit(id_izin) if e["action"] == action]


def max_receive_count(system: System, queue: str) -> int:
    """How many receives the template's RedrivePolicy allows a message of this queue."""
    properties = system.runtime.provisioned.resources[queue].properties
    return int(properties["RedrivePolicy"]["maxReceiveCount"])


def decided_at(system: System, id_izin: str, step: int) -> datetime:
    """When the officer's last decision on this step was taken."""
    entries = [e for e in trail(system, id_izin, "task.decided") if e.get("step") == step]
    return datetime.fromisoformat(entries[-1]["at"])


@pytest.fixture(scope="module")
def finished_paths(system: System) -> dict[str, dict[str, Any]]:
    """The applications of PATHS, driven at once to the end; their final records."""
    finals: dict[str, dict[str, Any]] = {}
    errors: list[BaseException] = []

    def run(id_izin: str, scenario: Scenario) -> None:
        try:
            finals[id_izin] = drive(system.endpoints, id_izin, scenario, timeout=120)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(id_izin, scenario), daemon=True)
        for id_izin, (scenario, _) in PATHS.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    if errors:
        raise errors[0]
    return finals


@pytest.mark.parametrize("id_izin", list(PATHS))
def test_oss_is_told_the_milestones_of_the_path_in_pias_shape(
    system: System, finished_paths: dict[str, dict[str, Any]], id_izin: str
) -> None:
    scenario, expected = PATHS[id_izin]
    assert finished_paths[id_izin]["status"] == "SELESAI"
    calls = received(system, id_izin, len(expected))

    assert [c.json["IZINSTATUS"]["kd_status"] for c in calls] == expected
    assert all(c.status == 200 for c in calls)
    user_key_arn = system.runtime.resource("OssUserKey")["Ref"]
    user_key = boto3.client("secretsmanager").get_secret_value(SecretId=user_key_arn)
    roster = system.endpoints.roster
    tim_teknis = {o.nip: o.nama for o in roster.holders(Role.TIM_TEKNIS)}
    kepala_dinas = roster.first(Role.KEPALA_DINAS)
    for call in calls:
        assert call.headers.get("user_key") == user_key["SecretString"]
        assert set(call.json) == {"IZINSTATUS"}
        status = call.json["IZINSTATUS"]
        assert set(status) == PIA_FIELDS
        assert status["id_izin"] == id_izin
        assert status["nib"] == "9120301234567"
        assert status["kd_izin"] == "061000000000001"
        assert status["kd_instansi"] == "6100"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", status["tgl_status"])
        # tgl_status is the time of the status in WIB (Asia/Pontianak, UTC+7)
        sent = datetime.strptime(status["tgl_status"] + " +0700", "%Y-%m-%d %H:%M:%S %z")
        assert abs(sent - call.time) < timedelta(seconds=60)
        assert status["keterangan"]
        if status["kd_status"] == "40":
            assert tim_teknis.get(status["nip_status"]) == status["nama_status"]
            assert call.time > decided_at(system, id_izin, 8)  # after "inspection needed"
        else:
            assert (status["nip_status"], status["nama_status"]) == (
                kepala_dinas.nip,
                kepala_dinas.nama,
            )
            assert call.time > decided_at(system, id_izin, 14)  # after the approval
    assert [e["kd_status"] for e in trail(system, id_izin, "oss.status_sent")] == expected

    states = system.states(id_izin)
    inspection = "10 OSS - Status Inspeksi Lapangan"
    assert (inspection in states) == scenario.field_inspection
    if scenario.field_inspection:
        assert states[states.index(inspection) + 1] == "10 Tenggat"
    approval = states.index("14 OSS - Status Persetujuan BAP")
    assert states[approval - 1] == "14 Dokumen - Pengesahan"


def test_oss_down_holds_nothing_up_and_is_told_once_it_is_back(system: System) -> None:
    id_izin = "IP-OSS-MATI"
    oss = system.runtime.oss
    assert oss is not None
    oss.down()
    try:
        final = drive(system.endpoints, id_izin, Scenario(field_inspection=False))
        assert final["status"] == "SELESAI"  # OSS never answered, and nobody waited for it
        assert system.finished(id_izin)["status"] == "SUCCEEDED"
        wait_until(
            lambda: len(trail(system, id_izin, "oss.call_failed")) >= 2,
            timeout=30,
            what="two failed calls",
        )
        assert statuses(system, id_izin) == []
    finally:
        oss.up()

    [call] = received(system, id_izin, 1)
    assert call.status == 200 and call.json["IZINSTATUS"]["kd_status"] == "45"
    attempts = [e["attempt"] for e in trail(system, id_izin, "oss.call_failed")]
    assert attempts == list(range(1, len(attempts) + 1))
    assert [e["kd_status"] for e in trail(system, id_izin, "oss.status_sent")] == ["45"]


def test_an_oss_status_that_never_goes_through_ends_in_the_dlq(system: System) -> None:
    id_izin = "IP-OSS-DLQ"
    oss = system.runtime.oss
    assert oss is not None
    oss.fail_next(1000, status=503)
    try:
        boto3.client("sqs").send_message(
            QueueUrl=system.runtime.queue_urls["OssQueue"],
            MessageBody=json.dumps({"id_izin": id_izin, "milestone": "inspeksi"}),
        )
        dead = wait_until(
            lambda: dead_lettered(system, id_izin), timeout=90, what="OSS status in the DLQ"
        )
        calls = statuses(system, id_izin)
    finally:
        oss.clear()  # the failures not used up (and what OSS recorded)

    assert dead == {"id_izin": id_izin, "milestone": "inspeksi"}
    # Every receive the queue allows (its maxReceiveCount in the template) was an attempt,
    # each answered 503 by OSS, each with the same body.
    receives = max_receive_count(system, "OssQueue")
    assert [c.status for c in calls] == [503] * receives
    assert all(c.json == calls[0].json for c in calls)
    attempts = [e["attempt"] for e in trail(system, id_izin, "oss.call_failed")]
    assert attempts == list(range(1, receives + 1))
    assert trail(system, id_izin, "oss.status_sent") == []


def dead_lettered(system: System, id_izin: str) -> dict[str, Any] | None:
    """The message of this application in the OSS DLQ, if it is there (left there)."""
    answer = boto3.client("sqs").receive_message(
        QueueUrl=system.runtime.queue_urls["OssDeadLetterQueue"],
        MaxNumberOfMessages=10,
        VisibilityTimeout=0,
        WaitTimeSeconds=0,
    )
    for message in answer.get("Messages", []):
        body: dict[str, Any] = json.loads(message["Body"])
        if body.get("id_izin") == id_izin:
            return body
    return None


@pytest.fixture(autouse=True)
def _oss_behaves_after_each_test(system: System) -> Any:
    yield
    assert system.runtime.oss is not None
    system.runtime.oss.up()


def test_reconciliation_applies_what_oss_decided_when_its_webhook_never_came(
    system: System,
) -> None:
    id_izin = "IP-OSS-REKON"
    endpoints, oss = system.endpoints, system.runtime.oss
    assert oss is not None
    submit(endpoints, id_izin)
    decide_shortest_path(Officer(endpoints.outbox, id_izin, endpoints.roster))
    wait_for_step(endpoints, id_izin, 18)
    post(endpoints, "siinas", "komitmen.terpenuhi", samples.komitmen(id_izin))
    wait_for_step(endpoints, id_izin, 19)

    # The daily run: the wait is younger than ReconcileAfterDays, so OSS is not asked.
    assert system.runtime.invoke("ReconcileFunction", {}) == {"checked": []}
    # OSS has only what we told it (45): asked by hand, nothing is applied.
    [checked] = system.runtime.invoke("ReconcileFunction", {"id_izin": [id_izin]})["checked"]
    assert (checked["kd_status"], checked["applied"]) == ("45", False)

    oss.decide(id_izin, "50", "Izin berlaku efektif")
    [checked] = system.runtime.invoke("ReconcileFunction", {"id_izin": [id_izin]})["checked"]
    assert (checked["kd_status"], checked["applied"]) == ("50", True)
    final = wait_until(
        lambda: a if (a := application(endpoints, id_izin)).get("status") == "SELESAI" else None,
        timeout=60,
        what=f"{id_izin} finished",
    )
    assert final["status"] == "SELESAI"
    assert system.finished(id_izin)["status"] == "SUCCEEDED"
    [received_event] = [
        e for e in trail(system, id_izin, "event.received") if e.get("type") == "izin.status"
    ]
    assert received_event["recorded_by"] == RECORDED_BY
