"""OSS PIA's receiveNIB (CONTRACT §5): the token as PIA defines it, one application per
checklist item of this Dinas's permit on an expansion project, repeats creating nothing."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from izin.memory_store import MemoryStore
from izin.pia import WIB, Credentials, Permit, PiaAnswer, receive_nib, token
from izin.settings import SettingsError, pia_settings
from izin_local import samples

CREDENTIALS = Credentials("dinas", "rahasia")
PERMIT = Permit(frozenset({"061000000000001"}))
NOON_WIB = datetime(2026, 12, 1, 12, 0, tzinfo=WIB)


class Queue:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


def push(
    data: dict[str, Any],
    *,
    store: MemoryStore | None = None,
    queue: Queue | None = None,
    now: datetime = NOON_WIB,
    token_day: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[PiaAnswer, Queue]:
    queue = queue if queue is not None else Queue()
    day = (token_day or now).astimezone(WIB).date()
    sent = {"token": token(CREDENTIALS, data["nib"], day)} if headers is None else headers
    answer = receive_nib(
        sent,
        json.dumps({"dataNIB": data}).encode(),
        credentials=CREDENTIALS,
        permit=PERMIT,
        now=now,
        store=store if store is not None else MemoryStore(),
        queue=queue,
    )
    return answer, queue


def test_the_token_is_sha1_of_username_password_nib_and_the_date() -> None:
    expected = hashlib.sha1(b"dinasrahasia912030123456720261201").hexdigest()
    assert token(CREDENTIALS, "9120301234567", NOON_WIB.date()) == expected


def test_a_right_token_queues_the_application_that_the_checklist_item_stands_for() -> None:
    answer, queue = push(samples.data_nib("PIA-1"))
    assert (answer.status, answer.body["responreceiveNIB"]["status"]) == (200, "1")
    (message,) = queue.sent
    assert message["source"] == "oss"
    assert message["type"] == "permohonan.diajukan"
    assert message["data"] == samples.permohonan("PIA-1")
    assert "Diterima sebagai permohonan izin perluasan: PIA-1." in answer.keterangan


def test_a_checklist_item_of_another_permit_is_ignored_and_the_answer_says_why() -> None:
    answer, queue = push(samples.data_nib("PIA-2"))
    assert [m["data"]["id_izin"] for m in queue.sent] == ["PIA-2"]
    assert "PIA-2-LH (kd_izin 032000000000001 bukan izin Dinas ini)" in answer.keterangan


def test_a_wrong_token_is_401_in_pias_shape_and_queues_nothing() -> None:
    answer, queue = push(samples.data_nib("PIA-3"), headers={"token": "0" * 40})
    assert answer.status == 401
    assert answer.body == {
        "responreceiveNIB": {"status": "2", "keterangan": "User Akses Tidak Valid"}
    }
    assert queue.sent == []


def test_no_token_is_401_even_for_a_body_that_is_not_json() -> None:
    answer = receive_nib(
        {},
        b"{not json",
        credentials=CREDENTIALS,
        permit=PERMIT,
        now=NOON_WIB,
        store=MemoryStore(),
        queue=Queue(),
    )
    assert answer.status == 401


@pytest.mark.parametrize(
    ("now", "token_day", "accepted"),
    [
        # 00:01 WIB: the sender's clock may still say yesterday.
        (datetime(2026, 12, 2, 0, 1, tzinfo=WIB), datetime(2026, 12, 1, 23, 59, tzinfo=WIB), True),
        # 23:55 WIB: the sender's clock may already say tomorrow.
        (datetime(2026, 12, 1, 23, 55, tzinfo=WIB), datetime(2026, 12, 2, 0, 1, tzinfo=WIB), True),
        # Far from midnight, yesterday's token is refused.
        (datetime(2026, 12, 2, 0, 30, tzinfo=WIB), datetime(2026, 12, 1, 12, 0, tzinfo=WIB), False),
        (NOON_WIB, NOON_WIB - timedelta(days=1), False),
        # The date is WIB's: 18:00 UTC is 01:00 the next day in Pontianak.
        (datetime(2026, 12, 1, 18, 0, tzinfo=UTC), datetime(2026, 12, 2, 9, 0, tzinfo=WIB), True),
        (datetime(2026, 12, 1, 18, 0, tzinfo=UTC), datetime(2026, 12, 1, 9, 0, tzinfo=WIB), False),
    ],
)
def test_the_tokens_date_is_todays_in_wib_and_its_neighbour_only_around_midnight(
    now: datetime, token_day: datetime, accepted: bool
) -> None:
    answer, queue = push(samples.data_nib("PIA-4"), now=now, token_day=token_day)
    assert answer.status == (200 if accepted else 401)
    assert len(queue.sent) == (1 if accepted else 0)


def test_a_repeated_push_creates_nothing_new_and_says_so() -> None:
    store, queue = MemoryStore(), Queue()
    push(samples.data_nib("PIA-5"), store=store, queue=queue)
    again, _ = push(samples.data_nib("PIA-5"), store=store, queue=queue)
    # Queued again under the same event id: the inbound function applies it once.
    assert [m["event_id"] for m in queue.sent] == ["pia-receiveNIB-PIA-5"] * 2
    assert again.ok and "Sudah diterima sebelumnya: PIA-5." in again.keterangan


def test_a_checklist_on_a_project_without_flag_perluasan_y_is_ignored() -> None:
    data = samples.data_nib("PIA-6")
    for proyek in data["data_proyek"]:
        proyek["flag_perluasan"] = "N"
    answer, queue = push(data)
    assert answer.ok and queue.sent == []
    assert "PIA-6 (proyek tanpa flag_perluasan Y)" in answer.keterangan


def test_another_kewenangan_is_not_this_dinas() -> None:
    data = samples.data_nib("PIA-7")
    data["data_checklist"][0]["kewenangan"] = "02"
    answer, queue = push(data)
    assert answer.ok and queue.sent == []
    assert "PIA-7 (kewenangan 02 bukan 01)" in answer.keterangan


def test_an_item_of_ours_that_cannot_become_an_application_is_status_2_with_the_reason() -> None:
    data = samples.data_nib("PIA-8")
    data["data_proyek"][1]["data_proyek_produk"] = []
    answer, queue = push(data)
    assert (answer.status, answer.body["responreceiveNIB"]["status"]) == (400, "2")
    assert "kapasitas produk perluasan tidak dikirim" in answer.keterangan
    assert queue.sent == []


def test_a_field_the_application_refuses_is_named() -> None:
    data = samples.data_nib("PIA-9")
    data["npwp_perseroan"] = "bukan-npwp"
    answer, queue = push(data)
    assert answer.status == 400 and queue.sent == []
    assert "perusahaan.npwp" in answer.keterangan


def test_the_item_and_its_project_are_kept_with_the_delivery_for_the_record() -> None:
    store = MemoryStore()
    push(samples.data_nib("PIA-10"), store=store)
    record = store.delivery("oss", "pia-receiveNIB-PIA-10")
    assert record is not None and record["received_at"]
    kept = json.loads(record["pia"])
    assert kept["oss_id"] == "P-202611010001"
    assert kept["checklist"]["data_persyaratan"][0]["no_dokumen"] == "AMDAL-2026-17"


def test_numbers_sent_as_json_numbers_are_read_as_pia_strings() -> None:
    data = samples.data_nib("PIA-11")
    data["data_proyek"][1]["jumlah_investasi"] = 85_000_000_000
    data["data_proyek"][1]["data_proyek_produk"][0]["kapasitas"] = 30
    answer, queue = push(data)
    assert answer.ok
    assert queue.sent[0]["data"]["jumlah_investasi"] == 85_000_000_000


def test_the_pia_function_needs_each_of_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIA_CREDENTIALS_SECRET_ARN", "arn:secret")
    monkeypatch.setenv("INBOUND_QUEUE_URL", "https://sqs/q")
    monkeypatch.setenv("PIA_KEWENANGAN", "01")
    monkeypatch.setenv("PIA_KD_IZIN", " ")
    pia_settings.cache_clear()
    with pytest.raises(SettingsError, match="PIA_KD_IZIN"):
        pia_settings()
    monkeypatch.setenv("PIA_KD_IZIN", "061000000000001, 061000000000002")
    pia_settings.cache_clear()
    try:
        assert pia_settings().kd_izin == {"061000000000001", "061000000000002"}
    finally:
        pia_settings.cache_clear()
