"""Rendering a document: its HTML from the templates, its A4 PDF laid out by fpdf2 (the
fonts parsed once per process, their usual subsets shipped), the QR code of its verify link.
Pure: no store, no S3.

A table row is kept whole: one that does not fit the room left on its page starts the
next. Content never stops a document: only a row taller than a whole page is split into
rows that fill the page and go on on the next, under the repeated heading (as a word
processor breaks a row), so a field at its longest length still lays out.
"""

from __future__ import annotations

import base64
import contextvars
import functools
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import jinja2
import markupsafe

from izin.documents.model import (
    FONT_FACES,
    FONTS,
    LONG_CELL,
    TABLE_GAP_MM,
    TEMPLATES,
    Jenis,
)
from izin.template_cache import SourceCheckedCache

# A line break of a multi-line field in the PDF's markup, which collapses whitespace: a
# private-use character, which no field may hold (the font has no glyph for it).
LINE_BREAK = "\ue000"
# Lines of a split row kept together at the foot of a page and at the head of the next.
ORPHAN_LINES = 2
# The lambang daerah's height in the kop (mm), and the gap between it and the kop's text.
LAMBANG_MM = 20.0
LAMBANG_GAP_MM = 3.0

# -- rendering (pure) ------------------------------------------------------------------


@functools.cache
def environment() -> jinja2.Environment:
    """The documents' jinja2 environment: autoescaped, and a missing value is an error."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=SourceCheckedCache(),
    )
    env.filters["multiline"] = _multiline
    env.tests["long_text"] = _long_text
    return env


@jinja2.pass_context
def _multiline(context: jinja2.runtime.Context, text: Any) -> markupsafe.Markup:
    """A multi-line field with its line breaks kept: <br> in HTML, LINE_BREAK in the PDF."""
    lines = str(text).splitlines() or [""]
    joint = markupsafe.escape(LINE_BREAK) if context.get("pdf") else markupsafe.Markup("<br>")
    return joint.join(lines)  # Markup.join escapes each line


def _long_text(text: Any) -> bool:
    """Too long, or of several lines, for a narrow table cell: written out below the table."""
    value = str(text)
    return len(value) > LONG_CELL or "\n" in value


def render_html(jenis: Jenis | str, context: Mapping[str, Any]) -> str:
    """The document as print-ready A4 HTML."""
    return environment().get_template(f"{Jenis(jenis).value}.html.j2").render(context)


@functools.cache
def _pdf_class() -> Any:
    """fpdf2's FPDF, reading HTML with the one fix the documents need; imported on first use."""
    from fpdf import FPDF
    from fpdf.enums import VAlign
    from fpdf.html import HTML2FPDF

    class Html(HTML2FPDF):
        TABLE_LINE_HEIGHT = 1.2  # fpdf2: 1.3, looser than the text around the tables
        _table_gap = False  # while fpdf2 opens or closes a table

        _kop_bottom = 0.0  # where the lambang ends, while the kop's text is beside it

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "hr":
                self._rule(double=("class", "kop") in attrs)
                return
            if tag == "img" and ("class", "lambang") in attrs:
                self._lambang(str(dict(attrs).get("src") or ""))
                return
            if tag == "div":  # only a keep-together mark (the templates' `tetap`)
                self._keep_together(float(dict(attrs).get("data-keep") or 0))
                return
            if tag == "u" and self.td_th is not None:
                self.td_th["U"] = True  # fpdf2 2.8 notes <u> in a cell, then reads "U"
            if tag != "table":
                super().handle_starttag(tag, attrs)
                return
            # fpdf2 2.8 starts a table in the style the paragraph before it ended with:
            # after a bold "MENUGASKAN:", a whole team table came out bold.
            self.pdf.set_font(style="")
            self._keep_together(float(dict(attrs).get("data-keep") or 0))
            self._table_gap = True
            super().handle_starttag(tag, attrs)
            self._table_gap = False
            # fpdf2 queues the space before a table and draws it after the table, with the
            # space after it: drawn now, the table no longer touches the text above it.
            self._column.render()
            if self.table is not None:
                # A cell's text starts at the top of its row, as on paper (fpdf2: middle).
                self.table._v_align = VAlign.T

        def handle_endtag(self, tag: str) -> None:
            if tag == "div":
                return
            if tag == "table" and self.table is not None:
                _fit_rows(self.table, self.pdf)
            self._table_gap = tag == "table"
            super().handle_endtag(tag)
            self._table_gap = False

        def handle_data(self, data: str) -> None:
            if LINE_BREAK not in data:
                super().handle_data(data)
            elif self.td_th is not None:  # a cell's text keeps its line breaks
                super().handle_data(data.replace(LINE_BREAK, "\n"))
            else:
                first, *rest = data.split(LINE_BREAK)
                super().handle_data(first)
                for line in rest:
                    self.handle_starttag("br", [])
                    if line:
                        super().handle_data(line)

        def _ln(self, h: float | None = None) -> None:
            # Around a table, a small gap rather than a blank line of text.
            super()._ln(TABLE_GAP_MM if self._table_gap else h)

        def _keep_together(self, height: float) -> None:
            """A new page unless `height` mm fit on this one (a signature block, say)."""
            self._end_paragraph()
            self._column.render()
            if height and self.pdf.y + height > self.pdf.page_break_trigger:
                # As fpdf2 breaks a page itself inside write_html's local context.
                self.pdf._perform_page_break()

        def _lambang(self, src: str) -> None:
            """The lambang at the kop's left; the kop's text centred in the room beside it,
            until the kop's rule."""
            self._end_paragraph()
            self._column.render()
            pdf = self.pdf
            info = pdf.image(src, x=pdf.l_margin, y=pdf.y, h=LAMBANG_MM)
            inset = float(info.rendered_width) + LAMBANG_GAP_MM
            self._kop_bottom = pdf.y + LAMBANG_MM
            self._column = pdf.text_columns(
                skip_leading_spaces=True,
                l_margin=pdf.l_margin + inset,
            )
            pdf.set_y(pdf.y + 1)

        def _rule(self, *, double: bool) -> None:
            """A rule the page's width, close to the text (fpdf2 adds a blank line after
            its own); the kop surat's is a thick line over a thin one, under the lambang."""
            self._end_paragraph()
            if self._kop_bottom:
                self._column.render()
                self._column = self.pdf.text_columns(skip_leading_spaces=True)
                self.pdf.set_y(max(self.pdf.y, self._kop_bottom))
                self._kop_bottom = 0.0
            pdf, y = self.pdf, self.pdf.y + 1
            with pdf.local_context():
                pdf.set_line_width(0.8 if double else 0.2)
                pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
                if double:
                    pdf.set_line_width(0.2)
                    pdf.line(pdf.l_margin, y + 1.1, pdf.w - pdf.r_margin, y + 1.1)
            pdf.set_y(y + (2 if double else 0.5))

    class Pdf(FPDF):
        HTML2FPDF_CLASS = Html

    return Pdf


def _fit_rows(table: Any, pdf: Any) -> None:
    """Split each row of a table about to be drawn that is taller than a page into one
    that fills the page and one that goes on on the next, under the repeated heading; a row
    that fits on a page moves to the next page whole, as fpdf2 moves any row.

    fpdf2 draws a row on one page or raises "row ... too high": this walks the rows as its
    Table.render will, with its own measures (row heights, the lines of each cell).
    """
    from fpdf.enums import TableHeadingsDisplay

    rows = table.rows
    if not rows:
        return
    # What Table.render sets first, and the measures below read.
    table._cols_count = max(row.cols_count for row in rows)
    width = table._width
    if width is None:
        table._width = pdf.epw
    try:
        infos = list(table._compute_rows_info())
        headed = table._num_heading_rows
        heading = sum(info.height for info in infos[:headed])
        repeated = table._repeat_headings is TableHeadingsDisplay.ON_TOP_OF_EVERY_PAGE
        top = pdf.t_margin + (heading if repeated else 0)  # a body row's y on a new page
        bottom = pdf.page_break_trigger - 0.01  # a little short of fpdf2's own test
        line = table._line_height
        y = pdf.y + heading
        fitted = list(rows[:headed])
        for i in range(headed, len(rows)):
            row, height = rows[i], infos[i].height
            cells: list[list[str]] | None = None
            while y + height > bottom:
                if top + height <= bottom:
                    break  # it fits on a page: whole on the next one, never split
                if cells is None:
                    cells = _cell_lines(table, pdf, i, row)
                if cells is None:  # not text alone: fpdf2 moves it whole (or raises)
                    break
                padding = height - line * max(len(lines) for lines in cells)
                total = max(len(lines) for lines in cells)
                fit = min(int((bottom - y - padding) // line), total - ORPHAN_LINES)
                if fit < ORPHAN_LINES:
                    if y == top or top + height <= bottom:
                        break  # whole on the next page; from its top, nothing better fits
                    y = top  # fpdf2 will break the page before this row
                    continue
                fitted.append(_row_of(row, [lines[:fit] for lines in cells]))
                cells = [lines[fit:] for lines in cells]
                row = _row_of(row, cells)
                height = padding + line * max(len(lines) for lines in cells)
                y = top
            if y + height > bottom:
                y = top
            fitted.append(row)
            y += height + table._gutter_height
        if len(fitted) == len(rows):
            # Nothing split: Table.render would measure the same rows again (a quarter of a
            # PDF's CPU); it gets these measures instead.
            table._compute_rows_info = lambda: iter(infos)
        table.rows = fitted
    finally:
        table._width = width


def _cell_lines(table: Any, pdf: Any, i: int, row: Any) -> list[list[str]] | None:
    """The lines of text of each of a row's cells as fpdf2 wraps them, or None for a row
    holding more than one-column text cells (an image, a span), which is not split."""
    from fpdf.enums import MethodReturnValue
    from fpdf.fonts import FontFace
    from fpdf.table import Cell, Padding

    cells = []
    for j, cell in enumerate(row.cells):
        if not isinstance(cell, Cell) or cell.img or cell.colspan != 1 or cell.rowspan != 1:
            return None
        style = FontFace.combine(FontFace.combine(table._initial_style, row.style), cell.style)
        with pdf.use_font_face(style):
            lines = pdf.multi_cell(
                w=table._get_col_width(i, j),
                h=table._line_height,
                text=cell.text,
                max_line_height=table._line_height,
                align=cell.align or table._text_align,
                wrapmode=table._wrapmode,
                padding=Padding.new(cell.padding) if cell.padding else table._padding,
                dry_run=True,
                output=MethodReturnValue.LINES,
            )
        cells.append(list(lines) if cell.text else [])
    return cells


def _row_of(row: Any, cells: list[list[str]]) -> Any:
    """A copy of a row whose cells hold these lines."""
    import copy
    import dataclasses

    part = copy.copy(row)
    part.cells = [
        dataclasses.replace(cell, text="\n".join(lines))
        for cell, lines in zip(row.cells, cells, strict=True)
    ]
    return part


# Characters each face a document uses embeds whether or not the document has them (ASCII,
# the templates' own, the typographic quotes and dashes a pasted text brings): a PDF's
# fonts are then the same few subsets (shipped, SHIPPED_SUBSETS), not a subset of each face
# for each PDF (half a PDF's CPU), for about 20 KB more a PDF. A document with a character
# beyond these gets a subset of its own, as fpdf2 would make it.
EMBEDDED_ALWAYS = "".join(map(chr, range(0x20, 0x7F))) + "§°²³·×‘’“”–—…•€"
# Glyph sets subset per face and container (beyond these, one is made and not kept).
SUBSETS_KEPT = 8
# The subsets the documents make of each face (EMBEDDED_ALWAYS, and a face set only in
# spaces), made by scripts/build_font_subsets.py as the output makes them and shipped: a
# container's first PDF takes them instead of subsetting each face (about 35 ms a face).
SHIPPED_SUBSETS = FONTS / "subsets"
SUBSETS_INDEX = "index.json"


@functools.cache
def _parsed_fonts() -> dict[str, tuple[Any, _Subsets]]:
    """The four faces as fpdf2 parsed them, and their subsets, once per process."""
    from fpdf import FPDF

    pdf = FPDF()
    subsets = {}
    for style, face in FONT_FACES.items():
        path = FONTS / f"LiberationSerif-{face}.ttf"
        pdf.add_font("LiberationSerif", style, str(path))
        subsets[f"liberationserif{style}"] = _Subsets(face, path.read_bytes())
    return {key: (font, subsets[key]) for key, font in pdf.fonts.items()}


@functools.cache
def _shipped_subsets() -> dict[str, Any]:
    """The index of SHIPPED_SUBSETS, by face (empty when there is none)."""
    import json

    index = SHIPPED_SUBSETS / SUBSETS_INDEX
    if not index.is_file():
        return {}
    faces: dict[str, Any] = json.loads(index.read_text(encoding="utf-8"))["faces"]
    return faces


def _install_fonts(pdf: Any) -> None:
    """Give a new PDF the faces without parsing the TTF files again (fpdf2's add_font does,
    about 30 ms a face): a copy of each parsed font sharing its widths and glyph map (which
    nothing changes after parsing), with a subset map, a descriptor and a font file of its
    own, since the output rewrites each of those in place and PDFs are made in parallel."""
    import copy

    from fpdf.fonts import SubsetMap

    _subset_through_cache()
    for key, (parsed, subsets) in _parsed_fonts().items():
        font = copy.copy(parsed)
        font.ttfont = _FontFile(subsets)
        font.subset = SubsetMap(font)
        font.missing_glyphs = []
        # The output numbers the font's descriptor and hangs the embedded file on it.
        font.desc = copy.copy(parsed.desc)
        font.i = len(pdf.fonts) + 1
        pdf.fonts[key] = font


def _embed_always(pdf: Any) -> None:
    """Each face the document uses, widened to EMBEDDED_ALWAYS (see there)."""
    reserved = 2  # fpdf2's .notdef and space, in every subset map
    for font in pdf.fonts.values():
        if len(font.subset) > reserved:
            for character in EMBEDDED_ALWAYS:
                font.subset.pick(ord(character))


class _Subsets:
    """A face's TrueType file and its subsets as fontTools makes them, by glyph set: what
    fpdf2's output embeds (the font's bytes) and reads (the glyph ids in the subset)."""

    def __init__(self, face: str, data: bytes) -> None:
        import hashlib
        import threading

        self.face, self.data = face, data
        self._made: dict[frozenset[str], tuple[bytes, dict[str, int]]] = {}
        self._lock = threading.Lock()
        shipped = _shipped_subsets().get(face)
        if shipped and shipped["sha256"] == hashlib.sha256(data).hexdigest():
            for entry in shipped["subsets"]:
                made = ((SHIPPED_SUBSETS / entry["file"]).read_bytes(), dict(entry["ids"]))
                self._made[frozenset(entry["glyphs"])] = made

    def subset(self, glyphs: frozenset[str], options: Any) -> tuple[bytes, dict[str, int]]:
        with self._lock:
            made = self._made.get(glyphs)
        if made is None:
            made = self._make(glyphs, options)
            with self._lock:
                if len(self._made) < SUBSETS_KEPT:
                    self._made[glyphs] = made
        return made

    def _make(self, glyphs: frozenset[str], options: Any) -> tuple[bytes, dict[str, int]]:
        import io

        from fontTools import subset, ttLib  # type: ignore[import-untyped]

        font = ttLib.TTFont(io.BytesIO(self.data), recalcTimestamp=False, lazy=True)
        subsetter = subset.Subsetter(options)
        subsetter.populate(glyphs=sorted(glyphs))
        subsetter.subset(font)
        output = io.BytesIO()
        font.save(output)
        return output.getvalue(), {name: font.getGlyphID(name) for name in font.getGlyphOrder()}


class _FontFile:
    """A PDF's fontTools font of one face, as fpdf2's output uses it: subset (by the
    stand-in subsetter below), asked its glyph ids, saved."""

    def __init__(self, subsets: _Subsets) -> None:
        self._subsets = subsets
        self._subset: tuple[bytes, dict[str, int]] | None = None

    def subset_to(self, glyphs: frozenset[str], options: Any) -> None:
        self._subset = self._subsets.subset(glyphs, options)

    def getGlyphID(self, name: str) -> int:  # fontTools' name
        assert self._subset is not None, "subset before output"
        return self._subset[1][name]

    def save(self, output: Any) -> None:
        assert self._subset is not None, "subset before output"
        output.write(self._subset[0])

    def __contains__(self, tag: str) -> bool:
        return False  # no CFF table: these faces are TrueType

    def close(self) -> None:
        self._subset = None


@functools.cache
def _subset_through_cache() -> None:
    """fpdf2's output subsets each font with fontTools.subset: for a _FontFile, through its
    face's subsets; any other font exactly as before."""
    import types

    from fontTools import subset
    from fpdf import output

    class Subsetter(subset.Subsetter):
        def populate(self, *, glyphs: Any = (), **rest: Any) -> None:
            self._glyphs = frozenset(glyphs)
            super().populate(glyphs=glyphs, **rest)

        def subset(self, font: Any) -> None:
            if isinstance(font, _FontFile):
                font.subset_to(self._glyphs, self.options)
            else:
                super().subset(font)

    # fontTools.subset, as fpdf2's output names it and uses it.
    output.ftsubset = types.SimpleNamespace(Options=subset.Options, Subsetter=Subsetter)


@functools.cache
def _incremental_line_widths() -> Any:
    """fpdf2's line breaker measures the line so far again for every character it places
    (CurrentLine.width joins each fragment of the line and sums its glyphs' widths anew):
    quadratic in a line's length, a tenth of a document's CPU, a fifth of one with long
    fields. From now on, a line keeps for each of its fragments the sum of the widths
    measured so far and adds only the characters appended since (fpdf2 only appends to a
    fragment, or replaces its list when it trims it, which measures it again). The widths
    are integers, so the sum is the one fpdf2 makes, and the same expression scales it: the
    same float, the same line breaks, the same PDF. A fragment fpdf2 measures otherwise
    (text shaping, a core or symbol font, a width that is not an integer, a Fragment
    subclass) is measured by fpdf2, as before.

    Returns fpdf2's own CurrentLine.width, for a test to render without this."""
    from fpdf.enums import CharVPos
    from fpdf.fonts import TTFFont
    from fpdf.line_break import CurrentLine, Fragment

    original = CurrentLine.__dict__["width"]

    def fragment_width(fragment: Any, sums: dict[int, Any], *, initial_cs: bool) -> float:
        """fragment.get_width(initial_cs=initial_cs), from the sum of its characters' widths
        kept in `sums` (by fragment) and the widths of the characters appended since."""
        state = fragment.graphics_state  # what Fragment's properties read
        font = state.current_font
        if (
            type(fragment) is not Fragment
            or type(font) is not TTFFont
            or font.is_symbol
            or state.text_shaping
        ):
            return fragment.get_width(initial_cs=initial_cs)
        characters = fragment.characters
        count = len(characters)
        # The fragment (kept alive, so that its id stays its own), the list summed, its
        # font, how many of its characters, the sum of their widths.
        kept = sums.get(id(fragment))
        if kept is not None and kept[1] is characters and kept[2] is font and kept[3] <= count:
            done, cw_sum = kept[3], kept[4]
        else:
            done, cw_sum = 0, 0
        if done < count:
            widths = font.cw
            try:
                for character in characters[done:]:
                    cw = widths[ord(character)]  # as fpdf2 reads it (a missing glyph's too)
                    if type(cw) is not int:
                        raise TypeError(cw)
                    cw_sum += cw
            except TypeError:  # not one character, or a width a running sum could round
                sums.pop(id(fragment), None)
                return fragment.get_width(initial_cs=initial_cs)
            sums[id(fragment)] = (fragment, characters, font, count, cw_sum)
        # TTFFont.get_text_width, then Fragment.get_width, step by step.
        if state.char_vpos is CharVPos.LINE:
            font_size_pt = state.font_size_pt
        else:
            font_size_pt = fragment.font_size_pt  # a subscript's, a superscript's
        if font_size_pt > font.biggest_size_pt:
            font.biggest_size_pt = font_size_pt
        w = cw_sum * font_size_pt * 0.001
        font_stretching, char_spacing = state.font_stretching, state.char_spacing
        if font_stretching != 100 or char_spacing != 0:
            if font_stretching != 100:
                w *= font_stretching * 0.01
                char_spacing *= font_stretching * 0.01
            if state.char_spacing != 0:
                w += char_spacing * (count if initial_cs else count - 1)
        return w / fragment.k

    def width(line: Any) -> float:
        sums = line.__dict__.setdefault("_izin_sums", {})
        total: float = 0  # as fpdf2 adds up the fragments' widths, in this order
        for i, fragment in enumerate(line.fragments):
            total += fragment_width(fragment, sums, initial_cs=i > 0)
        return total

    CurrentLine.width = property(width, doc=original.__doc__)  # type: ignore[method-assign,assignment]
    return original


# While a PDF renders: the lines each cell's text broke into, by its text and layout.
_BROKEN: contextvars.ContextVar[dict[tuple[Any, ...], list[tuple[Any, list[Any]]]] | None] = (
    contextvars.ContextVar("izin_pdf_broken_lines", default=None)
)


@functools.cache
def _cells_broken_once() -> Any:
    """fpdf2 lays out every cell of a table twice: once to measure the rows (Table's rows
    info, nothing written) and once to draw them, breaking each cell's text into lines
    both times, character by character (breaking lines was half a document's CPU, the
    cells most of it). From now on, while render_pdf runs, multi_cell's line breaker
    answers text it has broken before in this PDF (the same characters in equal graphics
    states, the same width, margins, alignment, soft-hyphen and wrap modes: everything
    fpdf2's MultiLineBreak reads) with the lines it gave then, and breaks anything else
    itself. Outside render_pdf, and for a width that varies by line (write(), text
    regions), fpdf2's breaker as it is.

    Returns fpdf2's own MultiLineBreak, for a test to render without this."""
    from fpdf import fpdf as fpdf_module

    original = fpdf_module.MultiLineBreak

    class Replayed:
        """A breaker that gives lines broken before."""

        def __init__(self, lines: list[Any]) -> None:
            self._lines = iter(lines)

        def get_line(self) -> Any:
            return next(self._lines, None)

    def alike(these: Sequence[Any], those: Sequence[Any]) -> bool:
        return len(these) == len(those) and all(
            type(a) is type(b)
            and a.characters == b.characters
            and a.k == b.k
            and a.link == b.link
            and a.graphics_state == b.graphics_state
            for a, b in zip(these, those, strict=True)
        )

    def line_breaker(fragments: Sequence[Any], max_width: Any, margins: Any, **options: Any) -> Any:
        broken = _BROKEN.get()
        if broken is None or callable(max_width):
            return original(fragments, max_width, margins, **options)
        text = "".join("".join(fragment.characters) for fragment in fragments)
        key = (text, max_width, tuple(margins), tuple(sorted(options.items())))
        earlier = broken.setdefault(key, [])
        for were, lines in earlier:
            if alike(were, fragments):
                return Replayed(lines)
        breaker = original(fragments, max_width, margins, **options)
        lines = list(iter(breaker.get_line, None))
        earlier.append((list(fragments), lines))
        return Replayed(lines)

    fpdf_module.MultiLineBreak = line_breaker  # type: ignore[misc,assignment]
    return original


def render_pdf(jenis: Jenis | str, context: Mapping[str, Any], *, now: datetime) -> bytes:
    """The same document as an A4 PDF, laid out by fpdf2 from the templates' PDF variant."""
    kind = Jenis(jenis)
    markup = environment().get_template(f"{kind.value}.html.j2").render({**context, "pdf": True})
    markup = re.sub(r"\s+", " ", markup)  # fpdf2 keeps a cell's line breaks and indentation
    # fpdf2 centres a table on the page, not between the (uneven) margins of a surat dinas.
    markup = markup.replace("<table ", '<table align="left" ')
    # Body text justified and a little more open than fpdf2's single spacing, as a typed
    # letter is (a paragraph's own attributes come later, and win).
    markup = re.sub(r"<p(?=[\s>])", '<p line-height="1.15" align="justify"', markup)
    _incremental_line_widths()
    _cells_broken_once()
    broken = _BROKEN.set({})
    try:
        return _rendered(kind, context, markup, now=now)
    finally:
        _BROKEN.reset(broken)


def _rendered(kind: Jenis, context: Mapping[str, Any], markup: str, *, now: datetime) -> bytes:
    """The PDF of the document's markup."""
    from fpdf.fonts import TextStyle

    pdf = _pdf_class()(format="A4", unit="mm")
    pdf.set_margins(left=25, top=20, right=20)
    pdf.set_auto_page_break(True, margin=20)
    _install_fonts(pdf)
    pdf.set_font("LiberationSerif", size=12)
    pdf.set_title(f"{context['judul']} {context['nomor']}")
    pdf.set_author(str(context["dinas"]["nama"]))
    pdf.set_creator("izin")
    pdf.set_creation_date(now)
    pdf.add_page()
    black = "#000000"
    pdf.write_html(
        markup,
        tag_styles={
            "p": TextStyle(t_margin=2.5, b_margin=1.5, color=black),
            "h2": TextStyle(font_style="B", font_size_pt=12, t_margin=4, b_margin=1, color=black),
            "blockquote": TextStyle(
                font_style="I", l_margin=10, t_margin=2, b_margin=2, color=black
            ),
            "li": TextStyle(l_margin=5, t_margin=1, color=black),
        },
        li_prefix_color=black,  # fpdf2 numbers a list in red
        warn_on_tags_not_matching=False,
    )
    _embed_always(pdf)
    return bytes(pdf.output())


def verification_qr(url: str) -> str:
    """The verification link as a QR code: a PNG data URI, for the HTML and the PDF alike."""
    import io

    import segno  # only a seal needs it

    png = io.BytesIO()
    segno.make(url, error="m").save(png, kind="png", scale=4, border=2)
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")
