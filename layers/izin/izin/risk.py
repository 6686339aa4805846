"""SLA risk, per application: the current step against its deadline, and the whole
application against the Dinas's service level before OSS approves by default (fiktif
positif, UU 11/2020).

Where the Dinas's clock runs (a decision; README "SLA risk"):
- it starts when the application arrives at the Dinas (`created_at`, the inbound
  function's record), or at OSS's last restart of the SLA (kd_status 44) after that;
- it stops while OSS stopped it (kd_status 41/43 until 42/44), `izin.sla.stopped`;
- it ends when the application is SELESAI (`finished_at`); a TERHENTI application's clock
  runs on: parking is the Dinas's own delay, not the applicant's.
Time is counted in office seconds over the holiday calendar (`working_seconds_between`),
one hari kerja being a working day's office hours; with `workday_seconds` set (the local
runtime's fast clock) a hari kerja is that many seconds of plain time.

Pure functions: the clock, the calendar and the settings are arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from izin.calendar import (
    OFFICE_HOURS,
    HolidayCalendar,
    OfficeHours,
    to_wib,
    working_seconds_between,
)
from izin.sla import stopped


class StepState(StrEnum):
    """The current step against its deadline."""

    TEPAT_WAKTU = "tepat_waktu"  # on time
    HARI_INI = "hari_ini"  # due today
    TERLAMBAT = "terlambat"  # overdue
    TANPA_BATAS = "tanpa_batas"  # no deadline now (a wait on OSS/SIINAS, or finished)


# The console's SLA-state filter: the step's states, and the whole application's risk.
FIKTIF = "fiktif_positif"
SLA_STATES: dict[str, str] = {
    StepState.TEPAT_WAKTU.value: "Tepat waktu",
    StepState.HARI_INI.value: "Jatuh tempo hari ini",
    StepState.TERLAMBAT.value: "Terlambat",
    FIKTIF: "Berisiko fiktif positif",
}


@dataclass(frozen=True)
class Risk:
    """One application's SLA position."""

    step_state: StepState
    deadline: datetime | None
    days_used: float  # hari kerja the Dinas has used so far
    days_left: float  # hari kerja before the service level (negative: past it)
    fiktif: bool  # within `warn_days` of the service level, or past it, while open

    def matches(self, state: str) -> bool:
        """Whether the console's SLA-state filter value selects this application."""
        return self.fiktif if state == FIKTIF else self.step_state.value == state


@dataclass(frozen=True)
class Assessed:
    """An application with its Risk, as the console's list and the morning digest show it."""

    application: dict[str, Any]
    risk: Risk

    @property
    def id_izin(self) -> str:
        return str(self.application["id_izin"])


def day_seconds(hours: OfficeHours = OFFICE_HOURS) -> float:
    """The office seconds of one hari kerja."""
    opens, closes = hours.opens, hours.closes
    return float((closes.hour - opens.hour) * 3600 + (closes.minute - opens.minute) * 60)


def step_state(deadline: datetime | None, now: datetime) -> StepState:
    """On time, due today (the deadline falls on today's date in WIB), or overdue."""
    if deadline is None:
        return StepState.TANPA_BATAS
    if deadline <= now:
        return StepState.TERLAMBAT
    if to_wib(deadline).date() == to_wib(now).date():
        return StepState.HARI_INI
    return StepState.TEPAT_WAKTU


def days_used(
    application: Mapping[str, Any],
    *,
    now: datetime,
    calendar: HolidayCalendar,
    workday_seconds: float | None = None,
) -> float:
    """Hari kerja the Dinas has used on the application (see the module's note)."""
    start = datetime.fromisoformat(str(application["created_at"]))
    clock = stopped(application.get("sla_jam") or [])
    restarts = [r for r in clock.restarts if start < r <= now]
    if restarts:
        start = restarts[-1]
    finished = application.get("finished_at")
    end = datetime.fromisoformat(str(finished)) if finished else now
    end = max(end, start)
    spans = clock.during(start, end)
    if workday_seconds:
        paused = sum((b - a).total_seconds() for a, b in spans)
        return ((end - start).total_seconds() - paused) / workday_seconds
    paused = sum(working_seconds_between(a, b, calendar) for a, b in spans)
    return (working_seconds_between(start, end, calendar) - paused) / day_seconds()


def assess(
    application: Mapping[str, Any],
    *,
    now: datetime,
    calendar: HolidayCalendar,
    service_level_days: int,
    warn_days: int,
    workday_seconds: float | None = None,
) -> Risk:
    """The application's SLA position at `now`."""
    open_ = application.get("status") != "SELESAI"
    raw = application.get("deadline") if open_ else None
    deadline = datetime.fromisoformat(str(raw)) if raw else None
    used = days_used(application, now=now, calendar=calendar, workday_seconds=workday_seconds)
    left = service_level_days - used
    return Risk(
        step_state=step_state(deadline, now),
        deadline=deadline,
        days_used=round(used, 2),
        days_left=round(left, 2),
        fiktif=open_ and left <= warn_days,
    )
