"""`izin resume ID`: start a parked (TERHENTI) application again from the state that failed.

Works against AWS or the local runtime alike (AWS_ENDPOINT_URL / --endpoint-url): reads the
application, its last execution's history, starts `{execution name}-lanjut-{n}` with the
input the router ("Mulai") needs, and records the resumption in the audit trail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from izin.resume import resume_parked
from izin.stepfunctions import StepFunctionsExecutions, StepFunctionsHistory
from izin.store import DynamoStore


class StateMachineNotFound(LookupError):
    """No state machine was named, and not exactly one at the endpoint is Izin Perluasan's."""

    def __init__(self, arns: list[str]) -> None:
        super().__init__(f"no one state machine named *izin-perluasan among {arns}")
        self.arns = arns


def resume(id_izin: str, *, table: str, state_machine_arn: str, by: str) -> str:
    """Start the application again; returns the new execution's ARN."""
    name = resume_parked(
        id_izin,
        store=DynamoStore(table),
        history=StepFunctionsHistory(state_machine_arn),
        executions=StepFunctionsExecutions(state_machine_arn),
        by=by,
        now=datetime.now(UTC),
    )
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


def state_machine_arn(endpoint_url: str | None) -> str:
    """The Izin Perluasan state machine of this account (the one whose name says so)."""
    import boto3

    machines: list[dict[str, Any]] = [
        dict(m)
        for page in boto3.client("stepfunctions", endpoint_url=endpoint_url)
        .get_paginator("list_state_machines")
        .paginate()
        for m in page["stateMachines"]
    ]
    matches = [m["stateMachineArn"] for m in machines if m["name"].endswith("izin-perluasan")]
    if len(matches) != 1:
        raise StateMachineNotFound(matches)
    return matches[0]
