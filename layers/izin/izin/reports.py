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
)
STEP_HEADERS = (
    "Bulan",
    "Langkah",
    "Kegiatan",
    "Tugas diputuskan",
    "Median hari kerja",
    "P90 hari kerja",
    "Dikembalikan",
)


@dataclass
class StepFigures:
    """One step's figures in the month."""

    durations: list[float] = field(default_factory=list)
    send_backs: int = 0

    @property
    def median(self) -> float | None:
        return round(statistics.median(self.durations), 2) if self.durations else None

    @property
    def p90(self) -> float | None:
        return round(percentile(self.durations, 90), 2) if self.durations else None


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

    def summary_row(self) -> list[Any]:
        return [
            self.bulan,
            self.received,
            self.completed,
            self.effective,
            self.not_effective,
            self.parked,
        ]

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
                    figures.median if figures.median is not None else "",
                    figures.p90 if figures.p90 is not None else "",
                    figures.send_backs,
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
        issued: dict[int, datetime] = {}
        for entry in trail:
            action, at = entry.get("action"), str(entry.get("at", ""))
            step = int(entry.get("step") or 0)
            if action == "task.issued" and entry.get("kind", Kind.STEP) == Kind.STEP:
                issued.setdefault(step, datetime.fromisoformat(at))
                continue
            if action == "task.decided" and entry.get("kind", Kind.STEP) == Kind.STEP:
                start = issued.pop(step, None)
                if month_of(at) != bulan:
                    continue
                figures = result.steps.setdefault(step, StepFigures())
                if start is not None:
                    seconds = working_seconds_between(start, datetime.fromisoformat(at), calendar)
                    figures.durations.append(seconds / day_seconds())
                if entry.get("decision") == sop.Decision.NO.value:
                    figures.send_backs += 1
                continue
            if not at or month_of(at) != bulan:
                continue
            if action == "application.received":
                result.received += 1
            elif action == "application.parked":
                result.parked += 1
            elif action == "step.recorded" and step == last:
                result.completed += 1
                if application.get("outcome") == "BERLAKU_EFEKTIF":
                    result.effective += 1
                else:
                    result.not_effective += 1
    return result


def gather(store: Store, *, page: int = 100) -> list[tuple[Item, list[Item]]]:
    """Every application (the GSI1 index, Query pages) with its audit trail."""
    found: list[tuple[Item, list[Item]]] = []
    after: Item | None = None
    while True:
        items, after = store.applications_page(page, after=after)
        found += [(i, store.audit(str(i["id_izin"]))) for i in items]
        if after is None:
            return found


def as_csv(figures: Report) -> str:
    """The report as CSV: the summary, a blank line, the steps."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SUMMARY_HEADERS)
    writer.writerow(figures.summary_row())
    writer.writerow([])
    writer.writerow(STEP_HEADERS)
    writer.writerows(figures.step_rows())
    return out.getvalue()


def as_xlsx(figures: Report) -> bytes:
    """The report as an XLSX workbook: sheets "Ringkasan" and "Per langkah"."""
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
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
