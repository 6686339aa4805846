"""A process that holds a runtime for its whole life settles its heap once the runtime is up
(`settle_heap`); a runtime in a process that goes on to other things (a test's) leaves the
garbage collector as it found it."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pytest
from izin_local import bench, cli, demo, runtime, serve
from izin_local.cli import main
from izin_local.config import TEMPLATE
from izin_local.runtime import LocalRuntime, settle_heap


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_settling_collects_the_garbage_there_is_then_freezes_the_rest() -> None:
    garbage, kept = Cycle(), Cycle()
    gone = weakref.ref(garbage)
    del garbage  # a cycle: only the collector frees it
    frozen_before = gc.get_freeze_count()
    gc.set_threshold(700, 10, 10)  # CPython's default (this test process's is settled)
    settle_heap()
    assert gone() is None, "garbage frozen instead of collected: it would never be freed"
    assert gc.get_freeze_count() > frozen_before
    assert gc.get_threshold() == (7000, 10, 10)
    assert kept.me is kept


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The runtime's start as a no-op; `settle_heap` counted instead of run."""
    calls: list[str] = []
    monkeypatch.setattr(runtime, "settle_heap", lambda: calls.append("settled"))
    monkeypatch.setattr(LocalRuntime, "_start", lambda self, stack: None)
    for name in ("http_url", "aws_endpoint"):  # what start() logs
        monkeypatch.setattr(LocalRuntime, name, property(lambda self: "http://127.0.0.1:9"))
    return calls


@pytest.mark.parametrize("whole_process", [True, False])
def test_a_runtime_settles_the_heap_only_for_a_process_of_its_own(
    settled: list[str], tmp_path: Path, whole_process: bool
) -> None:
    local = LocalRuntime(TEMPLATE, tmp_path, whole_process=whole_process)
    local.start()
    local.stop()
    assert settled == (["settled"] if whole_process else [])


def test_bench_and_demo_run_their_runtime_as_the_process_s_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options: dict[str, dict[str, Any]] = {}

    def recorded(name: str) -> Any:
        def run(**kwargs: Any) -> int:
            options[name] = kwargs["options"]
            return 0

        return run

    monkeypatch.setattr(cli, "quiet", lambda: None)  # it sets this process's environment
    monkeypatch.setattr(bench, "run_bench", recorded("bench"))
    monkeypatch.setattr(demo, "run_demo", recorded("demo"))
    assert main(["bench", "--applications", "1"]) == 0
    assert main(["demo"]) == 0
    assert options["bench"]["whole_process"] is True
    assert options["demo"]["whole_process"] is True


def test_serve_runs_its_runtime_as_the_process_s_own(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[str, Any] = {}

    class Refused(Exception):
        pass

    def runtime_of(*args: Any, **kwargs: Any) -> Any:
        built.update(kwargs)
        raise Refused

    monkeypatch.setattr(serve, "LocalRuntime", runtime_of)
    monkeypatch.setattr(serve, "_log_to_console", lambda: None)  # this process's logging
    with pytest.raises(Refused):
        serve.serve(port=0, aws_port=0, state_dir=Path("unused"), env={}, secret_values={})
    assert built["whole_process"] is True
