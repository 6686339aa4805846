"""After `sam build`: the built layer and functions are what Lambda will run.

Run by `make deploy-check` with aws-sam-cli's interpreter. Checks that the layer holds the
whole `izin` package (its data and templates are package files, easily left behind) and
its pinned third-party packages, then imports every function's handler under the
functions' runtime (python3.12) with only the layer, the function's folder and boto3 (which
Lambda provides) on the path, and the zoneinfo database taken from the layer alone; and
again from the build zipped by `sam package`'s own zipper and unzipped with its dates, where
a cold start must find every module's bytecode valid (`make deploy-check` compiles the build
with checked-hash .pyc).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
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


# A cold start's import of the handler, counting the modules Python compiles from source
# because no valid bytecode is there (Lambda's /var/task and /opt cannot keep any).
_COLD_START_PROBE = """
import importlib, sys
compiled = []
def heard(event, args):
    if event == "compile" and isinstance(args[1], str) and args[1].endswith(".py"):
        compiled.append(args[1])
sys.addaudithook(heard)
module_name, function_name = sys.argv[1].rsplit(".", 1)
getattr(importlib.import_module(module_name), function_name)
if compiled:
    sys.exit(f"{len(compiled)} modules from source (one: {compiled[0]})")
"""

# Loads every template with an audit hook on compile (scripts/compile_templates.py).
_TEMPLATE_PROBE = (Path(__file__).parent / "compile_templates.py").read_text(encoding="utf-8")

_LAYER_PROBE = """
import importlib, sys
for name in sys.argv[1].split(","):
    importlib.import_module(name)
"""


class _CfnLoader(yaml.SafeLoader):
    """Reads the built template; the values of CloudFormation tags do not matter here."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


# What a local run writes beside the sources (bytecode, templates' code): built afresh.
_LOCAL_CACHES = {"__pycache__", "__jinjacache__"}


def _source_files(package: Path) -> set[str]:
    return {
        str(path.relative_to(package))
        for path in package.rglob("*")
        if path.is_file() and not _LOCAL_CACHES & set(path.parts) and path.suffix != ".pyc"
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
        "PYTHONDONTWRITEBYTECODE": "1",  # as on Lambda, where the code's folders are read-only
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


def _handlers(build: Path) -> list[tuple[str, str]]:
    """(logical id, handler) of each function of the built template."""
    text = (build / "template.yaml").read_text(encoding="utf-8")
    template = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 (a SafeLoader subclass)
    return [
        (logical_id, resource["Properties"]["Handler"])
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::Serverless::Function"
    ]


def _import_each_handler(
    build: Path, runtime: str, boto3_path: Path, probe: str
) -> dict[str, tuple[str, str]]:
    """logical id -> (handler, the probe's error or '') for each function of `build`."""
    results = {}
    for logical_id, handler in _handlers(build):
        folder = build / logical_id
        path = [folder, build / "IzinLayer" / "python", boto3_path]
        results[logical_id] = (handler, _run_probe(runtime, probe, handler, path, folder))
    return results


def check_functions(build: Path, runtime: str, boto3_path: Path) -> list[str]:
    """Import each function's handler with the runtime's interpreter, as Lambda would."""
    problems = []
    for logical_id, (handler, error) in _import_each_handler(
        build, runtime, boto3_path, _IMPORT_PROBE
    ).items():
        print(f"  {logical_id}: import {handler} under {runtime}: {error or 'ok'}")
        if error:
            problems.append(f"{logical_id}: {error}")
    return problems


def _as_deployed(folder: Path, into: Path) -> None:
    """`folder` zipped by `sam package`'s own zipper, then unzipped with the zip's dates, as
    Lambda lays a function's code or a layer out.

    The zipper writes no dates: every file arrives dated 1980-01-01, and a .pyc that checks
    its source's modification time (pip's, Python's default) never matches there
    (aws/aws-lambda-builders#924); a checked-hash .pyc compares the source's hash instead."""
    from samcli.lib.package.utils import (  # type: ignore[import-not-found]
        make_zip_with_lambda_permissions,
    )

    archive = make_zip_with_lambda_permissions(str(into.with_suffix("")), str(folder))
    with zipfile.ZipFile(archive) as zipped:
        for entry in zipped.infolist():
            path = Path(zipped.extract(entry, into))
            dated = time.mktime((*entry.date_time, 0, 0, -1))
            os.utime(path, (dated, dated))
    Path(archive).unlink()


def check_cold_starts(build: Path, runtime: str, boto3_path: Path) -> list[str]:
    """Import each function's handler from the build as `sam package` zips it: a cold start
    that compiles a module from source pays for it in every execution environment."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="izin-zipped-") as folder:
        zipped = Path(folder) / "build"
        zipped.mkdir()
        shutil.copy(build / "template.yaml", zipped / "template.yaml")
        for logical_id in ["IzinLayer", *(logical_id for logical_id, _ in _handlers(build))]:
            _as_deployed(build / logical_id, zipped / logical_id)
        imported = _import_each_handler(zipped, runtime, boto3_path, _COLD_START_PROBE)
        layer = zipped / "IzinLayer" / "python"
        templates = _run_probe(runtime, _TEMPLATE_PROBE, "--check", [layer, boto3_path], layer)
    for logical_id, (_, error) in imported.items():
        print(f"  {logical_id}: a cold start from the zip compiles {error or 'nothing'}")
        if error:
            problems.append(f"{logical_id}: a cold start from the zip compiles {error}")
    print(f"  IzinLayer: a first render from the zip compiles {templates or 'no template'}")
    if templates:
        problems.append(f"IzinLayer: a first render from the zip compiles {templates}")
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
    problems += check_cold_starts(build, arguments.runtime, boto3_path)
    for problem in problems:
        print(f"deploy-check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
