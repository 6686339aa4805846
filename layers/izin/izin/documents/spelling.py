"""The Indonesian spellings the documents need: NIP and NPWP as printed, numbers and
dates in words (terbilang), titles in capitals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from izin.calendar import to_wib
from izin.formats import BULAN, HARI

# -- Indonesian spellings the documents need ----------------------------------------------


def nip_tampil(nip: str) -> str:
    """A NIP as printed under a signature: "19880320 201212 1 002"."""
    if len(nip) != 18 or not nip.isdigit():
        return nip
    return f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}"


def npwp_tampil(npwp: str) -> str:
    """An NPWP as printed: 15 digits as "01.234.567.8-901.000"; the 16-digit form as is."""
    if len(npwp) != 15 or not npwp.isdigit():
        return npwp
    d = npwp
    return f"{d[:2]}.{d[2:5]}.{d[5:8]}.{d[8]}-{d[9:12]}.{d[12:]}"


_SATUAN_ANGKA = (
    "nol",
    "satu",
    "dua",
    "tiga",
    "empat",
    "lima",
    "enam",
    "tujuh",
    "delapan",
    "sembilan",
    "sepuluh",
    "sebelas",
)
_RIBUAN = ((1_000_000_000, "miliar"), (1_000_000, "juta"), (1_000, "ribu"))


def terbilang(n: int) -> str:
    """A whole number in Indonesian words: 2026 -> "dua ribu dua puluh enam"."""
    if n < 0:
        return "minus " + terbilang(-n)
    if n < 12:
        return _SATUAN_ANGKA[n]
    if n < 20:
        return f"{_SATUAN_ANGKA[n - 10]} belas"
    if n < 100:
        puluh, sisa = divmod(n, 10)
        return f"{_SATUAN_ANGKA[puluh]} puluh" + (f" {_SATUAN_ANGKA[sisa]}" if sisa else "")
    if n < 1000:
        ratus, sisa = divmod(n, 100)
        head = "seratus" if ratus == 1 else f"{_SATUAN_ANGKA[ratus]} ratus"
        return head + (f" {terbilang(sisa)}" if sisa else "")
    for nilai, nama in _RIBUAN:
        if n >= nilai:
            depan, sisa = divmod(n, nilai)
            head = "seribu" if nilai == 1000 and depan == 1 else f"{terbilang(depan)} {nama}"
            return head + (f" {terbilang(sisa)}" if sisa else "")
    raise AssertionError(n)  # unreachable: every n >= 1000 has a group above


def terbilang_kecil(n: int) -> str:
    """A count with its words, as a lampiran says it: "1 (satu)"."""
    return f"{n} ({terbilang(n)})"


def tanggal_terbilang(d: date) -> str:
    """A date as a berita acara spells it: "Rabu tanggal dua bulan Desember tahun dua ribu ..."."""
    return (
        f"{HARI[d.weekday()]} tanggal {terbilang(d.day)} bulan {BULAN[d.month - 1]} "
        f"tahun {terbilang(d.year)}"
    )


_KATA_KECIL = frozenset({"dan", "di", "ke", "dari", "untuk"})


def judul_kapital(text: str) -> str:
    """An upper-case name as a title: "DINAS ... DAN PERDAGANGAN" -> "Dinas ... dan Perdagangan"."""
    words = text.lower().split()
    return " ".join(
        w if i and w in _KATA_KECIL else w[:1].upper() + w[1:] for i, w in enumerate(words)
    )


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return to_wib(value).date()
    if isinstance(value, date):
        return value
    text = str(value)
    if "T" in text:
        return to_wib(datetime.fromisoformat(text)).date()
    return date.fromisoformat(text)


def _number(value: Any) -> float | int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    number = float(str(value).replace(",", "."))
    return int(number) if number.is_integer() else number
