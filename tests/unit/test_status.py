"""`izin status` beside the applications: the execution's name, and events in the inbound DLQ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from izin.events import InboundEvent, start_application
from izin.models import Permohonan
from izin.store import DynamoStore
from izin_local import samples
from izin_local.status import print_status
from izin_local.testing import moto_table

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


class Executions:
    def start(self, name: str, state: dict[str, object]) -> bool:
        return True


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DynamoStore, str]]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with moto_table("izin-IzinTable") as store:
        from izin.aws import client

        url = client("sqs").create_queue(QueueName="izin-InboundDeadLetterQueue-AB12")["QueueUrl"]
        client("sqs").create_queue(QueueName="izin-OssDeadLetterQueue-CD34")
        yield store, url


def _dead_letter(url: str, source: str, type_: str, data: dict[str, object], event_id: str) -> None:
    from izin.aws import client

    event = InboundEvent(source=source, event_id=event_id, type=type_, occurred_at=NOW, data=data)
    client("sqs").send_message(QueueUrl=url, MessageBody=event.model_dump_json())


def _start(store: DynamoStore, id_izin: str) -> None:
    data = Permohonan.model_validate(samples.permohonan(id_izin))
    event = InboundEvent(
        source="oss",
        event_id=f"e-{id_izin}",
        type="permohonan.diajukan",
        occurred_at=NOW,
        data=data.model_dump(mode="json"),
    )
    start_application(data, event, store=store, executions=Executions(), now=NOW)


def test_a_dead_lettered_event_is_shown_beside_its_application(
    aws: tuple[DynamoStore, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, url = aws
    _start(store, "IP-DLQ-1")
    _dead_letter(url, "siinas", "verifikasi.diajukan", samples.verifikasi("IP-DLQ-1"), "evt-v1")
    _dead_letter(url, "oss", "permohonan.diajukan", samples.permohonan("IP-DLQ-2"), "evt-p2")

    assert print_status(None, as_json=True, endpoint_url="", table=None) == 0
    rows = {row["id_izin"]: row for row in json.loads(capsys.readouterr().out)}
    assert [e["event_id"] for e in rows["IP-DLQ-1"]["dead_letters"]] == ["evt-v1"]
    assert rows["IP-DLQ-1"]["execution"] == "IP-DLQ-1"
    # The permohonan that failed has no application: its row says so.
    assert rows["IP-DLQ-2"]["status"] == "GAGAL_DITERAPKAN"
    assert rows["IP-DLQ-2"]["dead_letters"][0]["type"] == "permohonan.diajukan"

    assert print_status(None, as_json=False, endpoint_url="", table=None) == 0
    listing = capsys.readouterr().out
    assert "DLQ  siinas verifikasi.diajukan evt-v1 tidak dapat diterapkan" in listing

    assert print_status("IP-DLQ-2", as_json=False, endpoint_url="", table=None) == 0
    assert "oss permohonan.diajukan evt-p2" in capsys.readouterr().out
    # Looked at, not taken: both are still on the queue for the redrive.
    from izin.aws import client

    attributes = client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "2"


def test_an_execution_name_with_a_suffix_is_shown(
    aws: tuple[DynamoStore, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, _ = aws
    _start(store, "COL.1")
    assert print_status("COL.1", as_json=True, endpoint_url="", table=None) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["execution"].startswith("COL-1-") and shown["dead_letters"] == []


def test_a_parked_application_shows_where_it_will_start_again(
    aws: tuple[DynamoStore, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, _ = aws
    _start(store, "IP-PARK")
    parked_in = {"execution": "IP-PARK", "state": "05 Dokumen - Surat Pengantar Kepala Bidang"}
    store.update_application("IP-PARK", {"status": "TERHENTI", "parked_in": parked_in})
    assert print_status("IP-PARK", as_json=True, endpoint_url="", table=None) == 0
    assert json.loads(capsys.readouterr().out)["parked_in"] == parked_in
    assert print_status("IP-PARK", as_json=False, endpoint_url="", table=None) == 0
    assert "parked_in: {'execution': 'IP-PARK', 'state': '05 Dokumen" in capsys.readouterr().out


def test_backfill_marks_the_open_applications_received_before_the_markers(
    aws: tuple[DynamoStore, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from izin.aws import client
    from izin_local.cli import main

    store, _ = aws
    _start(store, "IP-NEW")  # received with its marker
    old = {"IP-OLD-OPEN": "PROSES", "IP-OLD-PARKED": "TERHENTI", "IP-OLD-DONE": "SELESAI"}
    for id_izin, status in old.items():
        _start(store, id_izin)
        client("dynamodb").delete_item(  # as received before the markers existed
            TableName=store.table, Key={"PK": {"S": f"APP#{id_izin}"}, "SK": {"S": "OPEN"}}
        )
        store.update_application(id_izin, {"status": status})
    assert [a["id_izin"] for a in store.open_applications()] == ["IP-NEW"]

    assert main(["backfill-open", "--endpoint-url", ""]) == 0
    assert capsys.readouterr().out.startswith("2 open application(s) marked")
    assert sorted(a["id_izin"] for a in store.open_applications()) == [
        "IP-NEW",
        "IP-OLD-OPEN",
        "IP-OLD-PARKED",
    ]
    assert main(["backfill-open", "--endpoint-url", ""]) == 0  # once is enough
    assert capsys.readouterr().out.startswith("0 open application(s) marked")


def test_backfill_marks_the_ids_of_events_kept_before_the_markers(
    aws: tuple[DynamoStore, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An outcome OSS's reconciliation sends again, with its run's time, is a duplicate
    once the event kept before the markers has its id's marker."""
    from izin.aws import client
    from izin_local.cli import main

    store, _ = aws
    _start(store, "IP-EVT")
    fields = {"source": "oss", "type": "izin.status", "event_id": "oss-reconcile-IP-EVT-50"}
    assert store.keep_event(
        "IP-EVT", "oss:izin.status", "2026-12-01T09:00", fields["event_id"], fields
    )
    client("dynamodb").delete_item(  # as kept before the markers existed
        TableName=store.table,
        Key={"PK": {"S": "APP#IP-EVT"}, "SK": {"S": "SEEN#oss#oss-reconcile-IP-EVT-50"}},
    )

    assert main(["backfill-open", "--endpoint-url", ""]) == 0
    assert "1 event id(s) of open applications marked" in capsys.readouterr().out
    later = "2026-12-02T09:00"
    assert not store.keep_event("IP-EVT", "oss:izin.status", later, fields["event_id"], fields)
    assert main(["backfill-open", "--endpoint-url", ""]) == 0
    assert "0 event id(s) of open applications marked" in capsys.readouterr().out
