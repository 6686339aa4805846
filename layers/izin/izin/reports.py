"""The console's monthly report (issue #15): per month, applications received, completed,
effective, not effective and parked; per step, the tasks decided, the median and p90
working days they took, and the send-backs. Computed from the audit trails.

What counts where (a decision; README "Laporan"): a month is a calendar month in WIB.
- received: `application.received` in the month;
- completed: `step.recorded` of the SOP's last step in the month; effective or not by the
  application's `outcome` (the trail words it, the record names it);
- parked: `application.parked` in the month (an application parked twice counts twice);
- a step's time: from its `task.issued` (the first of a round; reminders re-issue) to the
  `task.decided` that ends it, in hari kerja over the calendar, counted in the month decided;
- a send-back: `task.decided` with decision "no" (the SOP's decisions 3, 9, 13, 14).
- SLA compliance: of the tasks decided in the month whose round was issued with a deadline
  (the first `task.issued` of the round: a reminder's moved deadline does not excuse it),
  the share decided by that deadline; per step, and per officer who decided;
- end to end: from `application.received` to the last step's `step.recorded`, in hari
  kerja, for the applications completed in the month.
Percentiles are nearest-rank.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from izin import sop
from izin.calendar import HolidayCalendar, to_wib, working_seconds_between
from izin.risk import day_seconds
from izin.store import Item, Store
from izin.tickets import Kind

SUMMARY_HEADERS = (
    "Bulan",
    "Diterima",
    "Selesai",
    "Berlaku efektif",
    "Belum berlaku efektif",
    "Terhenti",
    "Median hari kerja ujung ke ujung",
    "P90 hari kerja ujung ke ujung",
)
STEP_HEADERS = (
    "Bulan",
    "Langkah",
    "Kegiatan",
    "Tugas diputuskan",
    "Median hari kerja",
    "P90 hari kerja",
    "Dikembalikan",
    "Tugas bertenggat",
    "Tepat waktu",
    "Kepatuhan SLA (%)",
)
OFFICER_HEADERS = (
    "Bulan",
    "NIP",
    "Nama",
    "Tugas bertenggat",
    "Tepat waktu",
    "Kepatuhan SLA (%)",
)


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _p90(values: Sequence[float]) -> float | None:
    return round(percentile(values, 90), 2) if values else None


@dataclass
class Compliance:
    """Tasks with a deadline, and how many were decided by it."""

    timed: int = 0
    on_time: int = 0

    def count(self, on_time: bool) -> None:
        self.timed += 1
        self.on_time += on_time

    @property
    def percent(self) -> float | None:
        return round(100 * self.on_time / self.timed, 1) if self.timed else None

    def cells(self) -> list[Any]:
        return [self.timed, self.on_time, _blank(self.percent)]


def _blank(value: float | None) -> Any:
    return value if value is not None else ""


@dataclass
class StepFigures:
    """One step's figures in the month."""

    durations: list[float] = field(default_factory=list)
    send_backs: int = 0
    sla: Compliance = field(default_factory=Compliance)

    @property
    def median(self) -> float | None:
        return _median(self.durations)

    @property
    def p90(self) -> float | None:
        return _p90(self.durations)


@dataclass
class Report:
    """One month's figures."""

    bulan: str  # "2026-12"
    received: int = 0
    completed: int = 0
    effective: int = 0
    not_effective: int = 0
    parked: int = 0
    steps: dict[int, StepFigures] = field(default_factory=dict)
    end_to_end: list[float] = field(default_factory=list)  # hari kerja, completed in month
    officers: dict[str, tuple[str, Compliance]] = field(default_factory=dict)  # nip -> nama, …

    def summary_row(self) -> list[Any]:
        return [
            self.bulan,
            self.received,
            self.completed,
            self.effective,
            self.not_effective,
            self.parked,
            _blank(_median(self.end_to_end)),
            _blank(_p90(self.end_to_end)),
        ]

    def officer_rows(self) -> list[list[Any]]:
        """Per officer who decided a timed task in the month, by name."""
        ordered = sorted(self.officers.items(), key=lambda item: item[1][0])
        return [[self.bulan, nip, nama, *sla.cells()] for nip, (nama, sla) in ordered]

    def step_rows(self) -> list[list[Any]]:
        rows = []
        for s in sop.STEPS:
            figures = self.steps.get(s.number, StepFigures())
            decided = len(figures.durations)
            rows.append(
                [
                    self.bulan,
                    s.number,
                    s.activity,
                    decided,
                    _blank(figures.median),
                    _blank(figures.p90),
                    figures.send_backs,
                    *figures.sla.cells(),
                ]
            )
        return rows


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def month_of(at: str) -> str:
    """The WIB calendar month of an ISO moment, "2026-12"."""
    return to_wib(datetime.fromisoformat(at)).strftime("%Y-%m")


def report(
    bulan: str,
    applications: Iterable[tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]],
    *,
    calendar: HolidayCalendar,
) -> Report:
    """The month's figures from each application's record and audit trail."""
    result = Report(bulan)
    last = sop.STEPS[-1].number
    for application, trail in applications:
        issued: dict[int, tuple[datetime, str]] = {}  # step -> the round's start, deadline
        received: datetime | None = None
        for entry in trail:
            action, at = entry.get("action"), str(entry.get("at", ""))
            step = int(entry.get("step") or 0)
            if action == "task.issued" and entry.get("kind", Kind.STEP) == Kind.STEP:
                deadline = str(entry.get("deadline") or "")
                issued.setdefault(step, (datetime.fromisoformat(at), deadline))
                continue
            if action == "task.decided" and entry.get("kind", Kind.STEP) == Kind.STEP:
                start, deadline = issued.pop(step, (None, ""))
                if month_of(at) != bulan:
                    continue
                decided = datetime.fromisoformat(at)
                figures = result.steps.setdefault(step, StepFigures())
                if start is not None:
                    figures.durations.append(_days(start, decided, calendar))
                if entry.get("decision") == sop.Decision.NO.value:
                    figures.send_backs += 1
                if deadline:
                    on_time = decided <= datetime.fromisoformat(deadline)
                    figures.sla.count(on_time)
                    nip = str(entry.get("nip", ""))
                    nama = str(entry.get("actor", ""))
                    result.officers.setdefault(nip, (nama, Compliance()))[1].count(on_time)
                continue
            if action == "application.received" and at:
                received = received or datetime.fromisoformat(at)
            if not at or month_of(at) != bulan:
                continue
            if action == "application.received":
                result.received += 1
            elif action == "application.parked":
                result.parked += 1
            elif action == "step.recorded" and step == last:
                result.completed += 1
                if received is not None:
                    result.end_to_end.append(_days(received, datetime.fromisoformat(at), calendar))
                if application.get("outcome") == "BERLAKU_EFEKTIF":
                    result.effective += 1
                else:
                    result.not_effective += 1
    return result


def _days(start: datetime, end: datetime, calendar: HolidayCalendar) -> float:
    return working_seconds_between(start, end, calendar) / day_seconds()


def gather(store: Store, *, bulan: str = "", page: int = 100) -> list[tuple[Item, list[Item]]]:
    """Every application (the GSI1 index, Query pages) with its audit trail; given `bulan`,
    only those whose trail may count in that month (`may_count_in`): a month's report reads
    the trails of the applications alive in it and since, not of every one ever received."""
    found: list[tuple[Item, list[Item]]] = []
    after: Item | None = None
    while True:
        items, after = store.applications_page(page, after=after)
        found += [
            (i, store.audit(str(i["id_izin"])))
            for i in items
            if not bulan or may_count_in(i, bulan)
        ]
        if after is None:
            return found


def may_count_in(application: Mapping[str, Any], bulan: str) -> bool:
    """Whether the application's trail may hold an entry `report` counts in `bulan`: it was
    received by the month's end and not finished before the month began (every entry the
    report counts lies between its receipt and its outcome)."""
    received, finished = application.get("created_at"), application.get("finished_at")
    if received and month_of(str(received)) > bulan:
        return False
    return not (finished and month_of(str(finished)) < bulan)


def as_csv(figures: Report) -> str:
    """The report as CSV: the summary, the steps, the officers (blank lines between)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SUMMARY_HEADERS)
    writer.writerow(figures.summary_row())
    writer.writerow([])
    writer.writerow(STEP_HEADERS)
    writer.writerows(figures.step_rows())
    writer.writerow([])
    writer.writerow(OFFICER_HEADERS)
    writer.writerows(figures.officer_rows())
    return out.getvalue()


def as_xlsx(figures: Report) -> bytes:
    """The report as an XLSX workbook: sheets "Ringkasan", "Per langkah", "Per petugas"."""
    from openpyxl import Workbook

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Ringkasan"
    summary.append(list(SUMMARY_HEADERS))
    summary.append(figures.summary_row())
    steps = book.create_sheet("Per langkah")
    steps.append(list(STEP_HEADERS))
    for row in figures.step_rows():
        steps.append(row)
    officers = book.create_sheet("Per petugas")
    officers.append(list(OFFICER_HEADERS))
    for row in figures.officer_rows():
        officers.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def charts(figures: Report) -> list[tuple[str, str]]:
    """The report's charts (title, inline SVG): per step the median and p90 hari kerja and
    the SLA compliance, and per officer the SLA compliance; steps with nothing are left out."""
    from izin.charts import bars

    measured = [s for s in sop.STEPS if figures.steps.get(s.number, StepFigures()).durations]
    timed = [s for s in sop.STEPS if figures.steps.get(s.number, StepFigures()).sla.timed]
    found = []
    if measured:
        rows: list[tuple[str, float | None]] = []
        for s in measured:
            f = figures.steps[s.number]
            rows += [(f"{s.number}. median", f.median), (f"{s.number}. p90", f.p90)]
        title = "Hari kerja per langkah (median, p90)"
        found.append((title, bars(rows, title=title)))
    if figures.end_to_end:
        title = "Hari kerja ujung ke ujung (median, p90)"
        rows = [("median", _median(figures.end_to_end)), ("p90", _p90(figures.end_to_end))]
        found.append((title, bars(rows, title=title)))
    if timed:
        title = "Kepatuhan SLA per langkah (%)"
        rows = [
            (f"{s.number}. {s.activity[:28]}", figures.steps[s.number].sla.percent) for s in timed
        ]
        found.append((title, bars(rows, title=title, unit="%", top=100)))
    if figures.officers:
        title = "Kepatuhan SLA per petugas (%)"
        rows = [
            (nama[:32], sla.percent)
            for nama, sla in sorted(figures.officers.values(), key=lambda o: o[0])
        ]
        found.append((title, bars(rows, title=title, unit="%", top=100)))
    return found
