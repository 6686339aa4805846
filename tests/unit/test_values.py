"""izin.values: the bounds every door applies, and the character list behind them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from izin import values
from izin.values import ValueRefused

ROOT = Path(__file__).resolve().parents[2]


def _build_characters() -> Any:
    spec = importlib.util.spec_from_file_location(
        "build_characters", ROOT / "scripts" / "build_characters.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_character_list_is_the_fonts() -> None:
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_characters.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_allowed_character_is_drawn_by_each_face_of_the_font() -> None:
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    faces = sorted((ROOT / "layers" / "izin" / "izin" / "data" / "fonts").glob("*.ttf"))
    assert len(faces) == 4
    allowed = _build_characters().allowed()
    for face in faces:
        assert set(allowed) <= set(TTFont(face).getBestCmap()), face.name
    for point in allowed:
        assert values.drawable(chr(point))


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("PT Maju Jaya", "PT Maju Jaya"),
        ("Sawit Kalbar Œuvre — «Ñandú» €1.000", "Sawit Kalbar Œuvre — «Ñandú» €1.000"),
        ("Cafe\u0301", "Café"),  # NFC: one code point, as the font draws it
        ("a\tb", "a b"),
    ],
)
def test_text_is_stored_normalized(written: str, stored: str) -> None:
    assert values.text(written) == stored


def test_a_multi_line_field_keeps_its_lines_as_lf() -> None:
    assert values.text("satu\r\ndua\rtiga\nempat", multiline=True) == "satu\ndua\ntiga\nempat"


@pytest.mark.parametrize(
    "written",
    [
        "PT Maju\nJaya",  # a header injection in an email subject
        "PT Maju\rJaya",
        "PT \u202eayaJ ujaM",  # RIGHT-TO-LEFT OVERRIDE: the page shows what the record does not
        "PT \u2066Maju\u2069",
        "zero\u200bwidth",
        "soft\u00adhyphen",
        "PT Maju 😀",
        "工业",
        "شركة",
        "חברה",  # the font draws Hebrew, but the documents are laid out left to right
        "bell\x07",
        "nul\x00",
        "\ue000private",
    ],
)
def test_text_refuses_what_a_document_cannot_show_as_written(written: str) -> None:
    with pytest.raises(ValueRefused) as refused:
        values.text(written)
    assert refused.value.english and refused.value.indonesian


def test_a_refusal_names_the_character() -> None:
    with pytest.raises(ValueRefused, match="U\\+202E RIGHT-TO-LEFT OVERRIDE"):
        values.text("PT \u202eX")


@given(st.text())
def test_text_either_refuses_or_returns_what_every_face_draws(written: str) -> None:
    try:
        stored = values.text(written, multiline=True)
    except ValueRefused:
        return
    assert unicodedata.is_normalized("NFC", stored)
    assert all(char == "\n" or values.drawable(char) for char in stored)


@pytest.mark.parametrize(
    ("given_", "expected"),
    [(0, 0), ("60", 60), (60.5, 60.5), ("0.000001", 1e-06), (10**12, 10**12), ("1e3", 1000)],
)
def test_quantities_within_bounds(given_: object, expected: float) -> None:
    assert values.quantity(given_) == expected


@pytest.mark.parametrize(
    "given_",
    [-1, 10**12 + 1, 1e40, 1e200, 1e-200, "0.0000001", float("inf"), float("nan"), "x", True],
)
def test_quantities_out_of_bounds_are_refused(given_: object) -> None:
    with pytest.raises(ValueRefused):
        values.quantity(given_)


@pytest.mark.parametrize("given_", [1.5, "0.1", -3, 10**9 + 1, float("nan"), False])
def test_counts_are_whole_and_bounded(given_: object) -> None:
    with pytest.raises(ValueRefused):
        values.count(given_)
    assert values.count("12") == 12 and values.count(12.0) == 12


def test_rupiah_are_whole_up_to_a_quintillion() -> None:
    assert values.rupiah(10**18) == 10**18
    for given_ in (10**18 + 1, 10**40, 1.5):
        with pytest.raises(ValueRefused):
            values.rupiah(given_)


@pytest.mark.parametrize("given_", ["2026-W49-2", "2026-335", "20261201", "2026-02-30", "2026-1-1"])
def test_dates_are_calendar_dates_written_in_full(given_: str) -> None:
    with pytest.raises(ValueRefused):
        values.calendar_date(given_)
    assert values.calendar_date("2026-12-01") == "2026-12-01"
