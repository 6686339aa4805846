"""The monthly report (izin.reports): from the audit trails, as CSV and XLSX with
Indonesian headers; the XLSX is read back with openpyxl and checked against figures
counted here, independently, from the trail."""

import argparse
import base64
import csv
import io
import re
import statistics
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import pytest
from izin import reports, sessions, wiring
from izin.calendar import WIB, HolidayCalendar
from izin.memory_store import MemoryStore
from izin.reports import (
    OFFICER_HEADERS,
    SUMMARY_HEADERS,
    as_csv,
    as_xlsx,
    gather,
    percentile,
    report,
)
from izin.roster import Officer, load_roster
from izin.sop import Role
from izin.store import Store
from izin_local import cli
from izin_local.testing import ROSTER as ROSTER_FILE
from izin_local.testing import local_auth, moto_table
from openpyxl import load_workbook

CAL = HolidayCalendar.load()


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WIB)


def application(store: MemoryStore, id_izin: str, received: datetime, outcome: str = "") -> None:
    fields = {"id_izin": id_izin, "status": "PROSES", "created_at": received.isoformat()}
    store.create_application(id_izin, fields | ({"outcome": outcome} if outcome else {}))
    store.append_audit(id_izin, {"action": "application.received", "step": 1}, now=received)


def task(
    store: MemoryStore, id_izin: str, step: int, issued: datetime, decided: datetime, decision: str
) -> None:
    store.append_audit(
        id_izin, {"action": "task.issued", "kind": "langkah", "step": step}, now=issued
    )
    entry = {"action": "task.decided", "kind": "langkah", "step": step, "decision": decision}
    store.append_audit(id_izin, entry, now=decided)


def seeded() -> MemoryStore:
    store = MemoryStore()
    application(store, "IP-A1", at(12, 1, 8), "BERLAKU_EFEKTIF")
    task(store, "IP-A1", 5, at(12, 1, 9), at(12, 2, 9), "done")  # 1 hari kerja
    task(store, "IP-A1", 9, at(12, 3, 9), at(12, 3, 13, 15), "no")  # half a day, sent back
    task(store, "IP-A1", 9, at(12, 4, 9), at(12, 7, 9), "yes")  # Fri 09.00 to Mon 09.00: 1
    store.append_audit("IP-A1", {"action": "step.recorded", "step": 20}, now=at(12, 10, 10))
    application(store, "IP-A2", at(11, 28, 8))  # received in November
    task(store, "IP-A2", 5, at(11, 30, 9), at(12, 1, 9), "done")  # decided in December: 1
    store.append_audit("IP-A2", {"action": "application.parked", "step": 6}, now=at(12, 2, 9))
    application(store, "IP-A3", at(12, 21, 8), "BELUM_EFEKTIF")
    task(store, "IP-A3", 5, at(12, 23, 9), at(12, 28, 9), "done")  # over Christmas: 1
    store.append_audit("IP-A3", {"action": "step.recorded", "step": 20}, now=at(12, 29, 10))
    application(store, "IP-A4", at(1, 4, 8, year=2027))  # January: not December's
    task(store, "IP-A4", 5, at(1, 4, 9, year=2027), at(1, 5, 9, year=2027), "done")
    return store


def test_the_xlsx_holds_the_month_s_numbers_counted_from_the_trail() -> None:
    store = seeded()
    december = [e for e in store.trail if e["at"].startswith("2026-12")]
    received = sum(e["action"] == "application.received" for e in december)
    parked = sum(e["action"] == "application.parked" for e in december)
    completed_ids = [
        e["id_izin"] for e in december if e["action"] == "step.recorded" and e["step"] == 20
    ]
    outcomes = [(store.application(i) or {})["outcome"] for i in completed_ids]
    sent_back_9 = sum(
        e["action"] == "task.decided" and e["step"] == 9 and e["decision"] == "no" for e in december
    )
    decided = {
        s: sum(e["action"] == "task.decided" and e["step"] == s for e in december) for s in (5, 9)
    }
    # The steps' times worked out by hand above (office 07.30-16.00, 8.5 hours a day).
    step9 = [0.5, 1.0]

    book = load_workbook(io.BytesIO(as_xlsx(report("2026-12", gather(store), calendar=CAL))))
    summary = [[c.value for c in row] for row in book["Ringkasan"].iter_rows()]
    assert summary[0] == list(SUMMARY_HEADERS)
    assert summary[0][1:3] == ["Diterima", "Selesai"] and summary[0][5] == "Terhenti"
    # End to end, by hand: A1 Tue 1 Dec 08.00 to Thu 10 Dec 10.00 is 8 + 6 x 8.5 + 2.5 hours;
    # A3 Mon 21 Dec 08.00 to Tue 29 Dec 10.00 is 8 + 3 x 8.5 + 2.5 (24 and 25 Dec are off).
    end_to_end = [61.5 / 8.5, 36 / 8.5]
    assert summary[1][6:] == [
        round(statistics.median(end_to_end), 2),
        round(max(end_to_end), 2),
    ]
    assert summary[1][:6] == [
        "2026-12",
        received,
        len(completed_ids),
        outcomes.count("BERLAKU_EFEKTIF"),
        outcomes.count("BELUM_EFEKTIF"),
        parked,
    ]
    assert (received, len(completed_ids), parked) == (2, 2, 1)
    steps = {row[1]: row for row in book["Per langkah"].iter_rows(min_row=2, values_only=True)}
    assert (
        book["Per langkah"]["A1"].value == "Bulan"
        and book["Per langkah"]["E1"].value == "Median hari kerja"
    )
    assert len(steps) == 20
    assert steps[5][3:7] == (decided[5], 1.0, 1.0, 0)
    assert steps[9][3:7] == (decided[9], statistics.median(step9), max(step9), sent_back_9)
    assert steps[14][3:7] == (0, None, None, 0)  # an empty cell, not a zero: nothing measured
    assert steps[9][7:] == (0, 0, None)  # no task here had a deadline: no compliance


def test_the_csv_has_the_same_figures_with_indonesian_headers() -> None:
    text = as_csv(report("2026-12", gather(seeded()), calendar=CAL))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["Bulan", "Diterima", "Selesai"] and rows[1][:6] == [
        "2026-12",
        "2",
        "2",
        "1",
        "1",
        "1",
    ]
    assert rows[3][:4] == ["Bulan", "Langkah", "Kegiatan", "Tugas diputuskan"]
    step9 = next(r for r in rows[4:] if r[1] == "9")
    assert step9[3:7] == ["2", "0.75", "1.0", "1"]


@pytest.mark.parametrize(("p", "expected"), [(50, 3), (90, 5), (100, 5), (10, 1)])
def test_percentiles_are_nearest_rank(p: float, expected: float) -> None:
    assert percentile([5, 1, 3, 2, 4], p) == expected


def test_the_console_serves_the_report_page_csv_and_xlsx(
    monkeypatch: pytest.MonkeyPatch, handler: Callable[[str], Callable[..., dict[str, Any]]]
) -> None:
    store = seeded()
    now = datetime(2027, 1, 4, 2, tzinfo=UTC)
    roster = load_roster(ROSTER_FILE)
    auth = local_auth(store, roster, now)
    monkeypatch.setattr(wiring, "store", lambda: store)
    monkeypatch.setattr(wiring, "auth", lambda now, table: auth)
    monkeypatch.setattr(wiring, "calendar", lambda: CAL)
    door = handler("workspace")

    def get(officer: Role, query: dict[str, str]) -> dict[str, Any]:
        _, cookie = sessions.start_session(auth, roster.first(officer))
        http = {"method": "GET", "path": "/konsol/laporan", "sourceIp": "127.0.0.1"}
        return door(
            {
                "routeKey": "GET /konsol/laporan",
                "requestContext": {"http": {**http, "userAgent": "pytest"}},
                "queryStringParameters": query,
                "headers": {},
                "cookies": [cookie.split(";", 1)[0]],
            }
        )

    assert get(Role.OPERATOR, {"bulan": "2026-12"})["statusCode"] == 403
    page = get(Role.KEPALA_DINAS, {"bulan": "2026-12"})
    assert page["statusCode"] == 200 and "<dt>Diterima</dt><dd>2</dd>" in page["body"]
    assert page["body"].count('<svg xmlns="http://www.w3.org/2000/svg"') == 2  # the charts
    bad = get(Role.KEPALA_DINAS, {"bulan": "Desember"})
    assert bad["statusCode"] == 400 and "Bulan harus berbentuk TTTT-BB" in bad["body"]
    xlsx = get(Role.KEPALA_BIDANG, {"bulan": "2026-12", "format": "xlsx"})
    assert (
        xlsx["isBase64Encoded"] and "laporan-2026-12.xlsx" in xlsx["headers"]["content-disposition"]
    )
    book = load_workbook(io.BytesIO(base64.b64decode(xlsx["body"])))
    assert [c.value for c in book["Ringkasan"][2]][:6] == ["2026-12", 2, 2, 1, 1, 1]
    csv_file = get(Role.KEPALA_BIDANG, {"bulan": "2026-12", "format": "csv"})
    text = base64.b64decode(csv_file["body"]).decode("utf-8-sig")
    assert text.startswith("Bulan,Diterima,Selesai") and "2026-12,2,2,1,1,1," in text


def timed(
    store: Store,
    id_izin: str,
    step: int,
    issued: datetime,
    deadline: datetime | None,
    decided: datetime,
    officer: Officer,
) -> None:
    store.append_audit(
        id_izin,
        {
            "action": "task.issued",
            "kind": "langkah",
            "step": step,
            "deadline": deadline.isoformat() if deadline else "",
        },
        now=issued,
    )
    store.append_audit(
        id_izin,
        {
            "action": "task.decided",
            "kind": "langkah",
            "step": step,
            "decision": "done",
            "actor": officer.nama,
            "nip": officer.nip,
        },
        now=decided,
    )


def test_sla_compliance_per_step_and_per_officer_holds_each_round_to_its_first_deadline() -> None:
    roster = load_roster(ROSTER_FILE)
    kasi, kabid = roster.first(Role.KASI), roster.first(Role.KEPALA_BIDANG)
    store = MemoryStore()
    application(store, "IP-S1", at(12, 1, 8))
    timed(store, "IP-S1", 5, at(12, 1, 9), at(12, 2, 16), at(12, 2, 9), kasi)  # on time
    timed(store, "IP-S1", 6, at(12, 3, 9), at(12, 3, 16), at(12, 4, 9), kabid)  # late
    # Step 7: a reminder re-issues the task with a later deadline; the first one still holds.
    store.append_audit(
        "IP-S1",
        {
            "action": "task.issued",
            "kind": "langkah",
            "step": 7,
            "deadline": at(12, 4, 16).isoformat(),
        },
        now=at(12, 4, 9),
    )
    timed(store, "IP-S1", 7, at(12, 7, 9), at(12, 9, 16), at(12, 8, 9), kasi)
    timed(store, "IP-S1", 8, at(12, 8, 10), None, at(12, 8, 11), kasi)  # no deadline: not counted

    figures = report("2026-12", gather(store), calendar=CAL)
    steps = {row[1]: row[7:] for row in figures.step_rows()}
    assert (steps[5], steps[6], steps[7], steps[8]) == (
        [1, 1, 100.0],
        [1, 0, 0.0],
        [1, 0, 0.0],
        [0, 0, ""],
    )
    assert sorted(figures.officer_rows()) == sorted(
        [
            ["2026-12", kasi.nip, kasi.nama, 2, 1, 50.0],
            ["2026-12", kabid.nip, kabid.nama, 1, 0, 0.0],
        ]
    )
    book = load_workbook(io.BytesIO(as_xlsx(figures)))
    sheet = [list(r) for r in book["Per petugas"].iter_rows(values_only=True)]
    assert sheet[0] == list(OFFICER_HEADERS) and sorted(sheet[1:]) == sorted(figures.officer_rows())
    rows = list(csv.reader(io.StringIO(as_csv(figures))))
    assert list(OFFICER_HEADERS) in rows


def test_the_report_page_draws_its_figures_as_inline_svg_bars() -> None:
    figures = report("2026-12", gather(seeded()), calendar=CAL)
    charts = dict(reports.charts(figures))
    assert set(charts) == {
        "Hari kerja per langkah (median, p90)",
        "Hari kerja ujung ke ujung (median, p90)",
    }
    svg = charts["Hari kerja per langkah (median, p90)"]
    root = ElementTree.fromstring(svg)  # well-formed
    spaced = "{http://www.w3.org/2000/svg}"
    widths = {
        r.find(f"{spaced}title").text: float(r.get("width"))  # type: ignore[union-attr,arg-type]
        for r in root.iter(f"{spaced}rect")
    }
    # Step 9: median 0.75, p90 1.0 (the longest bar); step 5: 1.0 and 1.0.
    assert widths["9. median: 0.75"] == pytest.approx(widths["9. p90: 1"] * 0.75, abs=0.1)
    assert widths["5. p90: 1"] == widths["9. p90: 1"]
    assert "<script" not in svg


def test_izin_laporan_prints_the_same_figures_with_the_officers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    kasi = load_roster(ROSTER_FILE).first(Role.KASI)
    with moto_table("izin-laporan-test") as store:
        fields = {"id_izin": "IP-L1", "status": "PROSES", "created_at": at(12, 1, 8).isoformat()}
        store.create_application("IP-L1", fields)
        timed(store, "IP-L1", 5, at(12, 1, 9), at(12, 2, 16), at(12, 2, 9), kasi)
        args = argparse.Namespace(
            bulan="2026-12", csv=False, endpoint_url="", table="izin-laporan-test"
        )
        assert cli.cmd_laporan(args) == 0
    out = capsys.readouterr().out
    assert "Median hari kerja ujung ke ujung" in out
    assert re.search(rf"{re.escape(kasi.nama[:36])}\s+1\s+1\s+100.0", out), out


def test_a_month_s_report_reads_only_the_trails_that_may_count_in_it() -> None:
    store = seeded()
    application(store, "IP-N1", at(11, 2, 8), "BERLAKU_EFEKTIF")  # finished in November
    task(store, "IP-N1", 5, at(11, 3, 9), at(11, 4, 9), "done")
    store.update_application("IP-N1", {"finished_at": at(11, 20, 10).isoformat()})
    store.update_application("IP-A1", {"finished_at": at(12, 10, 10).isoformat()})

    store.calls.clear()
    read = [str(a["id_izin"]) for a, _ in gather(store, bulan="2026-12")]
    assert sorted(read) == ["IP-A1", "IP-A2", "IP-A3"]  # not November's finished, nor January's
    assert store.calls["query"] == 3  # one trail each
    everything = gather(store)
    assert report("2026-12", gather(store, bulan="2026-12"), calendar=CAL) == report(
        "2026-12", everything, calendar=CAL
    )
    assert [a["id_izin"] for a, _ in gather(store, bulan="2026-11")] == ["IP-A2", "IP-N1"]
