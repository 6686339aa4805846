"""`make coverage`'s gate (scripts/coverage_gate.py): each module on its own floor."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "coverage_gate", ROOT / "scripts" / "coverage_gate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _file(covered: int, statements: int) -> dict[str, dict[str, int]]:
    return {"summary": {"covered_lines": covered, "num_statements": statements}}


REPORT = {
    "files": {
        "core/well.py": _file(99, 100),
        "core/poor.py": _file(8, 10),
        "core/__init__.py": _file(0, 0),
    }
}


def test_a_module_below_the_floor_fails_though_the_total_is_above_it(
    gate: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "coverage.json"
    report.write_text(json.dumps(REPORT))
    modules = ["core/well.py", "core/poor.py", "core/__init__.py"]  # 107 of 110 lines: 97%
    assert gate.main([str(report), "--fail-under", "90", *modules]) == 1
    out = capsys.readouterr().out
    assert "FAIL  80.0%" in out and "core/poor.py" in out
    assert "ok    99.0%" in out and "ok   100.0%" in out  # no statements: nothing uncovered


def test_a_module_not_measured_fails(gate: ModuleType, tmp_path: Path) -> None:
    report = tmp_path / "coverage.json"
    report.write_text(json.dumps(REPORT))
    assert gate.check(REPORT["files"], ["core/gone.py"], 90.0)[0].startswith("FAIL")
    assert gate.main([str(report), "--fail-under", "90", "core/well.py"]) == 0
