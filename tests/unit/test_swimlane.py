"""The SOP's swimlane drawn from izin.sop (#15): the seed's 20 rows by 8 actors, its
decisions and ways back, and one application's place on it."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from izin import sop
from izin.swimlane import ACTORS, Done, Progress, decides, progress_of, svg, ways_back

ROOT = Path(__file__).resolve().parents[2]
NS = {"svg": "http://www.w3.org/2000/svg"}


def steps_drawn(picture: str) -> dict[int, ET.Element]:
    root = ET.fromstring(picture)
    return {
        int(g.attrib["data-langkah"]): g
        for g in root.iter("{http://www.w3.org/2000/svg}g")
        if "data-langkah" in g.attrib
    }


def test_twenty_steps_in_eight_lanes_with_the_seeds_four_decisions() -> None:
    drawn = steps_drawn(svg())
    assert sorted(drawn) == list(range(1, 21))
    assert len(ACTORS) == 8
    assert [s.number for s in sop.STEPS if decides(s)] == [3, 9, 13, 14]
    diamonds = [n for n, g in drawn.items() if g.find("svg:polygon", NS) is not None]
    assert diamonds == [3, 9, 13, 14]


def test_the_ways_back_are_the_tables() -> None:
    ways = {(w.start, w.end) for w in ways_back()}
    assert {(3, 2), (4, 2), (9, 11), (13, 12), (13, 11), (14, 12), (14, 11)} == ways


def test_an_applications_place_is_marked() -> None:
    progress = Progress(
        {1: Done("OSS", "2026-12-01"), 13: Done("Kabid", "2026-12-03")}, 12, [(13, 12)]
    )
    drawn = steps_drawn(svg(progress))
    assert drawn[12].attrib["class"] == "langkah sekarang"
    assert drawn[1].attrib["class"] == "langkah selesai" and "OSS 2026-12-01" in ET.tostring(
        drawn[1], encoding="unicode"
    )
    assert drawn[5].attrib["class"] == "langkah "
    root = ET.fromstring(svg(progress))
    taken = [
        g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "kembali-diambil"
    ]
    assert len(taken) == 1 and "13→12" in "".join(taken[0].itertext())


def test_the_place_is_read_from_the_trail() -> None:
    trail = [
        {"action": "event.applied", "step": 2, "actor": "SIINAS", "at": "2026-12-01T23:30Z"},
        {
            "action": "task.decided",
            "step": 13,
            "actor": "Kabid",
            "decision": "no",
            "data": {"catatan": "perbaiki"},
            "at": "2026-12-03T10:00:00+00:00",
        },
        {"action": "task.viewed", "step": 12, "actor": "Kasi", "at": "2026-12-03T11:00:00+00:00"},
    ]
    progress = progress_of({"current_step": 12, "status": "PROSES"}, trail)
    assert set(progress.done) == {2, 13} and progress.current == 12
    assert progress.done[2].at == "2026-12-02 06:30"  # the Dinas's day and time (WIB)
    assert list(progress.returned) == [(13, 12)]
    to_the_team = [{**trail[1], "data": {"catatan": "TKA", "kembalikan_ke": "bap"}}]
    assert list(progress_of({"current_step": 11}, to_the_team).returned) == [(13, 11)]
    finished = progress_of({"current_step": 20, "status": "SELESAI"}, trail)
    assert finished.current is None


def test_the_readmes_picture_is_drawn_from_the_table() -> None:
    script = ROOT / "scripts" / "build_swimlane.py"
    checked = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "docs/sop-swimlane.svg" in (ROOT / "README.md").read_text(encoding="utf-8")
