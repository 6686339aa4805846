"""`make coverage`'s gate: each core module's own line coverage, not only their total (#10).

Usage: coverage_gate.py REPORT.json --fail-under 90 MODULE.py...

Reads coverage's JSON report (`coverage json`) and prints each module's lines covered; a
module below the threshold fails the gate (exit 1), and so does a module the report does
not have (never imported by the tests: nothing measured is not covered). A module without
statements (an `__init__.py` of imports only) passes. Line coverage, as `coverage report`
counts it: the statements run of the statements there are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def line_coverage(summary: dict[str, int]) -> float:
    statements = summary["num_statements"]
    return 100.0 * summary["covered_lines"] / statements if statements else 100.0


def check(
    files: dict[str, dict[str, dict[str, int]]], modules: list[str], floor: float
) -> list[str]:
    """Each module's figure as a line; the lines of those below `floor` start with FAIL."""
    lines = []
    for module in modules:
        data = files.get(module)
        if data is None:
            lines.append(f"FAIL     -   not measured  {module}")
            continue
        summary = data["summary"]
        percent = line_coverage(summary)
        mark = "FAIL" if percent < floor else "ok  "
        covered, statements = summary["covered_lines"], summary["num_statements"]
        lines.append(f"{mark} {percent:5.1f}%  {covered:4d}/{statements:<4d}    {module}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="coverage's JSON report")
    parser.add_argument("modules", nargs="+", help="the modules' paths, as the report has them")
    parser.add_argument("--fail-under", type=float, required=True, help="each module's floor")
    args = parser.parse_args(argv)
    files = json.loads(args.report.read_text(encoding="utf-8"))["files"]
    lines = check(files, sorted(set(args.modules)), args.fail_under)
    print("\n".join(lines))
    failed = [line for line in lines if line.startswith("FAIL")]
    if failed:
        print(
            f"{len(failed)} module(s) below {args.fail_under:g}% or not measured", file=sys.stderr
        )
        return 1
    print(f"each of {len(lines)} modules covers at least {args.fail_under:g}% of its lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
