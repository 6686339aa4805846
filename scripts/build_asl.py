"""Write the state machine's definition from the SOP table: statemachine/izin_perluasan.asl.json.

    python scripts/build_asl.py          # write the file
    python scripts/build_asl.py --check  # exit 1 when the committed file is not the generated one

The definition is made by izin.workflow from izin.sop; edit the table, never the JSON.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from izin.workflow import ASL_PATH, render

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Write (or check) the ASL file; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    path = ROOT / ASL_PATH
    text = render()
    if args.check:
        if path.read_text(encoding="utf-8") != text:
            print(f"{ASL_PATH} is not generated from izin.sop: run scripts/build_asl.py")
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {ASL_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
