"""Test support: the whole system of template.yaml running locally, and what tests read of it.

Used by the integration tests (as pytest fixtures) and by anyone scripting the local
runtime: start it, drive applications, read executions' histories and the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from izin.models import execution_name
from izin.roster import load_roster
from izin.sop import step
from izin.store import DynamoStore, Store

from izin_local.cli import TEMPLATE, runtime_options, webhook_secrets
from izin_local.officer import wait_until
from izin_local.runtime import LocalRuntime
from izin_local.scenario import Endpoints

ROSTER = Path(__file__).resolve().parents[2] / "layers/izin/izin/data/roster.json"


@dataclass
class System:
    """A running system and what the tests read of it."""

    runtime: LocalRuntime
    endpoints: Endpoints

    def execution_arn(self, id_izin: str) -> str:
        """The ARN of the application's execution."""
        machine = self.runtime.state_machine_arns["IzinStateMachine"]
        return machine.replace(":stateMachine:", ":execution:") + ":" + execution_name(id_izin)

    def execution(self, id_izin: str) -> dict[str, Any]:
        """DescribeExecution of the application's execution."""
        sfn = boto3.client("stepfunctions")
        answer = sfn.describe_execution(executionArn=self.execution_arn(id_izin))
        return dict(answer)

    def finished(self, id_izin: str, timeout: float = 60) -> dict[str, Any]:
        """The execution once it has stopped running."""
        return wait_until(
            lambda: e if (e := self.execution(id_izin))["status"] != "RUNNING" else None,
            timeout=timeout,
            what=f"execution of {id_izin} finished",
        )

    def history(self, id_izin: str) -> list[dict[str, Any]]:
        """Every event of the execution's history."""
        sfn = boto3.client("stepfunctions")
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": self.execution_arn(id_izin), "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events += [dict(e) for e in page["events"]]
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def states(self, id_izin: str) -> list[str]:
        """The names of the states the execution entered, in order."""
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(id_izin)
            if "stateEnteredEventDetails" in e
        ]

    def final_output(self, id_izin: str) -> dict[str, Any]:
        """The execution's output."""
        output: dict[str, Any] = json.loads(self.execution(id_izin).get("output") or "{}")
        return output


def start_system(
    state_dir: Path,
    *,
    workday_seconds: float,
    roster: Path = ROSTER,
    parameter_overrides: dict[str, str] | None = None,
) -> LocalRuntime:
    """A runtime of the real template, with the built-in simulators, the roster, a clock."""
    options = runtime_options(workday_seconds)
    options["parameter_overrides"] |= {"RosterFile": str(roster), **(parameter_overrides or {})}
    # The built-in simulators, whatever this shell has set; the functions log warnings only.
    options["env"] = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
    return LocalRuntime(TEMPLATE, state_dir, **options)


def endpoints_of(runtime: LocalRuntime, roster: Path = ROSTER) -> Endpoints:
    """What a scenario needs of a running runtime."""
    return Endpoints(
        http_url=runtime.http_url,
        outbox=runtime.outbox,
        store=DynamoStore(runtime.table_names["IzinTable"]),
        roster=load_roster(roster),
        secrets=webhook_secrets(),
    )


def human(n: int) -> list[str]:
    """The states of an officer's step: its deadline, then the wait for the decision."""
    return [f"{n:02d} Tenggat", step(n).state_name]


def doc(code: str, title: str) -> list[str]:
    """The state that renders one document."""
    return [f"{code} Dokumen - {title}"]


def wait_for_status(store: Store, id_izin: str, status: str, timeout: float = 60) -> dict[str, Any]:
    """The application's record once its status is `status`."""
    return wait_until(
        lambda: a if (a := store.application(id_izin) or {}).get("status") == status else None,
        timeout=timeout,
        what=f"{id_izin} {status}",
    )


class MemoryStore:
    """The table's items in a dict, the audit trail in a list: the fake of `izin.store.Store`.

    Domain tests hand it in where the code takes a store, then read what was written.
    """

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.trail: list[dict[str, Any]] = []
        self.counters: dict[tuple[str, int], int] = {}

    @classmethod
    def seeded(cls, application: dict[str, Any], steps: dict[int, dict[str, Any]]) -> MemoryStore:
        """A store holding one application and its steps' form data."""
        store = cls()
        id_izin = application["id_izin"]
        store.put(f"APP#{id_izin}", "META", application)
        for number, data in steps.items():
            store.save_step(id_izin, number, data)
        return store

    def put(self, pk: str, sk: str, fields: dict[str, Any], *, if_absent: bool = False) -> bool:
        if if_absent and (pk, sk) in self.items:
            return False
        self.items[(pk, sk)] = {"PK": pk, "SK": sk, **fields}
        return True

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.items.get((pk, sk))
        return dict(item) if item is not None else None

    def update(
        self, pk: str, sk: str, fields: dict[str, Any], **_conditions: Any
    ) -> dict[str, Any]:
        self.items[(pk, sk)] = {"PK": pk, "SK": sk, **self.items.get((pk, sk), {}), **fields}
        return dict(self.items[(pk, sk)])

    def query(self, pk: str, prefix: str, *, newest_first: bool = False) -> list[dict[str, Any]]:
        found = [
            dict(item)
            for (p, s), item in sorted(self.items.items())
            if p == pk and s.startswith(prefix)
        ]
        return found[::-1] if newest_first else found

    def application(self, id_izin: str) -> dict[str, Any] | None:
        return self.get(f"APP#{id_izin}", "META")

    def save_step(self, id_izin: str, step: int, data: dict[str, Any]) -> None:
        self.put(f"APP#{id_izin}", f"STEP#{step:02d}", {"data": data})

    def step_data(self, id_izin: str, step: int) -> dict[str, Any]:
        item = self.get(f"APP#{id_izin}", f"STEP#{step:02d}")
        return dict(item["data"]) if item else {}

    def append_audit(self, id_izin: str, entry: dict[str, Any], *, now: datetime) -> None:
        self.trail.append({"id_izin": id_izin, "at": now.isoformat(), **entry})

    def audit(self, id_izin: str) -> list[dict[str, Any]]:
        return [e for e in self.trail if e["id_izin"] == id_izin]

    def next_number(self, jenis: str, year: int) -> int:
        self.counters[(jenis, year)] = self.counters.get((jenis, year), 0) + 1
        return self.counters[(jenis, year)]

    def actions(self) -> list[str]:
        """The audit trail's actions, in order."""
        return [e["action"] for e in self.trail]
