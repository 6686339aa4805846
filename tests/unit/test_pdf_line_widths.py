"""fpdf2's line widths kept as running sums (izin.documents.pdf._incremental_line_widths)
and each cell's text broken into lines once per PDF (`_cells_broken_once`): every PDF the
product makes is byte for byte the PDF fpdf2 makes without them, and a line's characters
are measured once, not again for each character placed after them."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fpdf import fpdf as fpdf_module
from fpdf.line_break import CurrentLine
from izin.documents import SEALED_AT_APPROVAL, Jenis, render_pdf
from izin.documents import pdf as documents
from izin.memory_store import MemoryStore

from tests.unit.test_documents import (
    NOW,
    STEPS,
    Desk,
    application,
    longest_application,
    longest_steps,
)

# Seconds of PDFs or of a store's every operation: sent out first (tests/conftest.py).
pytestmark = pytest.mark.lengthy


@dataclass(frozen=True)
class Rendered:
    """One render_pdf call the product made, and the PDF it gave (with the running sums)."""

    jenis: Jenis
    context: dict[str, Any]
    now: datetime
    pdf: bytes


def _sample() -> None:
    """The sample application's six documents, and the two the approval seals."""
    desk = Desk()
    desk.render_all()
    desk.seal()


def _longest() -> None:
    """Every document of a record whose every field is at its longest: runs without a
    space, hard characters, line breaks, table rows split across pages."""
    desk = Desk(MemoryStore.seeded(longest_application(), longest_steps()))
    for jenis in Jenis:
        desk.render(jenis)


def _forty_machines() -> None:
    """Forty machines of four or five lines each: rows moved whole to the next page."""
    mesin = "\n".join(
        f"Mesin {n:02d} "
        + "pengolah tandan buah segar berkapasitas besar " * 5
        + f"akhir{n:02d}, 1 unit, 30 ton"
        for n in range(1, 41)
    )
    Desk(MemoryStore.seeded(application(), {**STEPS, 11: STEPS[11] | {"mesin": mesin}})).render(
        Jenis.BAP
    )


# Documents as test_documents.py renders them, by case: each PDF made is rendered again.
# Every kind, the sealed ones, every field at its longest and rows moved across pages: the
# shapes of line a layout has (a case per variation of content would only cost the suite).
CASES: dict[str, Callable[[], None]] = {
    "sample": _sample,
    "longest": _longest,
    "forty_machines": _forty_machines,
}


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Rendered]]:
    """Each case's render_pdf calls, as the documents' code made them (the running sums on)."""
    # The module, not the package's `versions` (a function of the same name shadows it).
    versions = importlib.import_module("izin.documents.versions")
    made: dict[str, list[Rendered]] = {}
    with pytest.MonkeyPatch.context() as patch:

        def recorded(jenis: Jenis, context: dict[str, Any], *, now: datetime) -> bytes:
            pdf = render_pdf(jenis, context, now=now)
            made[case].append(Rendered(Jenis(jenis), context, now, pdf))
            return pdf

        patch.setattr(versions, "render_pdf", recorded)
        for case, make in CASES.items():
            made[case] = []
            make()
    return made


# Each of render_pdf's shortcuts, and how a test puts fpdf2's own code back in its place:
# the running sums (fpdf2's CurrentLine.width), the cells broken once (fpdf2's
# MultiLineBreak in multi_cell, breaking every cell anew).
FPDF2_OWN: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "line_widths": lambda patch: patch.setattr(
        CurrentLine, "width", documents._incremental_line_widths()
    ),
    "line_breaks": lambda patch: patch.setattr(
        fpdf_module, "MultiLineBreak", documents._cells_broken_once()
    ),
}


def test_the_cases_render_every_kind_of_document_and_the_sealed_ones(
    rendered: dict[str, list[Rendered]],
) -> None:
    assert {r.jenis for r in rendered["sample"]} == set(Jenis)
    assert {r.jenis for r in rendered["longest"]} == set(Jenis)
    sealed = [r.jenis for r in rendered["sample"][len(Jenis) :]]
    assert sealed == list(SEALED_AT_APPROVAL)
    assert all(rendered[case] for case in CASES)
    # Made with the running sums, which render_pdf applied: fpdf2's own width is replaced;
    # and with each cell broken once: fpdf2's own breaker is not multi_cell's.
    assert CurrentLine.__dict__["width"] is not documents._incremental_line_widths()
    assert fpdf_module.MultiLineBreak is not documents._cells_broken_once()


@pytest.mark.parametrize("shortcut", FPDF2_OWN)
@pytest.mark.parametrize("case", CASES)
def test_every_pdf_is_byte_for_byte_the_one_fpdf2_makes(
    rendered: dict[str, list[Rendered]], case: str, shortcut: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same line breaks, same pages, same bytes (the PDFs hold nothing random: the same
    `now` gives the same file, ID and all), with fpdf2's own code in the shortcut's place:
    a line measured afresh, a cell measured for its row and drawn broken anew."""
    FPDF2_OWN[shortcut](monkeypatch)
    for i, made in enumerate(rendered[case]):
        assert render_pdf(made.jenis, made.context, now=made.now) == made.pdf, (case, i, made.jenis)


def test_lines_are_kept_only_while_a_pdf_renders() -> None:
    """Outside render_pdf (fpdf2 used directly, a test's own FPDF) every cell is broken by
    fpdf2 as it is: nothing is kept once a PDF is made, nor after one failed."""
    desk = Desk()
    desk.render(Jenis.NOTA_DINAS)
    assert documents._BROKEN.get() is None

    def broken_off(pdf: Any) -> None:
        assert documents._BROKEN.get(), "the cells' lines are kept while the PDF renders"
        raise RuntimeError("the PDF fails after its text is laid out")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(documents, "_embed_always", broken_off)
        with pytest.raises(RuntimeError, match="fails after"):
            desk.render(Jenis.NOTA_DINAS)
    assert documents._BROKEN.get() is None


def test_text_broken_before_is_broken_again_in_another_style_or_width() -> None:
    """The same words bold, in another size, spaced or narrower break as fpdf2 breaks
    them, not as they broke before."""
    from fpdf import FPDF

    text = "Pemeriksaan lapangan atas perluasan kapasitas terpasang pabrik " * 4

    def lines(pdf: FPDF) -> list[Any]:
        made: list[Any] = []
        for style, size, spacing, width in (
            ("", 11, 0, 77),
            ("B", 11, 0, 77),
            ("", 12, 0, 77),
            ("", 11, 0.8, 77),
            ("", 11, 0, 68),
            ("", 11, 0, 77),
        ):
            pdf.set_font("LiberationSerif", style, size)
            pdf.set_char_spacing(spacing)
            made.append(pdf.multi_cell(width, 5, text, output="LINES", dry_run=True))
        return made

    def document() -> FPDF:
        pdf = FPDF()
        documents._install_fonts(pdf)
        pdf.add_page()
        return pdf

    documents._cells_broken_once()
    expected = lines(document())
    assert len({tuple(made) for made in expected}) == 5  # each layout its own but the last
    kept = documents._BROKEN.set({})
    try:
        assert lines(document()) == expected
    finally:
        documents._BROKEN.reset(kept)


def test_unusual_text_is_measured_as_fpdf2_measures_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the documents do not use yet, and the running sums measure or hand back to
    fpdf2: letter spacing, stretching, sub- and superscripts, soft hyphens, non-breaking
    spaces, styles changing within a line, a core font, breaks within a word."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode

    text = (
        "Verifikasi teknis\u00adperluasan kapasitas\u00a0terpasang "
        "**pabrik kelapa sawit** __di Kabupaten Sanggau__ 60\u00a0ton TBS/jam; " * 6
    )

    def made() -> bytes:
        pdf = FPDF(format="A4", unit="mm")
        documents._install_fonts(pdf)
        pdf.set_creation_date(NOW)
        pdf.add_page()
        pdf.set_font("LiberationSerif", size=12)
        pdf.multi_cell(0, 5, text, markdown=True, align="J")
        pdf.multi_cell(47, 5, "ЖWæ" * 40 + " " + text, wrapmode=WrapMode.CHAR)
        for spacing, stretching in ((0.7, 100), (0, 85), (-0.3, 120)):
            pdf.set_char_spacing(spacing)
            pdf.set_stretching(stretching)
            pdf.multi_cell(90, 5, text, markdown=True)
        pdf.set_char_spacing(0)
        pdf.set_stretching(100)
        pdf.write_html(
            "<p align='justify'>H<sub>2</sub>O dan 10<sup>6</sup> rupiah, "
            + "<b>tebal</b> <i>miring</i> <u>garis</u> " * 30
            + "</p>"
        )
        pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 5, text.replace("\u00ad", "-"), markdown=True, align="J")
        return bytes(pdf.output())

    documents._incremental_line_widths()
    patched = made()
    monkeypatch.setattr(CurrentLine, "width", documents._incremental_line_widths())
    assert made() == patched


def test_a_line_is_as_wide_as_fpdf2_measures_it_after_every_change() -> None:
    """The running sums against fpdf2's own width, character by character: styles and
    letter spacing changing within the line, a soft hyphen, breaks that trim the line back,
    a font changed under a fragment, and what the sums hand back to fpdf2 (a font whose
    widths are not integers, a fragment character of more than one letter)."""
    import copy
    from collections import defaultdict

    from fpdf import FPDF
    from fpdf.enums import Align
    from fpdf.line_break import Fragment

    fpdf2 = documents._incremental_line_widths().fget
    pdf = FPDF()
    documents._install_fonts(pdf)
    pdf.set_font("LiberationSerif", size=11)
    regular = Fragment("", pdf._get_current_graphics_state(), pdf.k)
    pdf.set_font("LiberationSerif", "B", 13)
    pdf.set_char_spacing(0.4)
    bold = Fragment("", pdf._get_current_graphics_state(), pdf.k)
    pdf.set_char_spacing(0)
    pdf.set_stretching(90)
    fractional: Any = copy.copy(pdf.current_font)
    fractional.cw = defaultdict(lambda: 500.5, {c: w + 0.25 for c, w in fractional.cw.items()})
    odd = Fragment("", pdf._get_current_graphics_state(), pdf.k)
    odd.graphics_state.current_font = fractional

    line = CurrentLine(max_width=500)
    assert line.width == fpdf2(line) == 0

    def place(fragment: Fragment, *characters: str) -> None:
        for i, character in enumerate(characters):
            line.add_character(character, 0.0, fragment, 0, i, 5.0)
            assert line.width == fpdf2(line), (line.fragments, character)

    place(regular, *"Berita Acara ")
    place(bold, *"Pemeriksaan\u00adTeknis\u00a0Perluasan")
    place(odd, *"Ωω Жж ")
    place(regular, "ab", "c", *" kapasitas")
    line.automatic_break(Align.J)  # back to the last space
    assert line.width == fpdf2(line)
    place(regular, *"terpasang   ")
    line.trim_trailing_spaces()
    assert line.width == fpdf2(line)
    regular.graphics_state.current_font = bold.font  # the line's clones share the state
    assert line.width == fpdf2(line)
    place(regular, *" ton")
    place(bold, *"\u00adjam")
    line.automatic_break(Align.J)  # back to the soft hyphen, a hyphen drawn
    assert line.width == fpdf2(line)


def test_a_lines_characters_are_measured_once_not_for_each_character_after_them(
    rendered: dict[str, list[Rendered]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """fpdf2 measures the whole line so far for each character it places; render_pdf
    makes it add each character's width once."""
    from fpdf.fonts import TTFFont

    measured = [0]  # characters TTFFont.get_text_width was handed
    get_text_width = TTFFont.get_text_width

    def counting(self: TTFFont, text: str, *args: Any) -> tuple[int, float]:
        measured[0] += len(text)
        return get_text_width(self, text, *args)

    def characters_measured(made: Rendered) -> int:
        measured[0] = 0
        assert render_pdf(made.jenis, made.context, now=made.now) == made.pdf
        return measured[0]

    monkeypatch.setattr(TTFFont, "get_text_width", counting)
    fpdf2 = documents._incremental_line_widths()
    # fpdf2's own width, and render_pdf applying the running sums itself: as in a new
    # process, for the test's length.
    monkeypatch.setattr(CurrentLine, "width", fpdf2)
    fresh = functools.cache(documents._incremental_line_widths.__wrapped__)
    monkeypatch.setattr(documents, "_incremental_line_widths", fresh)
    bap = next(r for r in rendered["sample"] if r.jenis is Jenis.BAP)
    (nota_dinas,) = [r for r in rendered["longest"] if r.jenis is Jenis.NOTA_DINAS]
    with_sums = [characters_measured(bap), characters_measured(nota_dinas)]
    with_sums_applied = CurrentLine.__dict__["width"] is not fpdf2
    monkeypatch.setattr(CurrentLine, "width", fpdf2)
    without = [characters_measured(bap), characters_measured(nota_dinas)]
    # Left with the sums: each character measured alone as it is placed (again after a line
    # broken back at a space), and the text fpdf2 measures as it draws: a few times the
    # characters, where fpdf2 alone measures each about as often as a line has characters.
    assert with_sums[0] * 5 < without[0], (with_sums, without)
    assert with_sums[1] * 5 < without[1], (with_sums, without)
    assert with_sums_applied
