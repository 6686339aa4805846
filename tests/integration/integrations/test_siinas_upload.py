"""Step 17 against SIINAS (CONTRACT §2): retried uploads, one Idempotency-Key, the DLQ fallback.

One runtime with the template's queues as deployed (maxReceiveCount 5) and short retry
delays; each test takes one application through the SOP while SIINAS misbehaves. Also
here, on the first application: the copy (tembusan) of the sealed BAP to DPMPTSP Kalbar.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import threading
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import boto3
import pytest
from izin.roster import Role
from izin_local.officer import Decided, wait_until
from izin_local.scenario import Scenario, drive
from izin_local.simulators import RecordedRequest
from izin_local.testing import System

NO_INSPECTION = Scenario(field_inspection=False)


def uploads(system: System, id_izin: str) -> list[RecordedRequest]:
    """The BAP uploads of this application SIINAS received, in order."""
    assert system.runtime.siinas is not None
    path = f"/verifikasi-teknis/{id_izin}/bap"
    return [r for r in system.runtime.siinas.requests if r.path == path]


def header(request: RecordedRequest, name: str) -> str:
    """A request header, whatever the case of its name."""
    return next(v for k, v in request.headers.items() if k.lower() == name.lower())


def trail(system: System, id_izin: str, action: str) -> list[dict[str, Any]]:
    return [e for e in system.endpoints.store.audit(id_izin) if e["action"] == action]


def secret_value(system: System, logical_id: str) -> str:
    arn = system.runtime.resource(logical_id)["Ref"]
    value: str = boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    return value


def latest_version(system: System, id_izin: str, jenis: str) -> dict[str, Any]:
    versions = system.endpoints.store.document_versions(id_izin, jenis)
    return max(versions, key=lambda item: int(item["versi"]))


def idempotency_records(system: System, name: str) -> list[dict[str, Any]]:
    answer = boto3.client("dynamodb").query(
        TableName=system.runtime.table_names["IzinTable"],
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"IDEMPOTENCY#{name}"}},
        ConsistentRead=True,
    )
    items: list[dict[str, Any]] = answer["Items"]
    return items


def in_background(work: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Run `work` in a thread; the returned function joins it and gives its result."""
    result: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> dict[str, Any]:
        thread.join(timeout=150)
        if errors:
            raise errors[0]
        assert result, "the application did not finish"
        return result[0]

    return join


@pytest.fixture(scope="module")
def after_two_failures(system: System) -> str:
    """An application whose BAP upload SIINAS refused twice with 500, then took."""
    id_izin = "IP-SIINAS-500"
    assert system.runtime.siinas is not None
    system.runtime.siinas.fail_next(2, status=500)
    final = drive(system.endpoints, id_izin, NO_INSPECTION, timeout=90)
    assert final["status"] == "SELESAI"
    return id_izin


def test_siinas_failing_twice_then_accepting_gives_one_upload_under_one_key(
    system: System, after_two_failures: str
) -> None:
    id_izin = after_two_failures
    calls = uploads(system, id_izin)

    assert [call.status for call in calls] == [500, 500, 201]
    assert len({header(call, "Idempotency-Key") for call in calls}) == 1
    assert all(call.json == calls[0].json for call in calls)  # the same upload, three times
    assert {header(call, "Authorization") for call in calls} == {
        f"Bearer {secret_value(system, 'SiinasApiToken')}"
    }
    upload = calls[-1].json
    assert set(upload) == {"nomor_bap", "tanggal", "kesimpulan", "dokumen", "sha256"}
    assert set(upload["dokumen"]) == {"nama", "content_type", "base64"}
    bap = latest_version(system, id_izin, "bap")
    assert bap["sealed"] and upload["nomor_bap"] == bap["nomor"]
    content = base64.b64decode(upload["dokumen"]["base64"])
    assert upload["sha256"] == hashlib.sha256(content).hexdigest() == bap["pdf_sha256"]
    assert upload["dokumen"]["content_type"] == "application/pdf"
    assert upload["kesimpulan"] == "siap"

    assert [e["attempt"] for e in trail(system, id_izin, "siinas.call_failed")] == [1, 2]
    [uploaded] = trail(system, id_izin, "bap.uploaded")
    assert uploaded["sha256"] == upload["sha256"]
    assert system.finished(id_izin)["status"] == "SUCCEEDED"
    # The worker's record handler is idempotent: the success is kept under the body's hash.
    records = idempotency_records(system, "siinas_worker")
    assert any(r["status"]["S"] == "COMPLETED" for r in records)


def test_the_tembusan_to_dpmptsp_carries_the_sealed_bap_and_its_cover_letter(
    system: System, after_two_failures: str
) -> None:
    id_izin, endpoints = after_two_failures, system.endpoints
    to = str(endpoints.roster.dpmptsp_email)
    copies = [
        m
        for m in endpoints.outbox.messages()
        if m.to == (to,) and "Tembusan BAP" in m.subject and id_izin in (m.text or "")
    ]

    assert len(copies) == 1
    parsed = email.message_from_bytes(copies[0].path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    attached = {part.get_filename(): part.get_content() for part in parsed.iter_attachments()}
    bap = latest_version(system, id_izin, "bap")
    pengantar = latest_version(system, id_izin, "surat_pengantar_dpmptsp")
    assert bap["sealed"] and pengantar["sealed"]
    nama = (endpoints.store.application(id_izin) or {})["data"]["perusahaan"]["nama"]
    # Named as a clerk files them, not as they are stored.
    assert set(attached) == {
        f"Surat Pengantar Tembusan BAP - {nama}.pdf",
        f"BAP Verifikasi Teknis - {nama}.pdf",
    }
    bap_file = attached[f"BAP Verifikasi Teknis - {nama}.pdf"]
    assert bap_file.startswith(b"%PDF")
    assert hashlib.sha256(bap_file).hexdigest() == bap["pdf_sha256"]
    pengantar_file = attached[f"Surat Pengantar Tembusan BAP - {nama}.pdf"]
    assert hashlib.sha256(pengantar_file).hexdigest() == pengantar["pdf_sha256"]
    # The version the Kepala Dinas approved was unsealed; what went out is its sealed copy.
    (unsealed,) = [
        v
        for v in endpoints.store.document_versions(id_izin, "bap")
        if int(v["versi"]) == int(bap["versi"]) - 1
    ]
    assert not unsealed["sealed"]
    assert bap["sha256_disetujui"] == unsealed["sha256"]
    # The email speaks to DPMPTSP: no hashes (the verify page, by the QR code, shows them).
    text = copies[0].text or ""
    assert bap["pdf_sha256"] not in text and "SHA-256" not in text
    assert parsed["From"].addresses[0].display_name == "Disperindag Kalbar - Izin Perluasan"
    [sent] = trail(system, id_izin, "tembusan.sent")
    assert sent["to"] == to and sent["documents"]["bap"] == bap["pdf_sha256"]


def test_siinas_slower_than_the_timeout_is_a_failure_and_retried(system: System) -> None:
    id_izin = "IP-SIINAS-SLOW"
    assert system.runtime.siinas is not None
    system.runtime.siinas.slow_next(1, 5)  # the worker waits 2 s (CallTimeoutSeconds)

    final = drive(system.endpoints, id_izin, NO_INSPECTION, timeout=90)

    assert final["status"] == "SELESAI"
    [failure] = trail(system, id_izin, "siinas.call_failed")
    assert "timed out" in failure["reason"].lower()
    assert len(trail(system, id_izin, "bap.uploaded")) == 1
    # The slow call still reached SIINAS: both carry one key, so SIINAS keeps one upload.
    wait_until(lambda: len(uploads(system, id_izin)) == 2, timeout=10, what="both calls")
    calls = uploads(system, id_izin)
    assert len({header(call, "Idempotency-Key") for call in calls}) == 1


def test_siinas_down_sends_the_upload_to_the_dlq_and_the_operator_uploads_by_hand(
    system: System, operator_uploads_by_hand: Callable[[System, str], Decided]
) -> None:
    id_izin = "IP-SIINAS-DOWN"
    siinas = system.runtime.siinas
    assert siinas is not None
    siinas.down()
    try:
        finished = in_background(
            lambda: drive(system.endpoints, id_izin, NO_INSPECTION, timeout=120)
        )
        decided = operator_uploads_by_hand(system, id_izin)
        assert decided.status == 200, decided.page[:500]
        final = finished()
    finally:
        siinas.up()

    assert final["status"] == "SELESAI"
    assert system.finished(id_izin)["status"] == "SUCCEEDED"
    assert uploads(system, id_izin) == []
    # Every receive the queue allows failed (its maxReceiveCount), then the DLQ's consumer.
    receives = int(
        system.runtime.provisioned.resources["SiinasQueue"].properties["RedrivePolicy"][
            "maxReceiveCount"
        ]
    )
    attempts = [e["attempt"] for e in trail(system, id_izin, "siinas.call_failed")]
    assert attempts == list(range(1, receives + 1))
    [manual] = trail(system, id_izin, "bap.upload_manual")
    assert "gagal" in manual["reason"]
    [uploaded] = trail(system, id_izin, "bap.uploaded")  # by the Operator, by hand
    assert uploaded["nip"] == system.endpoints.roster.first(Role.OPERATOR).nip
    assert f"SIINAS-{id_izin}-001" in uploaded["note"]
    assert idempotency_records(system, "siinas_fallback")
    sqs = boto3.client("sqs")
    for queue in ("SiinasQueue", "SiinasDeadLetterQueue", "SiinasFallbackDeadLetterQueue"):
        attributes = sqs.get_queue_attributes(
            QueueUrl=system.runtime.queue_urls[queue],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        assert all(int(n) == 0 for n in attributes.values()), (queue, attributes)


@pytest.fixture(autouse=True)
def _siinas_behaves_after_each_test(system: System) -> Iterator[None]:
    yield
    assert system.runtime.siinas is not None
    system.runtime.siinas.up()
