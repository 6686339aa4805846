"""The SOP's swimlane as SVG, drawn from `izin.sop` (the source of the ASL too) (#15).

Twenty rows by eight actors, as the seed's chart: a box per step in its actor's lane, a
diamond where the SOP decides (3, 9, 13, 14), the way on from step to step, and the ways
back (a send-back, a loop) as dashed arcs on the right. Blank, it documents the SOP
(docs/sop-swimlane.svg, in the README); with an application's `Progress`, steps done are
marked with who and when, the current step is highlighted and the send-backs it went
through are drawn in red. Plain SVG, no script: it renders in any browser and email.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from textwrap import wrap
from typing import Any

from izin import sop
from izin.calendar import to_wib
from izin.sop import ROLE_TITLES, Branch, Milestone, Role, Step

LANE = 128  # px per actor
NUMBER = 36  # the step numbers' column
HEADER = 40
ROW = 54
BOX_H = 42
ARCS = 200  # room on the right for the ways back
FONT = "font-family='DejaVu Sans, Arial, sans-serif'"
# The lanes: the roles that act in a step, in the table's order of roles (no admin).
ACTORS: tuple[Role, ...] = tuple(r for r in ROLE_TITLES if any(s.actor == r for s in sop.STEPS))


@dataclass(frozen=True)
class Done:
    """A step done: by whom, when (as the page should print it)."""

    by: str
    at: str


@dataclass(frozen=True)
class Progress:
    """Where one application is: steps done, the current step, the returns taken."""

    done: Mapping[int, Done] = field(default_factory=dict)
    current: int | None = None
    returned: Sequence[tuple[int, int]] = ()


@dataclass(frozen=True)
class Way:
    """A way back or around: from a step to another, and what it is called."""

    start: int
    end: int
    label: str


def decides(step: Step) -> bool:
    """Whether the seed draws this step as a decision (a diamond): 3, 9, 13 and 14."""
    branches = [f for f in step.flow if isinstance(f, Branch) and isinstance(f.otherwise, int)]
    return bool(branches) and (step.asks or not step.is_task)


def ways_back() -> list[Way]:
    """Every send-back, loop and skip the table holds, from its decision to its target."""
    ways = []
    for step in sop.STEPS:
        for part in step.flow:
            if isinstance(part, Branch) and isinstance(part.otherwise, int):
                if part.otherwise == step.number + 1:
                    continue  # on to the next step: the way on, not back (4's "lengkap")
                ways.append(Way(step.number, part.otherwise, "TIDAK"))
                for back in part.returns:
                    if back.step != part.otherwise:
                        ways.append(Way(step.number, back.step, "TIDAK"))
            if isinstance(part, Milestone) and part.then_step is not None:
                ways.append(Way(step.number, part.then_step, "belum lengkap"))
    return ways


def progress_of(application: Mapping[str, Any], trail: Iterable[Mapping[str, Any]]) -> Progress:
    """An application's place from its record and its audit trail."""
    done: dict[int, Done] = {}
    returned: list[tuple[int, int]] = []
    for entry in trail:
        step = int(entry.get("step") or 0)
        action = entry.get("action")
        if not step or action not in ("task.decided", "event.applied", "step.recorded"):
            continue
        # The Dinas's day (WIB), as its other pages print it: the trail keeps UTC.
        at = to_wib(datetime.fromisoformat(str(entry["at"]))).strftime("%Y-%m-%d %H:%M")
        done[step] = Done(str(entry.get("actor", "")), at)
        if action == "task.decided" and entry.get("decision") == "no":
            data = entry.get("data") or {}
            target = _return_target(step, data)
            if target is not None:
                returned.append((step, target))
    current = application.get("current_step")
    finished = str(application.get("status", "")) in ("SELESAI", "BERLAKU_EFEKTIF")
    return Progress(done, None if finished else (int(current) if current else None), returned)


def _return_target(step: int, data: Mapping[str, Any]) -> int | None:
    branch = sop.branch_on(step)
    if branch is None or not isinstance(branch.otherwise, int):
        return None
    chosen = branch.sent_to(data.get(sop.KEMBALIKAN_KE))
    return chosen.step if chosen is not None else branch.otherwise


def svg(progress: Progress | None = None, *, title: str = "SOP Izin Perluasan") -> str:
    """The swimlane; with `progress`, one application's place on it."""
    width = NUMBER + LANE * len(ACTORS) + ARCS
    height = HEADER + ROW * len(sop.STEPS) + 10
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"width='{width}' height='{height}' role='img' aria-label='{escape(title)}' {FONT} "
        "font-size='10'>",
        f"<title>{escape(title)}</title>",
        "<defs><marker id='panah' viewBox='0 0 8 8' refX='7' refY='4' markerWidth='7' "
        "markerHeight='7' orient='auto'><path d='M0,0 L8,4 L0,8 z' fill='#444'/></marker>"
        "<marker id='panah-merah' viewBox='0 0 8 8' refX='7' refY='4' markerWidth='7' "
        "markerHeight='7' orient='auto'><path d='M0,0 L8,4 L0,8 z' fill='#c0392b'/></marker>"
        "</defs>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
    ]
    parts += _lanes(height)
    parts += _flow_lines()
    returned = set(progress.returned) if progress else set()
    parts += [
        _arc(n, way, taken=(way.start, way.end) in returned) for n, way in enumerate(ways_back())
    ]
    parts += [_step(s, progress) for s in sop.STEPS]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _lanes(height: int) -> list[str]:
    parts = []
    for n, role in enumerate(ACTORS):
        x = NUMBER + n * LANE
        shade = "#f6f8fa" if n % 2 else "#ffffff"
        parts.append(
            f"<rect x='{x}' y='0' width='{LANE}' height='{height}' fill='{shade}' "
            "stroke='#d0d7de'/>"
        )
        parts.append(
            f"<text x='{x + LANE / 2}' y='{HEADER / 2 + 4}' text-anchor='middle' "
            f"font-weight='bold' font-size='11'>{escape(ROLE_TITLES[role])}</text>"
        )
    parts.append(
        f"<line x1='0' y1='{HEADER}' x2='{NUMBER + LANE * len(ACTORS)}' "
        f"y2='{HEADER}' stroke='#57606a'/>"
    )
    return parts


def _center(step: Step) -> tuple[float, float]:
    lane = ACTORS.index(step.actor)
    return NUMBER + lane * LANE + LANE / 2, HEADER + (step.number - 1) * ROW + ROW / 2


def _flow_lines() -> list[str]:
    parts = []
    for before, after in zip(sop.STEPS, sop.STEPS[1:], strict=False):
        (x1, y1), (x2, y2) = _center(before), _center(after)
        parts.append(
            f"<path d='M{x1},{y1 + BOX_H / 2} L{x1},{(y1 + y2) / 2} L{x2},{(y1 + y2) / 2} "
            f"L{x2},{y2 - BOX_H / 2}' fill='none' stroke='#444' marker-end='url(#panah)'/>"
        )
    return parts


def _arc(n: int, way: Way, *, taken: bool) -> str:
    start, end = sop.step(way.start), sop.step(way.end)
    (x1, y1), (x2, y2) = _center(start), _center(end)
    right = NUMBER + LANE * len(ACTORS) + 14 + (n % 6) * 20
    colour = "#c0392b" if taken else "#6e7781"
    marker = "panah-merah" if taken else "panah"
    width = 2.5 if taken else 1
    label_y = (y1 + y2) / 2
    return (
        f"<g class='{'kembali-diambil' if taken else 'kembali'}'>"
        f"<path d='M{x1 + LANE / 2 - 8},{y1} L{right},{y1} L{right},{y2} "
        f"L{x2 + LANE / 2 - 8},{y2}' fill='none' stroke='{colour}' stroke-width='{width}' "
        f"stroke-dasharray='5 3' marker-end='url(#{marker})'/>"
        f"<text x='{right + 3}' y='{label_y}' fill='{colour}' font-size='9'>"
        f"{escape(way.label)} {way.start}\u2192{way.end}</text></g>"
    )


def _step(step: Step, progress: Progress | None) -> str:
    x, y = _center(step)
    done = progress.done.get(step.number) if progress else None
    current = progress is not None and progress.current == step.number
    fill = "#dafbe1" if done else "#ffffff"
    stroke, stroke_width = ("#d97706", 3) if current else ("#24292f", 1)
    w, h = LANE - 16, BOX_H
    if decides(step):
        shape = (
            f"<polygon points='{x},{y - h / 2 - 2} {x + w / 2},{y} {x},{y + h / 2 + 2} "
            f"{x - w / 2},{y}' fill='{fill}' stroke='{stroke}' stroke-width='{stroke_width}'/>"
        )
    else:
        shape = (
            f"<rect x='{x - w / 2}' y='{y - h / 2}' width='{w}' height='{h}' rx='6' "
            f"fill='{fill}' stroke='{stroke}' stroke-width='{stroke_width}'/>"
        )
    lines = wrap(step.activity, 18 if decides(step) else 21)[:2]
    top = y - (4 if done else 0) - (len(lines) - 1) * 5
    text = "".join(
        f"<text x='{x}' y='{top + i * 11 + 3}' text-anchor='middle' font-size='9.5'>"
        f"{escape(line)}</text>"
        for i, line in enumerate(lines)
    )
    number = (
        f"<text x='{NUMBER / 2}' y='{y + 4}' text-anchor='middle' font-weight='bold'>"
        f"{step.code}</text>"
    )
    mark = ""
    if done:
        mark = (
            f"<text x='{x}' y='{y + h / 2 - 4}' text-anchor='middle' font-size='7.5' "
            f"fill='#116329'>{escape(done.by[:22])} {escape(done.at[:10])}</text>"
        )
    state = "sekarang" if current else ("selesai" if done else "")
    return (
        f"<g class='langkah {state}' data-langkah='{step.number}'>"
        f"<title>{step.code} {escape(ROLE_TITLES[step.actor])}: {escape(step.activity)}</title>"
        f"{number}{shape}{text}{mark}</g>"
    )
