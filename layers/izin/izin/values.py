"""What a value may be, once, for every door that takes one: the webhook models and the
step forms. A value outside these bounds is refused where it enters, naming the field,
never accepted and failed later (in a document, an email header, a key, DynamoDB).

- Text is NFC, tabs become spaces; it holds no control character (a newline only in a
  multi-line field), no bidi control or other format character, no right-to-left letter
  (the documents are laid out left to right), and only characters the documents' font
  draws: what the record says, the signed PDF says.
- Quantities are finite, 0 … 10^12, with at most 6 decimals (DynamoDB keeps 38 digits).
- Counts (workers, say) are whole numbers 0 … 10^9; rupiah are whole, 0 … 10^18.
- Dates are calendar dates written YYYY-MM-DD (not week or ordinal dates).

Each refusal says why in English (for OSS and SIINAS developers) and in Indonesian (for
the officers' forms).
"""

from __future__ import annotations

import bisect
import functools
import json
import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

MAX_QUANTITY = 10**12
MAX_DECIMALS = 6
MAX_COUNT = 10**9
MAX_RUPIAH = 10**18
# The characters the documents' font draws, less those refused above (izin/data/
# characters.json, written by scripts/build_characters.py from the fonts).
CHARACTERS_FILE = "data/characters.json"

# OSS's permit id (izin.models.IdIzin): ASCII letters, digits, "_", "-" and "." (no "/": it
# is a path segment of links and keys), at most ID_IZIN_LENGTH characters.
ID_IZIN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
ID_IZIN_LENGTH = 64
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ValueRefused(ValueError):
    """A value outside its field's bounds; `english` and `indonesian` say why."""

    def __init__(self, english: str, indonesian: str) -> None:
        super().__init__(english)
        self.english = english
        self.indonesian = indonesian


@functools.cache
def _ranges() -> tuple[list[int], list[int]]:
    text = resources.files("izin").joinpath(CHARACTERS_FILE).read_text(encoding="utf-8")
    pairs = json.loads(text)["ranges"]
    return [start for start, _ in pairs], [end for _, end in pairs]


def drawable_characters() -> list[str]:
    """Every character a text field may hold (newline aside), in code point order."""
    starts, ends = _ranges()
    return [
        chr(p) for first, last in zip(starts, ends, strict=True) for p in range(first, last + 1)
    ]


def drawable(char: str) -> bool:
    """Whether a character may stand in a text field (newline aside)."""
    starts, ends = _ranges()
    point = ord(char)
    at = bisect.bisect_right(starts, point) - 1
    return at >= 0 and point <= ends[at]


def _named(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}"


def text(value: str, *, multiline: bool = False) -> str:
    """The text as stored (NFC, lines ending LF), or ValueRefused naming the character."""
    normalized = unicodedata.normalize("NFC", value).replace("\t", " ")
    if multiline:
        normalized = normalized.replace("\r\n", "\n").replace("\r", "\n")
    for char in normalized:
        if char == "\n":
            if multiline:
                continue
            raise ValueRefused(
                "must be a single line (no line break)", "Harus satu baris (tanpa ganti baris)."
            )
        if not drawable(char):
            raise ValueRefused(
                f"contains {_named(char)}, which a document cannot show as written "
                "(control, format or right-to-left character, or one the font lacks)",
                f"Memuat karakter {_named(char)} yang tidak dapat dicetak pada dokumen.",
            )
    return normalized


def _finite(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueRefused("must be a number", "Harus berupa angka.")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueRefused("must be a number", "Harus berupa angka.") from None
    if not number.is_finite():
        raise ValueRefused("must be a finite number", "Harus berupa angka biasa.")
    if number < 0:
        raise ValueRefused("must not be negative", "Tidak boleh negatif.")
    return number


def quantity(value: Any) -> int | float:
    """A measured amount (a capacity): finite, 0 … 10^12, at most 6 decimals."""
    number = _finite(value)
    if number > MAX_QUANTITY:
        raise ValueRefused(
            f"must be at most {MAX_QUANTITY:.0e}",
            f"Paling besar {MAX_QUANTITY:,}.".replace(",", "."),
        )
    if number != number.quantize(Decimal(1).scaleb(-MAX_DECIMALS), rounding="ROUND_DOWN"):
        raise ValueRefused(
            f"must have at most {MAX_DECIMALS} decimals",
            f"Paling banyak {MAX_DECIMALS} angka di belakang koma.",
        )
    return int(number) if number == number.to_integral_value() else float(number)


def _whole(value: Any, limit: int, what: str) -> int:
    number = _finite(value)
    if number != number.to_integral_value():
        raise ValueRefused(f"must be a whole number of {what}", "Harus bilangan bulat.")
    if number > limit:
        raise ValueRefused(
            f"must be at most {limit:.0e}", f"Paling besar {limit:,}.".replace(",", ".")
        )
    return int(number)


def count(value: Any) -> int:
    """A number of things (workers, machines): whole, 0 … 10^9."""
    return _whole(value, MAX_COUNT, "things counted")


def rupiah(value: Any) -> int:
    """An amount of money: whole rupiah, 0 … 10^18."""
    return _whole(value, MAX_RUPIAH, "rupiah")


def is_id_izin(text: str) -> bool:
    """Whether `text` could be an application's id (what a link names is read only then)."""
    return 0 < len(text) <= ID_IZIN_LENGTH and re.fullmatch(ID_IZIN_PATTERN, text) is not None


def calendar_date(value: str) -> str:
    """A calendar date written YYYY-MM-DD, as stored; ValueRefused otherwise."""
    try:
        if _DATE.match(value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise ValueRefused(
        "must be a calendar date written YYYY-MM-DD",
        "Tanggal tidak valid (format TTTT-BB-HH).",
    )
