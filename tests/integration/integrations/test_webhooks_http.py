"""Every answer of the webhooks (CONTRACT §1), through the HTTP gateway of the local runtime.

A refused delivery leaves no trace: nothing in the inbound queue, no delivery record, no
item of its application, no execution. An accepted one starts one execution however
often, and however concurrently, it is delivered.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from izin.models import execution_name
from izin.webhooks import MAX_BODY, signature
from izin_local import samples
from izin_local.officer import wait_until
from izin_local.scenario import wait_for_step
from izin_local.testing import System
from izin_local.webhook_client import envelope

Headers = dict[str, str]


def post_raw(system: System, source: str, body: bytes, headers: Headers) -> tuple[int, Any]:
    """POST exactly these bytes and headers; the status and the JSON answer."""
    request = urllib.request.Request(
        f"{system.runtime.http_url}/webhooks/{source}",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def signed(
    system: System, source: str, body: bytes, *, event_id: str, timestamp: int | None = None
) -> Headers:
    """The three headers a sender sets, signed with the source's own secret."""
    sent_at = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Event-Id": event_id,
        "X-Timestamp": sent_at,
        "X-Signature": signature(system.endpoints.secrets[source], sent_at, body),
    }


def permohonan_body(id_izin: str, **changes: Any) -> dict[str, Any]:
    """OSS's permohonan.diajukan for this application, with `changes` to its data."""
    data = samples.permohonan(id_izin)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = data
        for parent in parents:
            target = target[parent]
        if value is None:
            del target[leaf]
        else:
            target[leaf] = value
    return envelope("permohonan.diajukan", data)


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


@dataclass
class Refusal:
    """One delivery that must be refused, and how."""

    name: str
    source: str
    status: int
    error: str
    build: Callable[[System, str], tuple[bytes, Headers]]
    fields: set[str] = field(default_factory=set)


def _sign_valid(
    source: str = "oss", **changes: Any
) -> Callable[[System, str], tuple[bytes, Headers]]:
    def build(system: System, id_izin: str) -> tuple[bytes, Headers]:
        body = permohonan_body(id_izin, **changes)
        raw = encode(body)
        return raw, signed(system, source, raw, event_id=body["event_id"])

    return build


def _with_headers(
    change: Callable[[bytes, Headers], tuple[bytes, Headers]],
) -> Callable[[System, str], tuple[bytes, Headers]]:
    def build(system: System, id_izin: str) -> tuple[bytes, Headers]:
        raw, headers = _sign_valid()(system, id_izin)
        return change(raw, headers)

    return build


def _stale(seconds: int) -> Callable[[System, str], tuple[bytes, Headers]]:
    def build(system: System, id_izin: str) -> tuple[bytes, Headers]:
        body = permohonan_body(id_izin)
        raw = encode(body)
        when = int(time.time()) + seconds
        return raw, signed(system, "oss", raw, event_id=body["event_id"], timestamp=when)

    return build


def _raw(text: bytes) -> Callable[[System, str], tuple[bytes, Headers]]:
    def build(system: System, id_izin: str) -> tuple[bytes, Headers]:
        return text, signed(system, "oss", text, event_id=f"evt-raw-{id_izin}")

    return build


def _envelope_without(key: str) -> Callable[[System, str], tuple[bytes, Headers]]:
    def build(system: System, id_izin: str) -> tuple[bytes, Headers]:
        body = permohonan_body(id_izin)
        del body[key]
        raw = encode(body)
        return raw, signed(system, "oss", raw, event_id=body["event_id"])

    return build


def _typed(source: str, event_type: str) -> Callable[[System, str], tuple[bytes, Headers]]:
    def build(system: System, id_izin: str) -> tuple[bytes, Headers]:
        body = envelope(event_type, samples.verifikasi(id_izin))
        raw = encode(body)
        return raw, signed(system, source, raw, event_id=body["event_id"])

    return build


def _too_large(system: System, id_izin: str) -> tuple[bytes, Headers]:
    body = permohonan_body(id_izin)
    body["data"]["lampiran"] = "x" * MAX_BODY
    raw = encode(body)
    return raw, signed(system, "oss", raw, event_id=body["event_id"])


def _signed_by_oss_for_siinas(system: System, id_izin: str) -> tuple[bytes, Headers]:
    body = envelope("verifikasi.diajukan", samples.verifikasi(id_izin))
    raw = encode(body)
    return raw, signed(system, "oss", raw, event_id=body["event_id"])


REFUSALS = [
    Refusal(
        "bad signature",
        "oss",
        401,
        "signature_invalid",
        _with_headers(lambda raw, h: (raw, h | {"X-Signature": "sha256=" + "0" * 64})),
    ),
    Refusal(
        "body changed after signing",
        "oss",
        401,
        "signature_invalid",
        _with_headers(lambda raw, h: (raw.replace(b"Sanggau", b"Sambas"), h)),
    ),
    Refusal(
        "signed with the other source's secret",
        "siinas",
        401,
        "signature_invalid",
        _signed_by_oss_for_siinas,
    ),
    Refusal(
        "missing signature",
        "oss",
        401,
        "signature_missing",
        _with_headers(lambda raw, h: (raw, {k: v for k, v in h.items() if k != "X-Signature"})),
    ),
    Refusal(
        "missing timestamp",
        "oss",
        401,
        "signature_missing",
        _with_headers(lambda raw, h: (raw, {k: v for k, v in h.items() if k != "X-Timestamp"})),
    ),
    Refusal("timestamp 400 s old", "oss", 401, "timestamp_stale", _stale(-400)),
    Refusal("timestamp 400 s ahead", "oss", 401, "timestamp_stale", _stale(400)),
    Refusal("not JSON", "oss", 400, "invalid_json", _raw(b'{"event_id": "evt-1", "type":')),
    Refusal("JSON but not an object", "oss", 400, "invalid_body", _raw(b"[1, 2, 3]"), {""}),
    Refusal(
        "envelope without occurred_at",
        "oss",
        400,
        "invalid_body",
        _envelope_without("occurred_at"),
        {"occurred_at"},
    ),
    Refusal(
        "X-Event-Id other than the body's",
        "oss",
        400,
        "invalid_body",
        _with_headers(lambda raw, h: (raw, h | {"X-Event-Id": "evt-another"})),
        {"event_id"},
    ),
    Refusal(
        "data of the wrong shape",
        "oss",
        400,
        "invalid_body",
        _sign_valid(
            nib="912030123456",  # 12 digits
            perusahaan__npwp="00134567890120",  # 14 digits
            kbli="1043",  # 4 digits
            perusahaan__email=None,  # missing
        ),
        {"data.nib", "data.perusahaan.npwp", "data.kbli", "data.perusahaan.email"},
    ),
    Refusal("unknown type", "oss", 422, "unknown_type", _typed("oss", "permohonan.dibatalkan")),
    Refusal(
        "a SIINAS type posted as OSS",
        "oss",
        422,
        "unknown_type",
        _typed("oss", "verifikasi.diajukan"),
    ),
    Refusal("too large", "oss", 413, "payload_too_large", _too_large),
    Refusal("unknown source", "bkpm", 404, "unknown_source", _sign_valid("oss")),
]


def inbound_drained(system: System) -> bool:
    """Whether the inbound queue holds nothing, neither waiting nor in flight."""
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=system.runtime.queue_urls["InboundQueue"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(value) == 0 for value in attributes.values())


def partition(system: System, pk: str) -> list[dict[str, Any]]:
    """Every item of the table under this partition key."""
    answer = boto3.client("dynamodb").query(
        TableName=system.runtime.table_names["IzinTable"],
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )
    items: list[dict[str, Any]] = answer["Items"]
    return items


def execution_exists(system: System, id_izin: str) -> bool:
    sfn = boto3.client("stepfunctions")
    try:
        system.execution(id_izin)
    except sfn.exceptions.ExecutionDoesNotExist:
        return False
    return True


def refused_metrics(output: str) -> list[dict[str, Any]]:
    """The WebhookRefused metrics (CloudWatch EMF lines) a function printed."""
    lines = (json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"'))
    return [line for line in lines if "WebhookRefused" in line]


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda r: r.name)
def test_a_refused_delivery_is_answered_and_leaves_no_trace(
    system: System, refusal: Refusal, capsys: pytest.CaptureFixture[str]
) -> None:
    id_izin = "IP-WH-" + refusal.name.replace(" ", "-").replace("'", "")
    raw, headers = refusal.build(system, id_izin)

    status, answer = post_raw(system, refusal.source, raw, headers)

    assert status == refusal.status, answer
    assert answer["error"] == refusal.error
    if refusal.fields:
        assert {f["field"] for f in answer["fields"]} == refusal.fields
        assert all(f["error"] for f in answer["fields"])
    assert [m["status"] for m in refused_metrics(capsys.readouterr().out)] == [str(status)]
    wait_until(lambda: inbound_drained(system), timeout=15, what="inbound queue drained")
    assert partition(system, f"APP#{id_izin}") == []
    assert partition(system, f"DELIVERY#{refusal.source}#{headers.get('X-Event-Id', '')}") == []
    assert not execution_exists(system, id_izin)


def test_an_accepted_delivery_is_queued_once_and_a_repeat_is_a_duplicate(
    system: System, capsys: pytest.CaptureFixture[str]
) -> None:
    id_izin = "IP-WH-ACCEPTED"
    body = envelope("permohonan.diajukan", samples.permohonan(id_izin))
    raw = encode(body)

    first = post_raw(system, "oss", raw, signed(system, "oss", raw, event_id=body["event_id"]))
    again = post_raw(system, "oss", raw, signed(system, "oss", raw, event_id=body["event_id"]))

    assert first == (202, {"status": "accepted"})
    assert again == (200, {"status": "duplicate"})
    assert refused_metrics(capsys.readouterr().out) == []
    wait_for_step(system.endpoints, id_izin, 2)
    wait_until(lambda: inbound_drained(system), timeout=15, what="inbound queue drained")
    delivery = system.endpoints.store.delivery("oss", body["event_id"])
    assert delivery is not None and "received_at" in delivery
    assert delivery["expires_at"] > time.time()  # kept for a while, then TTL removes it
    actions = [e["action"] for e in system.endpoints.store.audit(id_izin)]
    assert actions.count("application.received") == 1
    assert actions.count("execution.started") == 1


def test_one_event_delivered_five_times_at_once_starts_one_execution(system: System) -> None:
    id_izin = "IP-WH-CONCURRENT"
    body = envelope("permohonan.diajukan", samples.permohonan(id_izin))
    raw = encode(body)
    headers = signed(system, "oss", raw, event_id=body["event_id"])
    start = threading.Barrier(5)
    answers: list[tuple[int, Any]] = []

    def deliver() -> None:
        start.wait()
        answers.append(post_raw(system, "oss", raw, headers))

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(status for status, _ in answers) == [200, 200, 200, 200, 202]
    assert [a for s, a in answers if s == 202] == [{"status": "accepted"}]
    assert all(a == {"status": "duplicate"} for s, a in answers if s == 200)
    wait_for_step(system.endpoints, id_izin, 2)
    # Every copy that was queued has been applied by now, and none started another.
    wait_until(lambda: inbound_drained(system), timeout=15, what="inbound queue drained")
    actions = [e["action"] for e in system.endpoints.store.audit(id_izin)]
    assert actions.count("application.received") == 1
    assert actions.count("execution.started") == 1
    machine = system.runtime.state_machine_arns["IzinStateMachine"]
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=machine)
    named = [e for e in executions["executions"] if e["name"] == execution_name(id_izin)]
    assert len(named) == 1
    assert system.execution(id_izin)["status"] == "RUNNING"


def test_a_delivery_of_the_largest_body_taken_is_queued(system: System) -> None:
    """A body of MAX_BODY, with the queue message's own fields around its data, is more than
    SQS's default 256 KiB message: the inbound queues take 1 MiB (the local runtime creates a
    queue with AWS's defaults, so a queue left at its default refuses it here too)."""
    data: dict[str, Any] = {
        "id_izin": "IP-WH-BESAR",
        "nib": samples.permohonan("IP-WH-BESAR")["nib"],
        "komitmen_data_industri": True,
        "berkas": [],
    }
    body = envelope("verifikasi.diajukan", data)
    one = {"nama": "n" * 400, "url": "https://siinas.example/" + "b" * 1970}
    while len(encode(body)) + len(encode(one)) + 2 + 50 <= MAX_BODY:
        data["berkas"].append(one)
    last = {"nama": "", "url": "https://siinas.example/"}
    gap = MAX_BODY - len(encode(body)) - len(encode(last)) - 2  # 3 to about 2,400 bytes
    last["nama"], last["url"] = (
        "n" * (1 + max(0, gap - 1970)),
        last["url"] + "b" * min(gap - 1, 1969),
    )
    data["berkas"].append(last)  # the body exactly MAX_BODY bytes
    raw = encode(body)
    assert len(raw) == MAX_BODY

    answer = post_raw(
        system, "siinas", raw, signed(system, "siinas", raw, event_id=body["event_id"])
    )

    assert answer == (202, {"status": "accepted"})
    delivery = system.endpoints.store.delivery("siinas", body["event_id"])
    assert delivery is not None and "received_at" in delivery
