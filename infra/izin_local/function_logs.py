"""What the functions logged during a run kept in a file (`izin demo`, `izin bench`): the
warnings and errors, told in a few lines at the end instead of cutting into the run's own
output. The file keeps every line as the functions wrote it (Powertools' JSON)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

# Powertools' levels worth a line of their own at the end of a run.
_TOLD = {"WARNING": "peringatan", "ERROR": "galat", "CRITICAL": "galat"}


def summary(path: Path) -> list[str]:
    """Lines telling the warnings and errors in `path`, each distinct (level, function,
    message) once with its count; a line that is not a JSON log entry counts as an error
    (a traceback, say). One line saying where the log is, when it holds nothing to tell."""
    told: Counter[tuple[str, str, str]] = Counter()
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for line in filter(str.strip, lines):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            entry = None
        if not isinstance(entry, dict):
            told["galat", "", line.strip()[:160]] += 1
        elif (level := _TOLD.get(str(entry.get("level", "")).upper())) is not None:
            function = str(entry.get("function_name", "")).rsplit("-", 1)[-1]
            told[level, function, str(entry.get("message", ""))[:160]] += 1
    counts: Counter[str] = Counter()
    for (level, _, _), n in told.items():
        counts[level] += n
    head = (
        f"log fungsi: {counts['peringatan']} peringatan, {counts['galat']} galat ({path})"
        if told
        else f"log fungsi: tanpa peringatan atau galat ({path})"
    )
    return [head] + [
        f"  {level:<10} {f'{function}: ' if function else ''}{message}"
        + (f" ({n}x)" if n > 1 else "")
        for (level, function, message), n in told.most_common()
    ]
