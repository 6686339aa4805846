"""Shared test setup: no test may reach real AWS, whatever the machine's configuration."""

import json
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import moto  # noqa: F401 (imported before any boto3 session, so mock_aws catches them all)
import pytest
from hypothesis import HealthCheck, settings
from izin_local import sdk_data
from izin_local.runtime import LocalRuntime, settle_heap
from izin_local.testing import (
    ROSTER,
    SharedSystem,
    System,
    endpoints_of,
    runtime_name,
    start_system,
)

# Property-based tests: CI runs a fixed, derandomized profile (the same cases every run, so
# a red build is a real regression, never a newly drawn seed); `IZIN_HYPOTHESIS=long` draws
# many more cases, at random, for a hunt (`make hypothesis-long`).
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    print_blob=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("IZIN_HYPOTHESIS", "ci"))

_SAFE_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-southeast-3",
    "AWS_REGION": "ap-southeast-3",
    "AWS_EC2_METADATA_DISABLED": "true",
    # A closed local port: a call that escapes moto fails at once instead of going out.
    "HTTPS_PROXY": "http://127.0.0.1:9",
}


@pytest.fixture(autouse=True, scope="session")
def _no_real_aws() -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update(_SAFE_AWS_ENVIRONMENT)
    # The tests' many sessions (a layer's lifecycle reset, each mock_aws) parse botocore's
    # data once per worker, as a runtime start does.
    sdk_data.share_parsed_files()


# A runtime of the real template takes about 3 s to start and up to 1 s to stop, and one process
# holds one at a time (it sets the process's AWS endpoint). Consecutive test modules on an
# xdist worker that ask for the same configuration share one: each keeps to its own
# application ids, so what one module leaves running never meets another's assertions.
StartRuntime = Callable[[Path], AbstractContextManager[LocalRuntime]]


class SharedRuntime:
    """The one runtime this worker holds for `shared_system`, by configuration name."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._stack = ExitStack()
        self._name = ""
        self._system: System | None = None

    def get(self, name: str, start: StartRuntime, roster: Path = ROSTER) -> System:
        if self._system is None or name != self._name:
            self.close()
            runtime = self._stack.enter_context(start(self._tmp.mktemp(name)))
            self._name, self._system = name, System(runtime, endpoints_of(runtime, roster))
        return self._system

    def close(self) -> None:
        self._stack.close()
        self._system = None


_SHARED = pytest.StashKey[SharedRuntime]()


@pytest.fixture(scope="session")
def shared_system(request: pytest.FixtureRequest) -> Iterator[SharedSystem]:
    """`shared_system(name, start, roster=ROSTER)`: the System `start(state_dir)` started
    under `name`, the same one (its sessions and spent codes too) for the modules after it
    that ask for `name`, until a module needs another runtime."""
    shared = SharedRuntime(request.getfixturevalue("tmp_path_factory"))
    request.session.stash[_SHARED] = shared
    try:
        yield shared.get
    finally:
        shared.close()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the shared runtime before a test that starts a runtime of its own (or none)."""
    shared = item.session.stash.get(_SHARED, None)
    if shared is not None and (
        nextitem is None or "shared_system" not in getattr(nextitem, "fixturenames", ())
    ):
        shared.close()


# `make pytest` runs the suite in xdist workers with `--dist loadgroup`: a worker takes a
# group whole. A test's group is its module, or, for a module on the shared runtime, the
# runtime's name within the module's folder: the modules sharing a runtime then run one
# after another on one worker and start it once (spread over the workers, or interleaved
# with other modules, they started it again each time). The groups go out in the order of
# the folders below (`--no-loadscope-reorder` keeps it): the browser tests and the
# integration tests first, the many short unit tests last, to even out the workers' ends.
# Within a folder, a group holding a lengthy or property-based test (seconds, where its
# neighbours take milliseconds) goes first: sent last, the webhooks' properties (15 s) ran
# alone at the end while two workers idled (2026-12-06: the workers ended at 179, 181 and
# 192 s).
_FOLDERS_IN_ORDER = ("tests/e2e/", "tests/integration/", "tests/unit/")
_LENGTHY = ("lengthy", "property")


@pytest.hookimpl(tryfirst=True)  # before xdist appends each test's group to its id
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    ranks: dict[str, tuple[int, bool]] = {}
    for item in items:
        group = _group_of(item)
        item.add_marker(pytest.mark.xdist_group(group))
        rank = (_folder_rank(item), not any(item.get_closest_marker(m) for m in _LENGTHY))
        ranks[group] = min(ranks.get(group, rank), rank)
    # Stable: within a rank, the collection's order.
    items.sort(key=lambda item: ranks[_group_of(item)])


# A test process keeps what it imported and collected for its whole life, and the local
# runtimes it starts (moto's backends, their items and PDFs, the executions' histories)
# for a module or more: at CPython's default thresholds the cyclic collector walked that
# whole heap about twenty times a run, a fifth of the workers' CPU (measured with
# gc.callbacks, 2026-12-04: 33 s of their 153 s). Settled once the tests are collected
# (`settle_heap`: what exists then frozen, a larger young generation), 14-15 s over the
# three workers, the suite 176-180 -> 168 s.
@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    settle_heap()


@pytest.hookimpl(optionalhook=True)  # an xdist hook, on the process that schedules the workers
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Stop a run whose tests xdist cannot group: it would pass, slower, and nobody would
    notice (pytest 9.2 drops the group xdist 3.8 appends to a test's id: pytest-xdist#1386)."""
    if node.config.getvalue("dist") == "loadgroup" and ids and "@" not in ids[0]:
        raise pytest.UsageError(
            f"--dist loadgroup has no effect under pytest {pytest.__version__}: the tests' "
            "groups are lost (pytest-xdist#1386); keep pytest below 9.2"
        )


def _group_of(item: pytest.Item) -> str:
    module = item.nodeid.partition("::")[0]
    if "shared_system" not in getattr(item, "fixturenames", ()):
        return module
    folder = module.rpartition("/")[0]
    return f"{folder}/{runtime_name(item.module, 'shared')}"  # type: ignore[attr-defined]


def _folder_rank(item: pytest.Item) -> int:
    ranks = (i for i, folder in enumerate(_FOLDERS_IN_ORDER) if item.nodeid.startswith(folder))
    return next(ranks, len(_FOLDERS_IN_ORDER))


@pytest.fixture(scope="module")
def system(request: pytest.FixtureRequest, shared_system: SharedSystem) -> System:
    """The whole system, with SLAs long enough that no test's officer is ever late (a hari
    kerja of 120 s): the one most modules share. A folder's conftest overrides it."""
    name = runtime_name(request.module, "standard")
    return shared_system(name, lambda state: start_system(state, workday_seconds=120))


# A roster that names no Kepala Dinas: step 5's letter cannot name its signer, so an
# application parks (TERHENTI) there; a test's data fix writes the whole ROSTER back.
@pytest.fixture(scope="module")
def roster_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A roster file without the Kepala Dinas, the module's own to rewrite."""
    roster = json.loads(ROSTER.read_text())
    roster["officers"] = [o for o in roster["officers"] if o["role"] != "kepala_dinas"]
    path: Path = tmp_path_factory.mktemp("roster") / "roster.json"
    path.write_text(json.dumps(roster))
    return path


@pytest.fixture(scope="module")
def system_without_kepala_dinas(
    tmp_path_factory: pytest.TempPathFactory, roster_file: Path
) -> Iterator[System]:
    """A runtime of the module's own on `roster_file` (others rely on the Kepala Dinas)."""
    state = tmp_path_factory.mktemp("parked")
    with start_system(state, workday_seconds=120, roster=roster_file) as runtime:
        yield System(runtime, endpoints_of(runtime, roster_file))
