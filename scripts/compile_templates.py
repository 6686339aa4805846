"""Compile the layer's templates into a built layer (`izin/__jinjacache__`, see
izin.template_cache) with the functions' Python, so that a cold start on Lambda loads each
template's code and never compiles it; or, with --check, fail if any template compiles.

Usage: python3.12 scripts/compile_templates.py .aws-sam/build/IzinLayer/python
       python3.12 scripts/compile_templates.py --check   (izin importable, as deployed)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any


def every_template() -> list[str]:
    """Load every template of the pages, the emails and the documents, in the environments
    the functions use (each one's code is then in the cache, or written to it)."""
    from izin import templating
    from izin.documents import pdf

    pages, documents = templating.environment(), pdf.environment()
    loaded = []
    for environment, names in (
        (pages, [n for n in pages.list_templates() if not n.startswith("documents/")]),
        (documents, documents.list_templates()),
    ):
        for name in names:
            environment.get_template(name)
            loaded.append(name)
    return loaded


def compile_into(layer: Path) -> int:
    sys.path.insert(0, str(layer))
    from izin.template_cache import FOLDER

    if not FOLDER.is_relative_to(layer):
        sys.exit(f"compile_templates: izin imported from {FOLDER.parent}, not from {layer}")
    # Whatever sam build copied from a local run (another Python's code) goes first.
    shutil.rmtree(FOLDER, ignore_errors=True)
    names = every_template()
    written = len(list(FOLDER.glob("*.cache")))
    print(f"  IzinLayer: {len(names)} templates compiled into izin/__jinjacache__ ({written})")
    return 0 if written == len(names) else 1


def check() -> int:
    compiled = []

    def heard(event: str, args: tuple[Any, ...]) -> None:
        if event == "compile" and isinstance(args[1], str) and args[1].endswith(".j2"):
            compiled.append(args[1])

    sys.addaudithook(heard)
    names = every_template()
    if compiled:
        sys.exit(f"{len(compiled)} of {len(names)} templates (one: {compiled[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(check() if sys.argv[1] == "--check" else compile_into(Path(sys.argv[1]).resolve()))
