"""Property: every webhook body answers 2xx or 4xx, and every body accepted is applied.

Bodies are drawn from the models' own bounds and just outside them (text of every
character, numbers of every size, ids of every shape). Whatever the webhook accepts is
then applied by the inbound function's own code to the DynamoDB store (moto, through
boto3's serializer, which refuses what DynamoDB refuses): "nothing lost after a 202".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from izin.event_types import EVENTS
from izin.events import InboundEvent, apply_event
from izin.memory_store import MemoryStore
from izin.store import DynamoStore
from izin.values import drawable_characters
from izin.webhooks import Answer, receive, signature
from izin_local.testing import moto_table

pytestmark = pytest.mark.property

ROOT = Path(__file__).resolve().parents[2]
SECRET = "property-secret"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
ANSWERS = {200, 202, 400, 401, 413, 422}
EVENT_IDS = count()


class Queue:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


class Executions:
    def __init__(self) -> None:
        self.started: set[str] = set()

    def start(self, name: str, state: dict[str, Any]) -> bool:
        fresh = name not in self.started
        self.started.add(name)
        return fresh


class Callbacks:
    def succeed(self, token: str, output: dict[str, Any]) -> None:
        raise AssertionError("no state waits in these tests")

    def received(self, execution: str, event_id: str) -> bool:
        raise AssertionError("no state waits in these tests")


@pytest.fixture(scope="module")
def dynamo() -> Iterator[DynamoStore]:
    with moto_table("izin-property") as store:
        yield store


# -- the drawing: inside the bounds and just outside them ---------------------------------

_DRAWN = drawable_characters()
allowed_text = st.text(st.sampled_from(_DRAWN), min_size=1, max_size=500).filter(str.strip)
any_text = st.one_of(allowed_text, st.text(max_size=520), st.sampled_from(["", " ", "a\nb"]))
ids_ok = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}\Z")
ids = st.one_of(ids_ok, st.from_regex(r"\A[A-Za-z0-9./é\- ]{0,66}\Z"))
numbers_ok = st.one_of(
    st.integers(min_value=0, max_value=10**12),
    st.decimals(min_value=0, max_value=10**12, places=6).map(float),
)
numbers = st.one_of(
    numbers_ok,
    st.integers(min_value=-5, max_value=10**13),
    st.integers(min_value=10**17, max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e-200, 1e200, 0.1234567, 10**18, 10**18 + 1]),
)


def _permohonan(
    text: st.SearchStrategy[str],
    ident: st.SearchStrategy[str],
    number: st.SearchStrategy[Any],
    money: st.SearchStrategy[Any],
) -> st.SearchStrategy[dict[str, Any]]:
    def capacity() -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries({"jumlah": number, "satuan": text})

    return st.fixed_dictionaries(
        {
            "id_izin": ident,
            "kd_izin": text,
            "nib": st.from_regex(r"\A\d{13}\Z"),
            "id_proyek": text,
            "perusahaan": st.fixed_dictionaries(
                {
                    "nama": text,
                    "npwp": st.from_regex(r"\A\d{15,16}\Z"),
                    "alamat": text,
                    "email": st.sampled_from(["a@b.co.id", "x@sawit.example"]),
                }
            ),
            "kbli": st.from_regex(r"\A\d{5}\Z"),
            "lokasi": st.fixed_dictionaries(
                {"alamat": text, "kabupaten_kota": text, "provinsi": text}
            ),
            "kapasitas_terpasang": capacity(),
            "kapasitas_perluasan": capacity(),
            "jumlah_investasi": money,
        }
    )


permohonan_ok = _permohonan(
    allowed_text, ids_ok, numbers_ok, st.integers(min_value=0, max_value=10**18)
)
permohonan_any = _permohonan(any_text, ids, numbers, numbers)
siinas = st.one_of(
    st.tuples(
        st.just("verifikasi.diajukan"),
        st.fixed_dictionaries(
            {
                "id_izin": ids,
                "nib": st.from_regex(r"\A\d{13}\Z"),
                "komitmen_data_industri": st.booleans(),
                "berkas": st.lists(
                    st.fixed_dictionaries(
                        {
                            "nama": any_text,
                            "url": st.one_of(
                                st.from_regex(r"\Ahttps://siinas\.example/[!-~]{1,60}\Z"),
                                st.text(max_size=40).map(lambda t: "https://x/" + t),
                            ),
                        }
                    ),
                    max_size=3,
                ),
            }
        ),
    ),
    st.tuples(
        st.just("komitmen.terpenuhi"),
        st.fixed_dictionaries(
            {
                "id_izin": ids,
                "nomor_berita_acara": any_text,
                "tanggal": st.one_of(
                    st.dates().map(lambda d: d.isoformat()), st.sampled_from(["2026-W49-2"])
                ),
            }
        ),
    ),
)
oss_status = st.fixed_dictionaries(
    {
        "id_izin": ids,
        "kd_status": st.sampled_from(["50", "90", "5"]),
        "status": st.sampled_from(["efektif", "belum_efektif", "efektip"]),
        "keterangan": st.one_of(st.text(max_size=2010), allowed_text),
    }
)


def _deliver(source: str, type_: str, data: dict[str, Any]) -> tuple[Answer, Queue]:
    event_id = f"evt-{next(EVENT_IDS)}"
    body = json.dumps(
        {"event_id": event_id, "type": type_, "occurred_at": NOW.isoformat(), "data": data}
    ).encode()
    timestamp = str(int(NOW.timestamp()))
    headers = {
        "X-Event-Id": event_id,
        "X-Timestamp": timestamp,
        "X-Signature": signature(SECRET, timestamp, body),
    }
    queue = Queue()
    answer = receive(
        source, headers, body, secret=SECRET, now=NOW, store=MemoryStore(), queue=queue
    )
    assert answer.status in ANSWERS, answer
    assert bool(queue.sent) == (answer.status == 202)
    return answer, queue


def _applied(queue: Queue, store: DynamoStore) -> tuple[InboundEvent, str]:
    # The message as the inbound function reads it off the queue: JSON text.
    event = InboundEvent.model_validate_json(json.dumps(queue.sent[0]))
    outcome = apply_event(
        event, store=store, executions=Executions(), callbacks=Callbacks(), now=NOW
    )
    return event, outcome


@given(permohonan_ok)
def test_every_permohonan_within_the_bounds_is_accepted_and_applied(
    dynamo: DynamoStore, data: dict[str, Any]
) -> None:
    answer, queue = _deliver("oss", "permohonan.diajukan", data)
    assert answer.status == 202, answer.body
    _becomes_its_application(queue, dynamo)


@given(permohonan_any)
def test_every_permohonan_accepted_becomes_its_application(
    dynamo: DynamoStore, data: dict[str, Any]
) -> None:
    answer, queue = _deliver("oss", "permohonan.diajukan", data)
    if answer.status == 202:
        _becomes_its_application(queue, dynamo)


def _becomes_its_application(queue: Queue, dynamo: DynamoStore) -> None:
    event, outcome = _applied(queue, dynamo)
    assert outcome in {"started", "duplicate"}
    stored = dynamo.application(event.data["id_izin"])
    assert stored is not None
    if outcome == "started":
        assert stored["data"] == EVENTS[event.key].model.model_validate(event.data).model_dump(
            mode="json"
        )


@given(siinas)
def test_every_siinas_event_accepted_is_kept_for_its_application(
    dynamo: DynamoStore, drawn: tuple[str, dict[str, Any]]
) -> None:
    type_, data = drawn
    answer, queue = _deliver("siinas", type_, data)
    if answer.status != 202:
        return
    event, outcome = _applied(queue, dynamo)
    assert outcome in {"kept", "duplicate"}
    kept = [e for e in dynamo.events(event.data["id_izin"]) if e["event_id"] == event.event_id]
    assert [e["data"] for e in kept] == [event.data]


@given(oss_status)
def test_every_oss_status_accepted_is_kept_for_its_application(
    dynamo: DynamoStore, data: dict[str, Any]
) -> None:
    answer, queue = _deliver("oss", "izin.status", data)
    if answer.status != 202:
        return
    event, outcome = _applied(queue, dynamo)
    assert outcome in {"kept", "duplicate"}
    assert any(e["event_id"] == event.event_id for e in dynamo.events(event.data["id_izin"]))


@given(st.recursive(st.none() | st.integers() | st.text(max_size=5), st.lists, max_leaves=50))
def test_any_json_in_data_answers_4xx(data: Any) -> None:
    answer, _ = _deliver("oss", "permohonan.diajukan", data)
    assert answer.status == 400
