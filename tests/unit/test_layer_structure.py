"""The layer's shape: the SOP's step numbers live in its table, and no module imports in a
circle.

A step's behaviour is read from izin.sop (its flow, its form's fields, its decisions), so a
bare step number elsewhere is a second place that must change with the table; the few that
are not step numbers are listed here, with why.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "izin" / "izin"
# Where step numbers belong: the table, the state machine built from it, the event registry.
TABLE = {"sop.py", "workflow.py", "event_types.py"}
STEP_NUMBER = re.compile(
    r"step_data\([^)]*,\s*\d+\)"  # a step's data by number
    r"|steps\.get\(\d+\)|_require\(steps,\s*\d+"  # the same, from the steps read at once
    r"|\b(?:step|number|step\.number|form\.number)\s*(?:==|!=|in)\s*\(?\d"  # a rule by number
    r'|"step":\s*[1-9]\d*\b'  # an audit entry or a payload naming its step by hand
    r"|\bsop\.step\(\d+\)"  # a step looked up by a literal
    r"|[Ll]angkah \d"  # a sentence naming a step
    r"|^\s+\d{1,2}:\s"  # a table keyed by step number
)
ALLOWED: set[tuple[str, str]] = set()


def test_no_step_number_outside_the_sop_table() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in TABLE:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if STEP_NUMBER.search(code) and (path.name, line.strip()) not in ALLOWED:
                found.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert found == [], "read the rule from izin.sop instead:\n" + "\n".join(found)


def test_the_grep_sees_what_it_is_there_to_see() -> None:
    for line in (
        "    ketua = store.step_data(id_izin, 7).get('ketua')",
        "    if step.number == 12:",
        "    s4 = steps.get(4) or {}",
        '        "step": 17,',
        '    return "Dilanjutkan ke langkah 11."',
        "    13: (_team,),",
    ):
        assert STEP_NUMBER.search(line), line


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of the import nodes under `if TYPE_CHECKING:` (never run)."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for inner in ast.walk(node)
    }


def _imports(path: Path) -> set[str]:
    """The izin modules a module imports, at its top or inside a function, when it runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("izin"):
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("izin"))
    return names


LOCAL_RUNTIME = PACKAGE.parents[2] / "infra" / "izin_local"


@pytest.mark.parametrize(("package", "name"), [(PACKAGE, "izin"), (LOCAL_RUNTIME, "izin_local")])
def test_no_import_cycle_inside_the_layer_or_the_local_runtime(package: Path, name: str) -> None:
    modules = {
        ".".join((name, *path.relative_to(package).with_suffix("").parts)).removesuffix(
            ".__init__"
        ): path
        for path in package.rglob("*.py")
    }
    graph = {
        name: {target for target in _imports(path) if target in modules and target != name}
        for name, path in modules.items()
    }
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for target in graph[node]:
                if target == start:
                    cycles.append(" -> ".join([*trail, start]))
                elif target not in trail and len(trail) < len(graph):
                    stack.append((target, [*trail, target]))
    assert cycles == []
