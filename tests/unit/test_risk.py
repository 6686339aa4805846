"""SLA risk arithmetic over the 2026 holiday calendar (izin.risk): the step's deadline,
the hari kerja the Dinas has used, OSS's stops and restarts, and the fiktif-positif flag.

December 2026: Thu 24 (cuti bersama) and Fri 25 (Natal) are days off; office 07.30-16.00 WIB.
"""

from datetime import datetime, timedelta
from typing import Any

import pytest
from izin.calendar import WIB, HolidayCalendar, working_deadline
from izin.risk import FIKTIF, StepState, assess, days_used, step_state


@pytest.fixture(scope="module")
def cal() -> HolidayCalendar:
    return HolidayCalendar.load()


def wib(day: int, hour: int = 7, minute: int = 30) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=WIB)


def app(**fields: Any) -> dict[str, Any]:
    return {"status": "PROSES", "created_at": wib(21).isoformat(), **fields}


def test_a_deadline_over_the_christmas_days_off_is_on_time_then_due_then_overdue(
    cal: HolidayCalendar,
) -> None:
    deadline = working_deadline(wib(23, 10), 1, cal)  # Wed + 1 hari kerja skips Thu and Fri
    assert deadline == wib(28, 16, 0)
    assert step_state(deadline, wib(24, 12)) is StepState.TEPAT_WAKTU
    assert step_state(deadline, wib(28, 8)) is StepState.HARI_INI
    assert step_state(deadline, wib(28, 16, 0)) is StepState.TERLAMBAT
    assert step_state(None, wib(28)) is StepState.TANPA_BATAS


def test_days_used_count_working_office_hours_only(cal: HolidayCalendar) -> None:
    # Mon 21, Tue 22, Wed 23, (Thu 24, Fri 25 off, weekend), Mon 28: four whole days.
    assert days_used(app(), now=wib(28, 16, 0), calendar=cal) == pytest.approx(4.0)
    # Half of Monday 28 (07.30-11.45) counts half a day.
    assert days_used(app(), now=wib(28, 11, 45), calendar=cal) == pytest.approx(3.5)


def test_oss_stopping_the_clock_is_not_the_dinas_time(cal: HolidayCalendar) -> None:
    clock = [
        {"kd_status": "41", "at": wib(22).isoformat()},
        {"kd_status": "42", "at": wib(23, 16, 0).isoformat()},
    ]
    assert days_used(app(sla_jam=clock), now=wib(28, 16, 0), calendar=cal) == pytest.approx(2.0)
    # A stop not yet lifted holds the clock up to now.
    still = clock[:1]
    assert days_used(app(sla_jam=still), now=wib(28, 16, 0), calendar=cal) == pytest.approx(1.0)


def test_oss_restarting_the_sla_counts_from_the_restart(cal: HolidayCalendar) -> None:
    clock = [
        {"kd_status": "43", "at": wib(22).isoformat()},
        {"kd_status": "44", "at": wib(23).isoformat()},
    ]
    assert days_used(app(sla_jam=clock), now=wib(28, 16, 0), calendar=cal) == pytest.approx(2.0)


def test_the_clock_ends_when_the_application_is_finished(cal: HolidayCalendar) -> None:
    done = app(status="SELESAI", finished_at=wib(22, 16, 0).isoformat(), deadline="")
    risk = assess(done, now=wib(28, 16, 0), calendar=cal, service_level_days=1, warn_days=0)
    assert risk.days_used == pytest.approx(2.0)
    assert risk.fiktif is False  # finished: OSS no longer approves by default
    assert risk.step_state is StepState.TANPA_BATAS


def test_flagged_fiktif_positif_within_the_warning_days(cal: HolidayCalendar) -> None:
    def risk(now: datetime):
        return assess(app(), now=now, calendar=cal, service_level_days=5, warn_days=1)

    # 3.5 days used of 5: 1.5 left, not yet within the 1-day warning.
    assert risk(wib(28, 11, 45)).fiktif is False
    flagged = risk(wib(28, 16, 0))  # 4 used, 1 left: flagged
    assert (flagged.fiktif, flagged.days_left) == (True, pytest.approx(1.0))
    assert flagged.matches(FIKTIF) and not flagged.matches(StepState.TERLAMBAT.value)
    # The same application parked (TERHENTI) stays at risk: parking is the Dinas's delay.
    parked = assess(
        app(status="TERHENTI"), now=wib(29, 16, 0), calendar=cal, service_level_days=5, warn_days=0
    )
    assert (parked.fiktif, parked.days_left) == (True, pytest.approx(0.0))


def test_the_step_deadline_and_the_fiktif_flag_are_both_reported(cal: HolidayCalendar) -> None:
    overdue = app(deadline=wib(23, 16, 0).isoformat())
    risk = assess(overdue, now=wib(28, 9), calendar=cal, service_level_days=20, warn_days=3)
    assert risk.step_state is StepState.TERLAMBAT and risk.matches("terlambat")
    assert risk.fiktif is False and not risk.matches(FIKTIF)


def test_a_fast_local_clock_counts_plain_seconds(cal: HolidayCalendar) -> None:
    start = wib(24, 3)  # a day off at night: the fast clock does not care
    fast = {"status": "PROSES", "created_at": start.isoformat()}
    now = start + timedelta(seconds=25)
    assert days_used(fast, now=now, calendar=cal, workday_seconds=10) == pytest.approx(2.5)
