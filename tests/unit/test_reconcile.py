"""OSS's checkLicenseStatus reconciliation: PIA's answer read however the guide spells it,
final statuses queued as `izin.status` under one event id, everything else left to wait."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from izin.calendar import HolidayCalendar
from izin.integrations import CallFailed, Response
from izin.memory_store import MemoryStore
from izin.reconcile import (
    ANSWER_KEYS,
    RECORDED_BY,
    LicenseStatus,
    check_license_status,
    reconcile,
    waited_long_enough,
    waiting,
)

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # Tuesday 10:00 WIB


class Http:
    def __init__(self, status: int, body: Any) -> None:
        self.answer = Response(status, json.dumps(body).encode())
        self.calls: list[tuple[str, Mapping[str, Any], Mapping[str, str]]] = []

    def post(self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> Response:
        self.calls.append((url, body, headers))
        return self.answer


class Queue:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


def reply(key: str, kd_status: str = "50", id_izin: str = "IP-1") -> dict[str, Any]:
    data = {"id_izin": id_izin, "kd_status": kd_status, "uraian_status": "Izin berlaku efektif"}
    return {key: {"kode": 200, "keterangan": "Sukses", "dataIZIN": data}}


@pytest.mark.parametrize("key", ANSWER_KEYS)
def test_each_of_the_guides_three_spellings_is_read(key: str) -> None:
    http = Http(200, reply(key))
    assert check_license_status(http, "https://oss/", "kunci", "IP-1") == LicenseStatus(
        "50", "Izin berlaku efektif"
    )
    ((url, body, headers),) = http.calls
    assert url == "https://oss/checkLicenseStatus"
    assert body == {"CHECKLICENSESTATUS": {"id_izin": "IP-1"}}
    assert headers == {"user_key": "kunci"}


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (500, reply("responcheckLicenseStatus"), "OSS answered 500"),
        (200, {"responsecheckLicenseStatus": {}}, "has none of"),
        (200, {"responcheckLicenseStatus": {"kode": 404}}, "no dataIZIN"),
        (200, reply("responcheckLicenseStatus", id_izin="IP-2"), "answered for id_izin 'IP-2'"),
    ],
)
def test_an_answer_that_does_not_say_this_permits_status_is_a_failed_call(
    status: int, body: Any, says: str
) -> None:
    with pytest.raises(CallFailed, match=says):
        check_license_status(Http(status, body), "https://oss", "kunci", "IP-1")


def run(statuses: dict[str, str], store: MemoryStore, queue: Queue, **kw: Any) -> list[Any]:
    return reconcile(
        list(statuses),
        waited_enough=kw.get("waited_enough", lambda _id: True),
        ask=lambda id_izin: LicenseStatus(statuses[id_izin], "uraian OSS"),
        store=store,
        queue=queue,
        now=NOW,
    )


def test_a_final_status_is_queued_as_izin_status_under_one_event_id() -> None:
    store, queue = MemoryStore(), Queue()
    checked = run({"IP-1": "50", "IP-2": "90", "IP-3": "45"}, store, queue)
    assert [(c.id_izin, c.kd_status, c.applied) for c in checked] == [
        ("IP-1", "50", True),
        ("IP-2", "90", True),
        ("IP-3", "45", False),
    ]
    assert [(m["data"]["id_izin"], m["data"]["status"]) for m in queue.sent] == [
        ("IP-1", "efektif"),
        ("IP-2", "belum_efektif"),
    ]
    assert {m["type"] for m in queue.sent} == {"izin.status"}
    assert {m["recorded_by"] for m in queue.sent} == {RECORDED_BY}
    assert queue.sent[0]["data"]["keterangan"].startswith("Dari rekonsiliasi OSS")
    # The next day's run (the event not applied yet): the same event again, which the
    # inbound function applies once.
    run({"IP-1": "50"}, store, queue)
    assert [m["event_id"] for m in queue.sent] == [
        "oss-reconcile-IP-1-50",
        "oss-reconcile-IP-2-90",
        "oss-reconcile-IP-1-50",
    ]


def test_an_application_that_has_not_waited_long_enough_is_not_asked() -> None:
    queue = Queue()
    assert run({"IP-1": "50"}, MemoryStore(), queue, waited_enough=lambda _id: False) == []
    assert queue.sent == []


def test_only_applications_waiting_for_oss_at_step_19_are_candidates() -> None:
    applications = [
        {"id_izin": "A", "current_step": 19, "status": "MENUNGGU_OSS"},
        {"id_izin": "B", "current_step": 18, "status": "MENUNGGU_SIINAS"},
        {"id_izin": "C", "current_step": 19, "status": "BERLAKU_EFEKTIF"},
    ]
    assert waiting(applications) == ["A"]


def test_a_wait_is_long_enough_after_its_hari_kerja_of_the_tests_clock() -> None:
    wait = {"since": (NOW - timedelta(seconds=599)).isoformat()}
    options: dict[str, Any] = {"days": 5, "workday_seconds": 120.0, "calendar": HolidayCalendar}
    assert not waited_long_enough(wait, now=NOW, **options)
    assert waited_long_enough(wait, now=NOW + timedelta(seconds=1), **options)
    assert not waited_long_enough(None, now=NOW, **options)


def test_a_wait_is_long_enough_after_its_hari_kerja_of_the_calendar() -> None:
    calendar = HolidayCalendar.load()  # 1-2 December 2026 are working days
    since = {"since": NOW.isoformat()}  # Tuesday: 1 hari kerja ends Wednesday 16:00 WIB
    options: dict[str, Any] = {"days": 1, "workday_seconds": None, "calendar": lambda: calendar}
    wednesday_close = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert not waited_long_enough(since, now=wednesday_close - timedelta(minutes=1), **options)
    assert waited_long_enough(since, now=wednesday_close, **options)
