"""Bar charts as inline SVG for the console's report, /konsol/laporan (issue #15): no
JavaScript, no image files; the page scales them to a phone's width (viewBox)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 640
LABEL = 230  # the label column
ROW = 24
BAR = 16
VALUE = 70  # room for the value after the longest bar


def bars(
    rows: Sequence[tuple[str, float | None]], *, title: str, unit: str = "", top: float = 0
) -> str:
    """One labelled horizontal bar per row, scaled to `top` (else the largest value); a row
    without a value is listed with a dash. The SVG's <title> names the chart."""
    values = [v for _, v in rows if v is not None]
    scale = top or max(values, default=0) or 1
    span = WIDTH - LABEL - VALUE
    height = ROW * max(1, len(rows)) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" class="chart"><title>{escape(title)}</title>'
    ]
    for index, (label, value) in enumerate(rows):
        y = 4 + index * ROW
        text_y = y + BAR - 3
        parts.append(
            f'<text x="{LABEL - 6}" y="{text_y}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
        )
        if value is None:
            parts.append(f'<text x="{LABEL + 4}" y="{text_y}" font-size="12">-</text>')
            continue
        length = round(span * min(value, scale) / scale, 1)
        shown = f"{value:g}{unit}"
        parts.append(
            f'<rect x="{LABEL}" y="{y}" width="{length}" height="{BAR}" fill="#2f6f9f">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
            f'<text x="{LABEL + length + 4}" y="{text_y}" font-size="12">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
