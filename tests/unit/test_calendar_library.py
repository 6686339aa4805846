"""The hari kerja calendar from the `holidays` package and the Dinas's own entries."""

import json
from datetime import date, datetime

from izin.calendar import WIB, DinasEntry, HolidayCalendar, working_deadline

CALENDAR = HolidayCalendar.indonesia([2026, 2027])


def _days(year: int) -> dict[str, tuple[str, str]]:
    return {h.date.isoformat(): (h.name, h.source) for h in CALENDAR.days_off(year)}


def test_2027_holds_isra_mikraj_lebaran_with_its_cuti_bersama_and_christmas() -> None:
    days = _days(2027)
    assert days["2027-01-05"][0].startswith("Isra Mikraj")
    assert {"2027-03-10", "2027-03-11"} <= days.keys()
    assert days["2027-03-10"] == ("Hari Raya Idul Fitri (perkiraan)", "estimate")
    assert days["2027-03-09"][0].startswith("Cuti Bersama") and "2027-03-12" in days
    assert {"2027-12-24", "2027-12-25"} <= days.keys()


def test_2026_is_the_decree_of_the_three_ministers_day_for_day() -> None:
    table = HolidayCalendar.load()  # SKB No. 1497/2/5 of 2025, as kept by hand before
    assert {h.date for h in table.holidays} == {h.date for h in CALENDAR.days_off(2026)}
    assert {h.source for h in CALENDAR.days_off(2026)} == {"library"}


def test_a_one_day_sla_started_in_the_lebaran_block_ends_after_it() -> None:
    start = datetime(2027, 3, 8, 10, 0, tzinfo=WIB)  # Nyepi, then the Idul Fitri block
    assert working_deadline(start, 1, CALENDAR) == datetime(2027, 3, 17, 16, 0, tzinfo=WIB)


def test_the_dinas_adds_and_cancels_days_off_by_decree() -> None:
    entries = [
        DinasEntry(
            date=date(2027, 3, 16),
            action="libur",
            name="Cuti Bersama Idul Fitri",
            keputusan="SK Gubernur 1/2027",
        ),
        DinasEntry(
            date=date(2027, 3, 15),
            action="masuk",
            name="Cuti bersama dibatalkan",
            keputusan="SK Gubernur 2/2027",
        ),
    ]
    calendar = HolidayCalendar.indonesia([2027], entries)
    added = calendar.holiday_on(date(2027, 3, 16))
    assert added is not None and added.source == "dinas" and "SK Gubernur 1/2027" in added.name
    assert calendar.is_working_day(date(2027, 3, 15))


def test_years_not_yet_decreed_are_named() -> None:
    assert CALENDAR.unconfirmed_years(date(2026, 3, 2), date(2026, 3, 20)) == []
    assert CALENDAR.unconfirmed_years(date(2026, 10, 1), date(2026, 10, 2)) == [2027]
    assert CALENDAR.unconfirmed_years(date(2027, 12, 20), date(2028, 1, 5)) == [2027, 2028]


def test_izin_calendar_json_lists_the_year_as_the_contract_says(capsys, tmp_path) -> None:
    from izin_local.cli import main

    dinas = tmp_path / "dinas.json"
    dinas.write_text(
        '[{"date": "2027-12-31", "action": "libur", "name": "Cuti akhir tahun",'
        ' "keputusan": "SK Gubernur 9/2027"}]'
    )
    assert main(["calendar", "2027", "--json", "--dinas", str(dinas)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["year"] == 2027
    listed = {d["date"]: d for d in printed["days_off"]}
    assert listed["2027-01-05"]["source"] == "library"
    assert listed["2027-03-11"]["source"] == "estimate"
    assert {"2027-12-24", "2027-12-25"} <= listed.keys()
    assert listed["2027-12-31"]["source"] == "dinas"
    assert set(listed["2027-03-10"]) == {"date", "name", "source"}


def test_izin_calendar_refuses_a_bad_dinas_file_in_one_line(capsys, tmp_path) -> None:
    from izin_local.cli import main

    bad = tmp_path / "dinas.json"
    bad.write_text('[{"date": "2027-02-30"}]')
    assert main(["calendar", "2027", "--dinas", str(bad)]) == 2
    assert "dinas.json" in capsys.readouterr().err
