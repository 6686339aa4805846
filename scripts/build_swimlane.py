"""Write the SOP's swimlane, blank, from the SOP table: docs/sop-swimlane.svg (the README's).

    python scripts/build_swimlane.py          # write the file
    python scripts/build_swimlane.py --check  # exit 1 when the committed file is not current

The picture is drawn by izin.swimlane from izin.sop, as the console draws an application's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from izin.swimlane import svg

ROOT = Path(__file__).resolve().parents[1]
SWIMLANE = ROOT / "docs" / "sop-swimlane.svg"


def main(argv: list[str] | None = None) -> int:
    """Write (or check) the blank swimlane; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    text = svg()
    if args.check:
        if SWIMLANE.read_text(encoding="utf-8") != text:
            print("docs/sop-swimlane.svg is not drawn from izin.sop: run scripts/build_swimlane.py")
            return 1
        return 0
    SWIMLANE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
