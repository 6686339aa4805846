"""Indonesian spellings of dates, times, money and quantities for the SOP's letters and BAP.

Used wherever a document or notification shows a value to a person: the Surat Tugas
period, the BAP's hari/tanggal, the investment in rupiah, the capacity before and after.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from izin.calendar import to_wib

BULAN = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
HARI = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


def tanggal(d: date) -> str:
    """The date as "26 November 2026"; an aware datetime is first taken to WIB."""
    day = _local_date(d)
    return f"{day.day} {BULAN[day.month - 1]} {day.year}"


def hari_tanggal(d: date) -> str:
    """The date with its weekday, as "Kamis, 26 November 2026"."""
    day = _local_date(d)
    return f"{HARI[day.weekday()]}, {tanggal(day)}"


def tanggal_waktu(dt: datetime) -> str:
    """The moment in WIB as "26 November 2026 pukul 14.30 WIB"; naive is a ValueError."""
    local = to_wib(dt)
    return f"{tanggal(local.date())} pukul {local:%H.%M} WIB"


def rupiah(amount: int | Decimal) -> str:
    """The amount as "Rp1.500.000.000", "-Rp2.500" or, with sen, "Rp1.500,50"."""
    sign, whole, fraction = _parts(amount)
    sen = f",{fraction.ljust(2, '0')}" if fraction else ""
    return f"{sign}Rp{whole}{sen}"


def angka(n: int | Decimal | float) -> str:
    """The number with dots between thousands and a decimal comma, as "1.234,5"."""
    sign, whole, fraction = _parts(n)
    return f"{sign}{whole},{fraction}" if fraction else f"{sign}{whole}"


def kapasitas(jumlah: int | Decimal | float, satuan: str) -> str:
    """A production capacity with its unit, as "60 ton TBS/jam"."""
    if not satuan.strip():
        raise ValueError("a capacity needs a unit (satuan)")
    return f"{angka(jumlah)} {satuan.strip()}"


def _local_date(d: date) -> date:
    return to_wib(d).date() if isinstance(d, datetime) else d


def _parts(n: int | Decimal | float) -> tuple[str, str, str]:
    """Sign, whole part grouped by dots, and fraction digits without trailing zeros."""
    if isinstance(n, bool) or not isinstance(n, int | Decimal | float):
        raise TypeError(f"a number is required, got {type(n).__name__}")
    # str() of a float is its shortest round-trip form, so 0.1 stays 0.1.
    value = Decimal(str(n)) if isinstance(n, float) else Decimal(n)
    if not value.is_finite():
        raise ValueError(f"cannot format {n!r}")
    whole, _, fraction = format(abs(value), "f").partition(".")
    sign = "-" if value < 0 else ""
    return sign, f"{int(whole):,}".replace(",", "."), fraction.rstrip("0")
