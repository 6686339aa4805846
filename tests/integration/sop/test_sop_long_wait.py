"""A wait on OSS or SIINAS longer than an execution may last: the application continues.

Step Functions ends a Standard execution after a year, TIMED_OUT: not parked, no alarm,
not resumable. Here the execution's budget is shortened to 4 s (ExecutionBudgetSeconds):
the wait at step 02 outlasts it, the application continues in `…-lanjut-1`, and SIINAS's
event, arriving after that, is delivered to the new execution, which goes on to step 04.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from izin_local import samples
from izin_local.officer import wait_until
from izin_local.scenario import post, wait_for_step
from izin_local.testing import System, endpoints_of, start_system

BUDGET_SECONDS = 4


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    state = tmp_path_factory.mktemp("long-wait")
    overrides = {"ExecutionBudgetSeconds": str(BUDGET_SECONDS)}
    with start_system(state, workday_seconds=120, parameter_overrides=overrides) as runtime:
        yield System(runtime, endpoints_of(runtime))


def _executions(system: System, id_izin: str) -> dict[str, Any]:
    machine = system.runtime.state_machine_arns["IzinStateMachine"]
    listed = boto3.client("stepfunctions").list_executions(stateMachineArn=machine)
    return {e["name"]: e for e in listed["executions"] if e["name"].startswith(id_izin)}


def test_a_wait_outlasting_the_execution_continues_in_a_new_one(short_lived: System) -> None:
    system, id_izin = short_lived, "IP-LAMA-001"
    endpoints = system.endpoints
    post(endpoints, "oss", "permohonan.diajukan", samples.permohonan(id_izin))
    wait_for_step(endpoints, id_izin, 2)

    continued = wait_until(
        lambda: (e := _executions(system, id_izin)).get(f"{id_izin}-lanjut-1") and e,
        timeout=60,
        what="the application continued in a new execution",
    )
    first = continued[id_izin]
    wait_until(
        lambda: _executions(system, id_izin)[id_izin]["status"] == "SUCCEEDED",
        timeout=30,
        what="the first execution ended",
    )
    assert first["name"] == id_izin
    assert "02 Lanjut di Eksekusi Baru" in system.states(id_izin)
    trail = [e for e in endpoints.store.audit(id_izin) if e["action"] == "execution.continued"]
    assert trail[0]["previous"] == id_izin and trail[0]["execution"] == f"{id_izin}-lanjut-1"

    # SIINAS answers after the first execution's year: the current execution receives it.
    post(endpoints, "siinas", "verifikasi.diajukan", samples.verifikasi(id_izin))
    wait_for_step(endpoints, id_izin, 4)
    executions = _executions(system, id_izin)
    assert all(e["status"] != "TIMED_OUT" for e in executions.values())
    current = endpoints.store.application(id_izin)
    assert current is not None and current["execution"] in executions
    assert executions[current["execution"]]["status"] == "RUNNING"
