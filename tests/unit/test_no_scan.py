"""No request path scans the table (issue #15): no handler, and nothing in the layer the
handlers call, asks DynamoDB for a Scan; lists are Queries of an index (GSI1)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "functions").rglob("*.py")), *sorted((ROOT / "layers").rglob("*.py"))]


def scans(source: str) -> list[int]:
    """The lines calling `.scan(...)`, a `scan` paginator, or naming the Scan operation."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            paginates = node.func.attr == "get_paginator" and any(
                isinstance(a, ast.Constant) and str(a.value).lower() == "scan" for a in node.args
            )
            if node.func.attr.lower() == "scan" or paginates:
                found.append(node.lineno)
        elif isinstance(node, ast.Constant) and node.value in ("Scan", "dynamodb:Scan"):
            found.append(node.lineno)
    return found


def test_the_detector_sees_every_way_of_scanning() -> None:
    assert scans("client('dynamodb').scan(TableName='t')") == [1]
    assert scans("table.scan()") == [1]
    assert scans("db.get_paginator('scan')") == [1]
    assert scans("x = 'Scan'") == [1]
    assert scans("db.query(TableName='t')") == []


def test_no_handler_or_layer_module_scans_the_table() -> None:
    assert SOURCES and any(p.name == "app.py" for p in SOURCES)
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in SOURCES
        if (lines := scans(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
