"""Indonesian spellings of the values a letter or BAP shows."""

import calendar as weekdays
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from izin.calendar import WIB
from izin.formats import angka, hari_tanggal, kapasitas, rupiah, tanggal, tanggal_waktu


def test_tanggal() -> None:
    assert tanggal(date(2026, 11, 26)) == "26 November 2026"
    assert tanggal(date(2026, 1, 1)) == "1 Januari 2026"
    assert tanggal(date(2026, 2, 17)) == "17 Februari 2026"
    assert tanggal(date(2026, 8, 17)) == "17 Agustus 2026"


def test_tanggal_of_a_datetime_is_its_wib_date() -> None:
    late_utc = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)  # 01.00 WIB on the 27th
    assert tanggal(late_utc) == "27 November 2026"


@pytest.mark.parametrize(
    ("day", "weekday", "expected"),
    [
        (date(2026, 11, 23), weekdays.MONDAY, "Senin, 23 November 2026"),
        (date(2026, 11, 24), weekdays.TUESDAY, "Selasa, 24 November 2026"),
        (date(2026, 11, 25), weekdays.WEDNESDAY, "Rabu, 25 November 2026"),
        (date(2026, 11, 26), weekdays.THURSDAY, "Kamis, 26 November 2026"),
        (date(2026, 11, 27), weekdays.FRIDAY, "Jumat, 27 November 2026"),
        (date(2026, 11, 28), weekdays.SATURDAY, "Sabtu, 28 November 2026"),
        (date(2026, 11, 29), weekdays.SUNDAY, "Minggu, 29 November 2026"),
        (date(2026, 3, 19), weekdays.THURSDAY, "Kamis, 19 Maret 2026"),
        (date(2026, 5, 1), weekdays.FRIDAY, "Jumat, 1 Mei 2026"),
    ],
)
def test_hari_tanggal(day: date, weekday: int, expected: str) -> None:
    assert day.weekday() == weekday
    assert hari_tanggal(day) == expected


def test_tanggal_waktu_in_wib() -> None:
    assert tanggal_waktu(datetime(2026, 11, 26, 14, 30, tzinfo=WIB)) == (
        "26 November 2026 pukul 14.30 WIB"
    )
    assert tanggal_waktu(datetime(2026, 11, 26, 7, 30, tzinfo=UTC)) == (
        "26 November 2026 pukul 14.30 WIB"
    )
    wita = timezone(timedelta(hours=8))
    assert tanggal_waktu(datetime(2026, 6, 1, 8, 5, tzinfo=wita)) == "1 Juni 2026 pukul 07.05 WIB"


def test_tanggal_waktu_rejects_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        tanggal_waktu(datetime(2026, 11, 26, 14, 30))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (1_500_000_000, "Rp1.500.000.000"),
        (Decimal("1500000000"), "Rp1.500.000.000"),
        (Decimal("1500000000.00"), "Rp1.500.000.000"),
        (750_000, "Rp750.000"),
        (999, "Rp999"),
        (1000, "Rp1.000"),
        (0, "Rp0"),
        (-2_500_000, "-Rp2.500.000"),
        (Decimal("1500.5"), "Rp1.500,50"),
        (Decimal("-1234567.25"), "-Rp1.234.567,25"),
        (Decimal("0.125"), "Rp0,125"),
        (Decimal("-0.00"), "Rp0"),
    ],
)
def test_rupiah(amount: int | Decimal, expected: str) -> None:
    assert rupiah(amount) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (Decimal("1234.5"), "1.234,5"),
        (1234.5, "1.234,5"),
        (Decimal("1234.50"), "1.234,5"),
        (1_000_000, "1.000.000"),
        (60, "60"),
        (Decimal("60.00"), "60"),
        (0.1, "0,1"),
        (-1234.5, "-1.234,5"),
        (Decimal("1E+3"), "1.000"),
        (Decimal("33.33"), "33,33"),
    ],
)
def test_angka(n: int | Decimal | float, expected: str) -> None:
    assert angka(n) == expected


def test_angka_rejects_what_is_not_a_number() -> None:
    with pytest.raises(TypeError):
        angka(True)
    with pytest.raises(TypeError):
        angka("1000")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot format"):
        angka(Decimal("NaN"))


def test_kapasitas() -> None:
    assert kapasitas(60, "ton TBS/jam") == "60 ton TBS/jam"
    assert kapasitas(Decimal("90.0"), "ton TBS/jam") == "90 ton TBS/jam"
    assert kapasitas(Decimal("172800"), "ton CPO/tahun") == "172.800 ton CPO/tahun"
    assert kapasitas(Decimal("2.5"), "ton karet remah/jam") == "2,5 ton karet remah/jam"


def test_kapasitas_needs_a_unit() -> None:
    with pytest.raises(ValueError, match="satuan"):
        kapasitas(60, " ")
