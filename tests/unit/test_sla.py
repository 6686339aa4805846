"""A human step's deadline in hari kerja, the reminders after it, and their cap."""

from datetime import UTC, datetime

import pytest
from izin.calendar import WIB, HolidayCalendar
from izin.settings import Settings
from izin.sla import SlaExhausted, plan_deadline, sla_days

CALENDAR = HolidayCalendar.load()
THURSDAY_10 = datetime(2026, 11, 26, 10, 0, tzinfo=WIB)


def settings(**values: object) -> Settings:
    base = {
        "TABLE_NAME": "t",
        "BUCKET_NAME": "b",
        "PUBLIC_BASE_URL": "http://x",
        "MAIL_FROM": "a@b.id",
    }
    return Settings.model_validate({**base, **values})


def test_the_sop_s_slas_then_the_configured_then_the_default() -> None:
    plain = settings()
    assert [sla_days(n, plain) for n in (5, 8, 11, 14)] == [1, 1, 2, 1]
    assert sla_days(4, plain) == 2
    tuned = settings(IZIN_SLA_DAYS='{"4": 1, "5": 3}', IZIN_DEFAULT_SLA_DAYS="4")
    assert (sla_days(4, tuned), sla_days(5, tuned), sla_days(6, tuned)) == (1, 3, 4)


def test_one_hari_kerja_from_thursday_morning_ends_friday_afternoon() -> None:
    deadline = plan_deadline(
        5, {"step": 0}, now=THURSDAY_10, calendar=CALENDAR, settings=settings()
    )
    assert deadline.deadline == datetime(2026, 11, 27, 16, 0, tzinfo=WIB)
    assert deadline.timeout_seconds == 30 * 3600
    assert deadline.reminders == 0


def test_a_shrunken_clock_waits_the_workday_seconds() -> None:
    deadline = plan_deadline(
        11,
        {"step": 0},
        now=THURSDAY_10,
        calendar=CALENDAR,
        settings=settings(IZIN_WORKDAY_SECONDS="3"),
    )
    assert deadline.timeout_seconds == 6
    assert deadline.deadline == datetime(2026, 11, 30, 16, 0, tzinfo=WIB)  # still the real date


def test_coming_back_to_the_same_step_counts_a_reminder_up_to_the_cap() -> None:
    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    previous = {"step": 8, "reminders": 0}
    for expected in (1, 2, 3):
        planned = plan_deadline(8, previous, now=now, calendar=CALENDAR, settings=settings())
        assert planned.reminders == expected
        previous = planned.model_dump()
    with pytest.raises(SlaExhausted):
        plan_deadline(8, previous, now=now, calendar=CALENDAR, settings=settings())
    fresh = plan_deadline(9, previous, now=now, calendar=CALENDAR, settings=settings())
    assert fresh.reminders == 0  # another step starts its own count
