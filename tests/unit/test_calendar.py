"""Hari kerja arithmetic against the 2026 SKB calendar: the edges an SLA deadline meets."""

import calendar as weekdays
import json
import logging
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from izin.calendar import (
    WIB,
    HolidayCalendar,
    OfficeHours,
    working_deadline,
    working_seconds_between,
)

HOUR = 3600
MON, TUE, WED, THU, FRI, SAT = (
    weekdays.MONDAY,
    weekdays.TUESDAY,
    weekdays.WEDNESDAY,
    weekdays.THURSDAY,
    weekdays.FRIDAY,
    weekdays.SATURDAY,
)


@pytest.fixture(scope="module")
def cal() -> HolidayCalendar:
    return HolidayCalendar.load()


def wib(y: int, m: int, d: int, hh: int = 10, mm: int = 0, weekday: int | None = None) -> datetime:
    """A WIB moment; `weekday` double-checks the day of week the test assumes."""
    moment = datetime(y, m, d, hh, mm, tzinfo=WIB)
    if weekday is not None:
        assert moment.weekday() == weekday, weekdays.day_name[moment.weekday()]
    return moment


def close(y: int, m: int, d: int, weekday: int) -> datetime:
    return wib(y, m, d, 16, 0, weekday)


# --- the data --------------------------------------------------------------------------


def test_packaged_calendar_lists_the_skb_2026_days(cal: HolidayCalendar) -> None:
    kinds = {h.date: h.kind for h in cal.holidays}
    assert cal.years == (2026,)
    assert "1497" in cal.source.skb
    assert cal.source.url.startswith("https://")
    assert sum(k == "libur_nasional" for k in kinds.values()) == 17
    assert sorted(d for d, k in kinds.items() if k == "cuti_bersama") == [
        date(2026, 2, 16),
        date(2026, 3, 18),
        date(2026, 3, 20),
        date(2026, 3, 23),
        date(2026, 3, 24),
        date(2026, 5, 15),
        date(2026, 5, 28),
        date(2026, 12, 24),
    ]


def test_is_working_day(cal: HolidayCalendar) -> None:
    assert cal.is_working_day(date(2026, 1, 15))  # Thursday
    assert not cal.is_working_day(date(2026, 1, 16))  # Friday, Isra Mi'raj
    assert not cal.is_working_day(date(2026, 1, 17))  # Saturday
    assert not cal.is_working_day(date(2026, 1, 18))  # Sunday
    assert not cal.is_working_day(date(2026, 5, 15))  # Friday, cuti bersama
    assert cal.is_working_day(date(2026, 5, 29))  # Friday after Idul Adha's cuti bersama
    merdeka = cal.holiday_on(date(2026, 8, 17))
    assert merdeka is not None
    assert merdeka.name == "Hari Kemerdekaan Republik Indonesia"


def test_a_year_not_covered_keeps_weekdays_and_fixed_dates_only(cal: HolidayCalendar) -> None:
    assert not cal.covers(date(2027, 1, 5))
    assert cal.covers(date(2026, 12, 31))
    assert not cal.is_working_day(date(2027, 1, 1))  # Friday, Tahun Baru: a fixed date
    assert cal.is_working_day(date(2027, 1, 5))  # Tuesday
    assert not cal.is_working_day(date(2027, 1, 9))  # Saturday


def test_load_rejects_a_holiday_outside_the_covered_years(tmp_path: Path) -> None:
    path = tmp_path / "holidays.json"
    path.write_text(
        json.dumps(
            {
                "source": {"skb": "SKB", "url": "https://example.org"},
                "revised": "2026-01-01",
                "years": [2026],
                "holidays": [{"date": "2027-01-01", "kind": "libur_nasional", "name": "x"}],
            }
        )
    )
    with pytest.raises(ValueError, match="outside the covered years"):
        HolidayCalendar.load(path)


# --- working_deadline: the rule ----------------------------------------------------------


# (start in WIB, its weekday, hari kerja, deadline date, its weekday): deadlines close at 16:00.
DEADLINES = [
    pytest.param((2026, 1, 9, 10, 0), FRI, 1, (2026, 1, 12), MON, id="friday-morning"),
    pytest.param((2026, 1, 9, 15, 59), FRI, 1, (2026, 1, 12), MON, id="friday-before-close"),
    pytest.param((2026, 1, 9, 16, 0), FRI, 1, (2026, 1, 13), TUE, id="friday-at-close"),
    pytest.param((2026, 1, 9, 17, 0), FRI, 1, (2026, 1, 13), TUE, id="friday-after-close"),
    pytest.param((2026, 1, 9, 17, 0), FRI, 0, (2026, 1, 12), MON, id="friday-after-close-0"),
    pytest.param((2026, 1, 9, 23, 59), FRI, 1, (2026, 1, 13), TUE, id="friday-midnight"),
    pytest.param((2026, 1, 10, 9, 0), SAT, 0, (2026, 1, 12), MON, id="saturday-0"),
    pytest.param((2026, 1, 10, 9, 0), SAT, 1, (2026, 1, 13), TUE, id="saturday-1"),
    pytest.param((2026, 1, 12, 6, 0), MON, 0, (2026, 1, 12), MON, id="before-opening"),
    pytest.param((2026, 11, 26, 14, 30), THU, 0, (2026, 11, 26), THU, id="zero-days"),
    # 16 Jan: Isra Mi'raj
    pytest.param((2026, 1, 15, 10, 0), THU, 1, (2026, 1, 19), MON, id="eve-of-isra-miraj"),
    # 14 May Kenaikan, 15 May cuti bersama
    pytest.param((2026, 5, 13, 10, 0), WED, 1, (2026, 5, 18), MON, id="kenaikan-and-cuti"),
    # 27 May Idul Adha, 28 May cuti bersama, 1 Jun Pancasila
    pytest.param((2026, 5, 26, 10, 0), TUE, 1, (2026, 5, 29), FRI, id="idul-adha-cuti"),
    pytest.param((2026, 5, 26, 10, 0), TUE, 2, (2026, 6, 2), TUE, id="pancasila"),
    # 18 cuti, 19 Nyepi, 20 cuti, 21-22 Idul Fitri on the weekend, 23-24 cuti
    pytest.param((2026, 3, 17, 10, 0), TUE, 1, (2026, 3, 25), WED, id="idul-fitri-run"),
    pytest.param((2026, 3, 20, 9, 0), FRI, 0, (2026, 3, 25), WED, id="inside-idul-fitri"),
    # day 0 Mon 16, 1 Tue 17, 2 Wed 25, 3 Thu 26
    pytest.param((2026, 3, 16, 8, 0), MON, 3, (2026, 3, 26), THU, id="3-days-over-idul-fitri"),
    pytest.param((2026, 10, 5, 9, 0), MON, 5, (2026, 10, 12), MON, id="5-days"),
    pytest.param((2026, 10, 5, 9, 0), MON, 14, (2026, 10, 23), FRI, id="14-days"),
    # 24 Dec cuti bersama, 25 Dec Natal
    pytest.param((2026, 12, 23, 10, 0), WED, 1, (2026, 12, 28), MON, id="natal"),
]


@pytest.mark.parametrize(("start", "start_day", "days", "due", "due_day"), DEADLINES)
def test_working_deadline(
    cal: HolidayCalendar,
    start: tuple[int, int, int, int, int],
    start_day: int,
    days: int,
    due: tuple[int, int, int],
    due_day: int,
) -> None:
    expected = close(*due, weekday=due_day)
    assert working_deadline(wib(*start, weekday=start_day), days, cal) == expected


def test_year_end_into_an_uncovered_year_warns(
    cal: HolidayCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    start = wib(2026, 12, 31, 10, 0, THU)
    with caplog.at_level(logging.WARNING, logger="izin.calendar"):
        deadline = working_deadline(start, 1, cal)
    # Fri 1 Jan 2027 is Tahun Baru (a fixed date); the rest of 2027 is not known.
    assert deadline == close(2027, 1, 4, MON)
    assert [r.uncovered_years for r in caplog.records] == [[2027]]  # type: ignore[attr-defined]


def test_a_covered_span_does_not_warn(
    cal: HolidayCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="izin.calendar"):
        working_deadline(wib(2026, 12, 23), 2, cal)
    assert caplog.records == []


def test_aware_input_in_utc_is_read_in_wib(cal: HolidayCalendar) -> None:
    morning = datetime(2026, 1, 9, 3, 0, tzinfo=UTC)  # Friday 10:00 WIB
    evening = datetime(2026, 1, 9, 9, 30, tzinfo=UTC)  # Friday 16:30 WIB
    deadline = working_deadline(morning, 1, cal)
    assert deadline == close(2026, 1, 12, MON)
    assert deadline.tzinfo is WIB
    assert deadline.utcoffset() == timedelta(hours=7)
    assert working_deadline(evening, 1, cal) == close(2026, 1, 13, TUE)


def test_late_evening_utc_is_already_the_next_day_in_wib(cal: HolidayCalendar) -> None:
    sunday_utc = datetime(2026, 1, 11, 23, 0, tzinfo=UTC)  # Monday 06:00 WIB
    assert working_deadline(sunday_utc, 0, cal) == close(2026, 1, 12, MON)


def test_naive_start_is_rejected(cal: HolidayCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        working_deadline(datetime(2026, 1, 9, 10, 0), 1, cal)  # noqa: DTZ001


def test_negative_days_are_rejected(cal: HolidayCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        working_deadline(wib(2026, 1, 9), -1, cal)


def test_office_hours_are_a_parameter(cal: HolidayCalendar) -> None:
    hours = OfficeHours(opens=time(8, 0), closes=time(15, 30))
    start = wib(2026, 1, 9, 15, 45, FRI)
    assert working_deadline(start, 0, cal, hours) == wib(2026, 1, 12, 15, 30)
    with pytest.raises(ValueError, match="before it closes"):
        OfficeHours(opens=time(16, 0), closes=time(7, 30))


# --- working_seconds_between -----------------------------------------------------------


def test_seconds_within_one_day(cal: HolidayCalendar) -> None:
    assert working_seconds_between(wib(2026, 1, 12, 10), wib(2026, 1, 12, 11), cal) == HOUR


def test_seconds_are_clipped_to_office_hours(cal: HolidayCalendar) -> None:
    whole_day = working_seconds_between(wib(2026, 1, 12, 6), wib(2026, 1, 12, 18), cal)
    assert whole_day == 8 * HOUR + 30 * 60


def test_seconds_skip_the_weekend(cal: HolidayCalendar) -> None:
    friday, monday = wib(2026, 1, 9, 15, 0), wib(2026, 1, 12, 8, 30)
    assert working_seconds_between(friday, monday, cal) == 2 * HOUR


def test_seconds_skip_a_holiday(cal: HolidayCalendar) -> None:
    thursday, monday = wib(2026, 1, 15, 15, 0), wib(2026, 1, 19, 8, 30)
    assert working_seconds_between(thursday, monday, cal) == 2 * HOUR


def test_seconds_up_to_a_deadline(cal: HolidayCalendar) -> None:
    start = wib(2026, 1, 9, 10, 0, FRI)
    deadline = working_deadline(start, 1, cal)
    assert working_seconds_between(start, deadline, cal) == 6 * HOUR + 8 * HOUR + 30 * 60


def test_seconds_past_the_deadline_are_negative(cal: HolidayCalendar) -> None:
    deadline, now = wib(2026, 1, 12, 16, 0), wib(2026, 1, 13, 9, 30)
    assert working_seconds_between(now, deadline, cal) == -2 * HOUR


def test_seconds_accept_any_aware_zone(cal: HolidayCalendar) -> None:
    wita = timezone(timedelta(hours=8))
    start = datetime(2026, 1, 12, 11, 0, tzinfo=wita)  # 10:00 WIB
    assert working_seconds_between(start, wib(2026, 1, 12, 11), cal) == HOUR


def test_seconds_reject_naive(cal: HolidayCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        working_seconds_between(wib(2026, 1, 12), datetime(2026, 1, 13), cal)  # noqa: DTZ001
