"""After `sam build`: the built layer and functions are what Lambda will run.

Run by `make deploy-check` with aws-sam-cli's interpreter. Checks that the layer holds the
whole `izin` package (its data and templates are package files, easily left behind) and
its pinned third-party packages, then imports every function's handler under the
functions' runtime (python3.12) with only the layer, the function's folder and boto3 (which
Lambda provides) on the path, and the zoneinfo database taken from the layer alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE_PACKAGE = ROOT / "layers" / "izin" / "izin"
LAYER_REQUIREMENTS = ROOT / "layers" / "izin" / "requirements.txt"

_IMPORT_PROBE = """
import importlib, sys, zoneinfo
zoneinfo.ZoneInfo("Asia/Pontianak")
module_name, function_name = sys.argv[1].rsplit(".", 1)
handler = getattr(importlib.import_module(module_name), function_name)
assert callable(handler), sys.argv[1]
"""


_LAYER_PROBE = """
import importlib, sys
for name in sys.argv[1].split(","):
    importlib.import_module(name)
"""


class _CfnLoader(yaml.SafeLoader):
    """Reads the built template; the values of CloudFormation tags do not matter here."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _source_files(package: Path) -> set[str]:
    return {
        str(path.relative_to(package))
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def _requirement_names() -> list[str]:
    names = []
    for line in LAYER_REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line.split("==", 1)[0].split("[", 1)[0].lower().replace("-", "_"))
    return names


def check_layer(layer: Path) -> list[str]:
    """What the built layer lacks: izin's files, or a pinned distribution."""
    problems = []
    built = layer / "izin"
    missing = sorted(_source_files(SOURCE_PACKAGE) - _source_files(built))
    problems += [f"layer lacks izin/{name}" for name in missing]
    installed = {
        path.name.split("-", 1)[0].lower().replace("-", "_") for path in layer.glob("*.dist-info")
    }
    problems += [
        f"layer lacks the distribution {name}"
        for name in _requirement_names()
        if name not in installed
    ]
    return problems


def top_level_modules(layer: Path) -> list[str]:
    """The importable names at the top of the layer (packages and single modules)."""
    names = []
    for path in sorted(layer.iterdir()):
        if path.is_dir() and (path / "__init__.py").is_file():
            names.append(path.name)
        elif path.suffix == ".py" and path.stem.isidentifier():
            names.append(path.stem)
    return names


def _run_probe(runtime: str, probe: str, argument: str, path: list[Path], cwd: Path) -> str:
    """'' if `probe` passes under `runtime` with exactly `path`, else its last error line."""
    environment = {
        "PATH": os.environ["PATH"],
        "PYENV_VERSION": os.environ.get("PYENV_VERSION", ""),
        "PYTHONPATH": os.pathsep.join(map(str, path)),
        "PYTHONTZPATH": "",  # no system zoneinfo on Lambda: the layer's tzdata must do
        "PYTHONNOUSERSITE": "1",
        "AWS_DEFAULT_REGION": "ap-southeast-3",
        "POWERTOOLS_SERVICE_NAME": "izin",
    }
    result = subprocess.run(  # noqa: S603 (our own interpreter and probe)
        [runtime, "-s", "-c", probe, argument],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )
    if result.returncode == 0:
        return ""
    return (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]


def check_layer_imports(layer: Path, runtime: str, boto3_path: Path) -> list[str]:
    """Import every package of the layer under the runtime (compiled wheels included)."""
    modules = top_level_modules(layer)
    error = _run_probe(runtime, _LAYER_PROBE, ",".join(modules), [layer, boto3_path], layer)
    print(f"  IzinLayer: import {', '.join(modules)} under {runtime}: {error or 'ok'}")
    return [f"IzinLayer: {error}"] if error else []


def check_functions(build: Path, runtime: str, boto3_path: Path) -> list[str]:
    """Import each function's handler with the runtime's interpreter, as Lambda would."""
    text = (build / "template.yaml").read_text(encoding="utf-8")
    template = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 (a SafeLoader subclass)
    problems = []
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        handler = resource["Properties"]["Handler"]
        folder = build / logical_id
        path = [folder, build / "IzinLayer" / "python", boto3_path]
        error = _run_probe(runtime, _IMPORT_PROBE, handler, path, folder)
        print(f"  {logical_id}: import {handler} under {runtime}: {error or 'ok'}")
        if error:
            problems.append(f"{logical_id}: {error}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path, help="sam build's output (.aws-sam/build)")
    parser.add_argument("--runtime", default="python3.12", help="the functions' interpreter")
    parser.add_argument("--boto3", type=Path, required=True, help="boto3 for the runtime")
    arguments = parser.parse_args()
    build, boto3_path = arguments.build.resolve(), arguments.boto3.resolve()
    layer = build / "IzinLayer" / "python"
    problems = check_layer(layer)
    print(f"  IzinLayer: izin's files and {len(_requirement_names())} distributions present")
    problems += check_layer_imports(layer, arguments.runtime, boto3_path)
    problems += check_functions(build, arguments.runtime, boto3_path)
    for problem in problems:
        print(f"deploy-check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
