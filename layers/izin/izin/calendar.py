"""Hari kerja arithmetic: the SLA of SOP steps 5, 8, 11 and 14, counted in working days.

A working day is Monday to Friday, not a libur nasional and not a cuti bersama. The days
off come from the maintained `holidays` package (Indonesia, categories public and
government: its 2026 list is SKB No. 1497/2/5 of 2025 day for day; the Islamic dates of
later years are marked as estimates), then the Dinas's own entries (a day off added or
cancelled by a decree), which it keeps as data (`DinasEntry`). Each day says where it came
from: `library`, `estimate` or `dinas`. A JSON table (`HolidayCalendar.load`) still reads.
Office hours default to 07:30-16:00 WIB, the hours Kalbar's ASN keep. All times are in
Asia/Pontianak (WIB, +07:00, no DST); time is always a parameter, never read here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, model_validator

WIB = ZoneInfo("Asia/Pontianak")

logger = logging.getLogger(__name__)


class _Frozen(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")


class HolidaySource(_Frozen):
    """Where the holiday list comes from: the decree and the page it was copied from."""

    skb: str
    url: str


HolidayOrigin = Literal["library", "estimate", "dinas", "table"]


class Holiday(_Frozen):
    """One day off for ASN: a libur nasional or a cuti bersama, and where it comes from."""

    date: date
    kind: Literal["libur_nasional", "cuti_bersama"]
    name: str
    source: HolidayOrigin = "table"


class DinasEntry(_Frozen):
    """A day off the Dinas adds (`libur`) or cancels (`masuk`), with the decree that says so."""

    date: date
    action: Literal["libur", "masuk"]
    name: str
    keputusan: str


class FixedHoliday(_Frozen):
    """A libur nasional on the same date every year, assumed for years the table lacks."""

    month: int
    day: int
    name: str

    @model_validator(mode="after")
    def _a_real_day(self) -> FixedHoliday:
        date(2000, self.month, self.day)  # 2000 is a leap year, so 29 Feb passes
        return self


class OfficeHours(_Frozen):
    """The daily opening and closing time of the office on a working day, in WIB."""

    opens: time = time(7, 30)
    closes: time = time(16, 0)

    @model_validator(mode="after")
    def _opens_before_closes(self) -> OfficeHours:
        if self.opens >= self.closes:
            raise ValueError(
                f"office opens ({self.opens}) must be before it closes ({self.closes})"
            )
        return self


OFFICE_HOURS = OfficeHours()


class HolidayCalendar(_Frozen):
    """The days off of the years a decree covers.

    Outside the covered `years` the calendar does not raise: Monday to Friday count as
    working days except the `fixed_dates` (1 Jan, 1 May, 1 Jun, 17 Aug, 25 Dec), because
    an SLA running past 31 December must still yield a deadline. Moveable holidays and cuti
    bersama of such a year are unknown, so `covers(d)` is False there; callers should warn,
    and `working_deadline`/`working_seconds_between` log a warning when they cross one.
    """

    source: HolidaySource
    revised: date | None = None  # of a table kept by hand
    years: tuple[int, ...]
    holidays: tuple[Holiday, ...]
    fixed_dates: tuple[FixedHoliday, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> HolidayCalendar:
        if not self.years:
            raise ValueError("a holiday calendar must cover at least one year")
        outside = sorted({h.date for h in self.holidays if h.date.year not in self.years})
        if outside:
            raise ValueError(f"holidays outside the covered years {self.years}: {outside}")
        if len({h.date for h in self.holidays}) != len(self.holidays):
            raise ValueError("a date is listed twice in the holiday calendar")
        return self

    @classmethod
    def load(cls, path: Path | str | None = None) -> HolidayCalendar:
        """Read a calendar from a JSON file, by default the one packaged with `izin`."""
        if path is None:
            text = files("izin.data").joinpath("holidays.json").read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return cls.model_validate_json(text)

    @classmethod
    def indonesia(cls, years: Iterable[int], entries: Iterable[DinasEntry] = ()) -> HolidayCalendar:
        """Indonesia's days off of these years (the `holidays` package), then the Dinas's."""
        import holidays

        covered = tuple(sorted(set(years)))
        listed = holidays.country_holidays(
            "ID", years=covered, categories=("public", "government"), language="id"
        )
        days: dict[date, Holiday] = {}
        for day, names in sorted(listed.items()):
            name = str(names)
            days[day] = Holiday(
                date=day,
                kind="cuti_bersama" if name.startswith("Cuti Bersama") else "libur_nasional",
                name=name,
                source="estimate" if "perkiraan" in name else "library",
            )
        for entry in entries:
            if entry.date.year not in covered:
                continue
            if entry.action == "masuk":
                days.pop(entry.date, None)
            else:
                days[entry.date] = Holiday(
                    date=entry.date,
                    kind="cuti_bersama",
                    name=f"{entry.name} ({entry.keputusan})",
                    source="dinas",
                )
        return cls(
            source=HolidaySource(
                skb="python-holidays, Indonesia (public, government), and the Dinas's entries",
                url="https://pypi.org/project/holidays/",
            ),
            years=covered,
            holidays=tuple(days[d] for d in sorted(days)),
        )

    def days_off(self, year: int) -> list[Holiday]:
        """The year's days off, in date order (none for a year not covered)."""
        return [h for h in self.holidays if h.date.year == year]

    def unconfirmed_years(self, first: date, last: date) -> list[int]:
        """The years from `first` to `last` whose days off are not all known for sure.

        Not covered at all, or with a day the library marks as an estimate (the Islamic
        dates before the government's decree). From October, the next year counts too:
        its decree is due and deadlines will soon reach it.
        """
        years = set(range(first.year, last.year + 1))
        if first.month >= 10:
            years.add(first.year + 1)
        estimated = {h.date.year for h in self.holidays if h.source == "estimate"}
        return sorted(y for y in years if y not in self.years or y in estimated)

    @cached_property
    def _by_date(self) -> dict[date, Holiday]:
        return {h.date: h for h in self.holidays}

    def covers(self, d: date) -> bool:
        """Whether the decree lists the days off of `d`'s year."""
        return d.year in self.years

    def holiday_on(self, d: date) -> Holiday | None:
        """The libur nasional or cuti bersama falling on `d`, if any."""
        if self.covers(d):
            return self._by_date.get(d)
        for fixed in self.fixed_dates:
            if (fixed.month, fixed.day) == (d.month, d.day):
                return Holiday(date=d, kind="libur_nasional", name=fixed.name)
        return None

    def is_working_day(self, d: date) -> bool:
        """Whether `d` is Monday to Friday and neither a libur nasional nor a cuti bersama."""
        return d.weekday() < 5 and self.holiday_on(d) is None

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        d += timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d


def to_wib(moment: datetime) -> datetime:
    """The same instant in Asia/Pontianak; a naive datetime is refused with ValueError."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {moment.isoformat()}")
    return moment.astimezone(WIB)


def working_deadline(
    start: datetime,
    days: int,
    calendar: HolidayCalendar,
    hours: OfficeHours = OFFICE_HOURS,
) -> datetime:
    """The close of office on the `days`-th working day after `start`, in Asia/Pontianak.

    The rule: day 0 is the day of `start` if it is a working day and `start` is before
    closing time (before opening counts too: the work starts that morning); otherwise
    (after closing, at closing exactly, or on a non-working day) day 0 is the next working
    day. The deadline is closing time on the `days`-th working day after day 0, so
    0 days ends at the close of day 0: Friday 10:00 + 1 is Monday 16:00, Friday 17:00 + 1
    is Tuesday 16:00. A negative `days` is refused with ValueError.
    """
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    local = to_wib(start)
    day = local.date()
    if not calendar.is_working_day(day) or local.time() >= hours.closes:
        day = calendar.next_working_day(day)
    for _ in range(days):
        day = calendar.next_working_day(day)
    _warn_uncovered(calendar, local.date(), day)
    return datetime.combine(day, hours.closes, tzinfo=WIB)


def working_seconds_between(
    start: datetime,
    end: datetime,
    calendar: HolidayCalendar,
    hours: OfficeHours = OFFICE_HOURS,
) -> int:
    """Office-hour seconds on working days from `start` to `end`; negative if `end` is earlier."""
    first, last = to_wib(start), to_wib(end)
    if last < first:
        return -working_seconds_between(last, first, calendar, hours)
    total = timedelta()
    for day in _days(first.date(), last.date()):
        if not calendar.is_working_day(day):
            continue
        opens = max(first, datetime.combine(day, hours.opens, tzinfo=WIB))
        closes = min(last, datetime.combine(day, hours.closes, tzinfo=WIB))
        if closes > opens:
            total += closes - opens
    _warn_uncovered(calendar, first.date(), last.date())
    return int(total.total_seconds())


def add_working_seconds(
    start: datetime,
    seconds: float,
    calendar: HolidayCalendar,
    hours: OfficeHours = OFFICE_HOURS,
) -> datetime:
    """The moment `seconds` of office time after `start` (the inverse of
    working_seconds_between); a moment outside office hours starts at the next opening."""
    if seconds < 0:
        raise ValueError(f"seconds must not be negative, got {seconds}")
    cursor = to_wib(start)
    left = timedelta(seconds=seconds)
    day = cursor.date()
    while True:
        if calendar.is_working_day(day):
            opens = max(cursor, datetime.combine(day, hours.opens, tzinfo=WIB))
            closes = datetime.combine(day, hours.closes, tzinfo=WIB)
            if opens < closes:
                if left <= closes - opens:
                    return opens + left
                left -= closes - opens
        day += timedelta(days=1)
        cursor = datetime.combine(day, hours.opens, tzinfo=WIB)


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _warn_uncovered(calendar: HolidayCalendar, first: date, last: date) -> None:
    uncovered = sorted(set(range(first.year, last.year + 1)) - set(calendar.years))
    if uncovered:
        logger.warning(
            "Hari kerja counted for years the holiday calendar does not cover; "
            "only fixed-date holidays are known there",
            extra={"uncovered_years": uncovered, "covered_years": list(calendar.years)},
        )
