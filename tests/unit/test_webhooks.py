"""receive(): every answer of CONTRACT §1, with an in-memory store and queue.

What a refusal must not do is as much the contract as its status: nothing queued, no
delivery recorded. The same cases run through the HTTP gateway in
tests/integration/integrations/test_webhooks_http.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from izin.memory_store import MemoryStore
from izin.webhooks import (
    MAX_BODY,
    REFUSAL_STATUSES,
    Answer,
    receive,
    signature,
    unknown_source,
)
from izin_local import samples

SECRET = "oss-secret"
NOW = datetime(2026, 11, 26, 2, 15, tzinfo=UTC)


class FakeQueue:
    """The inbound queue: what was sent, or an outage."""

    def __init__(self, *, down: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.down = down

    def send(self, message: dict[str, Any]) -> None:
        if self.down:
            raise ConnectionError("SQS unreachable")
        self.sent.append(message)


def permohonan(id_izin: str = "IP-0001", **data: Any) -> dict[str, Any]:
    return {**samples.permohonan(id_izin), **data}


def body_of(event_type: str = "permohonan.diajukan", data: Any = None, **envelope: Any) -> bytes:
    document = {
        "event_id": "evt-0001",
        "type": event_type,
        "occurred_at": "2026-11-26T09:15:00+07:00",
        "data": permohonan() if data is None else data,
        **envelope,
    }
    return json.dumps(document).encode()


def headers_for(
    body: bytes, *, secret: str = SECRET, at: datetime = NOW, event_id: str = "evt-0001"
) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    return {
        "X-Event-Id": event_id,
        "X-Timestamp": timestamp,
        "X-Signature": signature(secret, timestamp, body),
    }


def deliver(
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    source: str = "oss",
    store: MemoryStore | None = None,
    queue: FakeQueue | None = None,
) -> tuple[Answer, MemoryStore, FakeQueue]:
    store, queue = store or MemoryStore(), queue or FakeQueue()
    answer = receive(
        source,
        headers_for(body) if headers is None else headers,
        body,
        secret=SECRET,
        now=NOW,
        store=store,
        queue=queue,
    )
    return answer, store, queue


def refused(answer: Answer, store: MemoryStore, queue: FakeQueue) -> int:
    """The refusal's status, once it is clear nothing was queued or recorded."""
    assert answer.refused
    assert answer.status in REFUSAL_STATUSES  # each one is counted and alarmed on
    assert queue.sent == []
    assert store.items == {}
    return answer.status


# --- accepted, duplicate -----------------------------------------------------------------


def test_a_valid_delivery_is_queued_and_accepted() -> None:
    answer, store, queue = deliver(body_of())

    assert answer == Answer(202, {"status": "accepted"})
    assert not answer.refused
    [message] = queue.sent
    assert message["source"] == "oss" and message["event_id"] == "evt-0001"
    assert message["type"] == "permohonan.diajukan"
    assert message["data"]["id_izin"] == "IP-0001"
    delivery = store.items[("DELIVERY#oss#evt-0001", "DELIVERY")]
    assert delivery["received_at"] == NOW.isoformat()
    assert delivery["expires_at"] == int((NOW + timedelta(days=14)).timestamp())


def test_a_repeated_event_id_is_a_duplicate_queued_again_in_one_write() -> None:
    """A repeat is answered 200 and queued again (the inbound function applies an event
    once): a delivery is one write, its record, and never a read (DynamoDB calls, #9)."""
    body = body_of()
    store = MemoryStore()
    _, _, queue = deliver(body, store=store)
    store.calls.clear()

    answer, _, _ = deliver(body, headers_for(body), store=store, queue=queue)

    assert answer == Answer(200, {"status": "duplicate"})
    assert [m["event_id"] for m in queue.sent] == ["evt-0001", "evt-0001"]
    assert store.calls == {"put": 1}


def test_the_same_event_id_from_the_other_source_is_another_event() -> None:
    siinas = body_of(
        "komitmen.terpenuhi",
        {"id_izin": "IP-0001", "nomor_berita_acara": "BA-1", "tanggal": "2026-11-26"},
    )
    _, store, queue = deliver(body_of())

    answer, _, _ = deliver(siinas, headers_for(siinas), source="siinas", store=store, queue=queue)

    assert answer.status == 202
    assert [m["source"] for m in queue.sent] == ["oss", "siinas"]


def test_a_delivery_that_died_before_queueing_is_queued_by_its_repeat() -> None:
    body = body_of()
    store = MemoryStore()
    with pytest.raises(ConnectionError):
        deliver(body, store=store, queue=FakeQueue(down=True))
    assert ("DELIVERY#oss#evt-0001", "DELIVERY") in store.items  # recorded before the queue

    answer, _, queue = deliver(body, store=store)

    # Not acknowledged the first time; the sender's retry queues it.
    assert answer.status == 200 and len(queue.sent) == 1


def test_header_names_are_read_whatever_their_case() -> None:
    body = body_of()
    lower = {name.lower(): value for name, value in headers_for(body).items()}

    assert deliver(body, lower)[0].status == 202


# --- refused: nothing queued, nothing recorded ---------------------------------------------


def test_a_bad_signature_is_401() -> None:
    body = body_of()
    answer, store, queue = deliver(body, headers_for(body, secret="another-secret"))
    assert refused(answer, store, queue) == 401
    assert answer.body == {"error": "signature_invalid"}


def test_a_body_changed_after_signing_is_401() -> None:
    body = body_of()
    headers = headers_for(body)
    answer, store, queue = deliver(body.replace(b"Sanggau", b"Sambas"), headers)
    assert refused(answer, store, queue) == 401


@pytest.mark.parametrize("missing", ["X-Signature", "X-Timestamp"])
def test_a_missing_signature_or_timestamp_is_401(missing: str) -> None:
    body = body_of()
    headers = {k: v for k, v in headers_for(body).items() if k != missing}
    answer, store, queue = deliver(body, headers)
    assert refused(answer, store, queue) == 401
    assert answer.body == {"error": "signature_missing"}


@pytest.mark.parametrize("timestamp", ["kemarin", "9" * 400], ids=["words", "past-a-float"])
def test_a_timestamp_that_is_not_a_number_is_401(timestamp: str) -> None:
    body = body_of()
    answer, store, queue = deliver(body, headers_for(body) | {"X-Timestamp": timestamp})
    assert refused(answer, store, queue) == 401
    assert answer.body == {"error": "timestamp_invalid"}


@pytest.mark.parametrize("seconds", [-301, 301, -86_400, 86_400])
def test_a_timestamp_more_than_300_s_off_either_way_is_401(seconds: int) -> None:
    body = body_of()
    answer, store, queue = deliver(body, headers_for(body, at=NOW + timedelta(seconds=seconds)))
    assert refused(answer, store, queue) == 401
    assert answer.body["error"] == "timestamp_stale"


@pytest.mark.parametrize("seconds", [-300, 300])
def test_a_timestamp_300_s_off_is_still_accepted(seconds: int) -> None:
    body = body_of()
    answer, _, _ = deliver(body, headers_for(body, at=NOW + timedelta(seconds=seconds)))
    assert answer.status == 202


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b""], ids=["syntax", "bytes", "empty"])
def test_a_body_that_is_not_json_is_400(body: bytes) -> None:
    answer, store, queue = deliver(body)
    assert refused(answer, store, queue) == 400
    assert answer.body["error"] == "invalid_json"


def test_json_that_is_not_an_object_is_400() -> None:
    answer, store, queue = deliver(b'["permohonan.diajukan"]')
    assert refused(answer, store, queue) == 400
    assert answer.body["fields"][0]["field"] == ""


def test_each_bad_field_of_the_envelope_is_named() -> None:
    body = json.dumps({"event_id": "evt-0001", "type": "permohonan.diajukan", "data": []}).encode()
    answer, store, queue = deliver(body)
    assert refused(answer, store, queue) == 400
    assert {f["field"] for f in answer.body["fields"]} == {"occurred_at", "data"}


def test_an_event_id_other_than_the_header_is_400() -> None:
    body = body_of()
    answer, store, queue = deliver(body, headers_for(body, event_id="evt-0002"))
    assert refused(answer, store, queue) == 400
    assert answer.body["fields"] == [
        {"field": "event_id", "error": "must equal the X-Event-Id header"}
    ]


def test_each_bad_field_of_the_data_is_named() -> None:
    data = permohonan(nib="912030123456", kbli="1043")
    data["perusahaan"] = {**data["perusahaan"], "npwp": "00134567890120"}
    del data["perusahaan"]["email"]

    answer, store, queue = deliver(body_of(data=data))

    assert refused(answer, store, queue) == 400
    assert {f["field"] for f in answer.body["fields"]} == {
        "data.nib",
        "data.kbli",
        "data.perusahaan.npwp",
        "data.perusahaan.email",
    }
    assert all(f["error"] for f in answer.body["fields"])


@pytest.mark.parametrize("npwp", ["001345678901200", "0013456789012000"])
def test_an_npwp_of_15_or_16_digits_is_accepted(npwp: str) -> None:
    data = permohonan()
    data["perusahaan"]["npwp"] = npwp
    assert deliver(body_of(data=data))[0].status == 202


def test_an_unknown_type_is_422_and_lists_the_known_ones() -> None:
    answer, store, queue = deliver(body_of("permohonan.dibatalkan"))
    assert refused(answer, store, queue) == 422
    assert answer.body["known"] == ["izin.status", "permohonan.diajukan"]


def test_a_type_of_the_other_source_is_422() -> None:
    body = body_of("permohonan.diajukan")
    answer, store, queue = deliver(body, source="siinas")
    assert refused(answer, store, queue) == 422


def test_a_body_over_256_kib_is_413_before_anything_else() -> None:
    body = b"x" * (MAX_BODY + 1)
    answer, store, queue = deliver(body, {})  # unsigned too: the size is checked first
    assert refused(answer, store, queue) == 413


def test_a_body_of_exactly_256_kib_is_read() -> None:
    body = body_of()
    body = body[:-1] + b" " * (MAX_BODY - len(body)) + b"}"
    assert len(body) == MAX_BODY
    assert deliver(body)[0].status == 202


def test_an_unknown_source_is_404() -> None:
    answer = unknown_source("bkpm")
    assert answer.status == 404 and answer.refused
    assert answer.body["known"] == ["oss", "siinas"]


# --- issue #11: every value either refused at the door or carried to the end --------------


def _bad_field(data: dict[str, Any]) -> list[str]:
    answer, store, queue = deliver(body_of(data=data))
    assert refused(answer, store, queue) == 400
    return [f["field"] for f in answer.body["fields"]]


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"])
def test_a_line_break_in_the_company_name_is_refused(newline: str) -> None:
    data = permohonan()
    data["perusahaan"]["nama"] = f"PT Maju{newline}Bcc: korban@example.com"
    assert _bad_field(data) == ["data.perusahaan.nama"]


@pytest.mark.parametrize(
    "nama", ["PT Maju 😀", "PT 工业", "شركة", "PT \u202eayaJ", "PT\u200bMaju", "PT \x07"]
)
def test_a_name_the_documents_cannot_show_as_written_is_refused(nama: str) -> None:
    data = permohonan()
    data["perusahaan"]["nama"] = nama
    assert _bad_field(data) == ["data.perusahaan.nama"]


def test_text_is_queued_normalized() -> None:
    data = permohonan()
    data["perusahaan"]["nama"] = "PT Cafe\u0301 Sawit"
    answer, _, queue = deliver(body_of(data=data))
    assert answer.status == 202
    assert queue.sent[0]["data"]["perusahaan"]["nama"] == "PT Café Sawit"


@pytest.mark.parametrize("investasi", [10**40, 1e200, 1e-200, -1, 1.5, 10**18 + 1])
def test_an_investment_dynamodb_or_the_documents_cannot_hold_is_refused(investasi: Any) -> None:
    assert _bad_field(permohonan(jumlah_investasi=investasi)) == ["data.jumlah_investasi"]


@pytest.mark.parametrize("jumlah", [10**40, 1e200, 1e-200, 0.1234567, -0.5])
def test_a_capacity_out_of_bounds_is_refused(jumlah: Any) -> None:
    data = permohonan()
    data["kapasitas_perluasan"] = {"jumlah": jumlah, "satuan": "ton TBS/jam"}
    assert _bad_field(data) == ["data.kapasitas_perluasan.jumlah"]


@pytest.mark.parametrize("constant", [b"Infinity", b"-Infinity", b"NaN"])
def test_infinity_and_nan_are_not_json(constant: bytes) -> None:
    body = body_of().replace(b'"jumlah_investasi": 85000000000', b'"jumlah_investasi": ' + constant)
    assert constant in body
    answer, store, queue = deliver(body)
    assert refused(answer, store, queue) == 400
    assert answer.body["error"] == "invalid_json"


def test_a_number_of_thousands_of_digits_is_400_not_500() -> None:
    body = body_of().replace(b"85000000000", b"9" * 5000)
    answer, store, queue = deliver(body)
    assert refused(answer, store, queue) == 400


def test_json_nested_a_hundred_thousand_levels_is_400() -> None:
    body = b'{"event_id": "evt-0001", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    answer, store, queue = deliver(body)
    assert refused(answer, store, queue) == 400
    assert answer.body == {"error": "invalid_json", "detail": "nested too deeply"}


@pytest.mark.parametrize(
    "id_izin", ["COL/1", "IP-é", "IP-ü", "../IP", ".hidden", "IP 1", "", "I" * 65]
)
def test_an_id_izin_outside_its_charset_is_refused(id_izin: str) -> None:
    assert _bad_field(permohonan(id_izin)) == ["data.id_izin"]


def test_ids_that_replacement_would_merge_get_executions_of_their_own() -> None:
    from izin.models import execution_name

    names = {execution_name(i) for i in ("COL-1", "COL.1", "COL_1", "COL..1", "COL-.1")}
    assert len(names) == 5
    assert execution_name("COL-1") == "COL-1"  # kept whole where a name can hold it
    assert execution_name("COL.1").startswith("COL-1-")
    for id_izin in ("A" + "." * 63, "B" * 64):
        assert len(execution_name(id_izin)) <= 64  # "-lanjut-{n}" still fits in 80


def test_a_berkas_url_with_a_line_break_is_refused() -> None:
    data = samples.verifikasi("IP-0001")
    data["berkas"][0]["url"] = "https://siinas.example/a\r\nX-Injected: 1"
    answer, store, queue = deliver(body_of("verifikasi.diajukan", data), source="siinas")
    assert refused(answer, store, queue) == 400
    assert [f["field"] for f in answer.body["fields"]] == ["data.berkas.0.url"]


@pytest.mark.parametrize("tanggal", ["2026-W49-2", "kemarin", "2026-02-30"])
def test_a_berita_acara_date_must_be_a_calendar_date(tanggal: str) -> None:
    data = {**samples.komitmen("IP-0001"), "tanggal": tanggal}
    answer, store, queue = deliver(body_of("komitmen.terpenuhi", data), source="siinas")
    assert refused(answer, store, queue) == 400
    assert [f["field"] for f in answer.body["fields"]] == ["data.tanggal"]
