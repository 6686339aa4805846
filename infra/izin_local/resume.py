"""`izin resume ID`: start a parked (TERHENTI) application again from the state that failed.

Works against AWS or the local runtime alike (AWS_ENDPOINT_URL / --endpoint-url): reads the
application, its last execution's history, starts `{execution name}-lanjut-{n}` with the
input the router ("Mulai") needs, and records the resumption in the audit trail.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from izin.models import execution_name
from izin.resume import NotResumable, resumable_states, resume_input, resume_point
from izin.store import DynamoStore


class StateMachineNotFound(LookupError):
    """No state machine was named, and not exactly one at the endpoint is Izin Perluasan's."""

    def __init__(self, arns: list[str]) -> None:
        super().__init__(f"no one state machine named *izin-perluasan among {arns}")
        self.arns = arns


def resume(id_izin: str, *, table: str, state_machine_arn: str, by: str) -> str:
    """Start the application again; returns the new execution's ARN."""
    import boto3

    sfn = boto3.client("stepfunctions")
    store = DynamoStore(table)
    application = store.application(id_izin)
    if application is None or application.get("status") != "TERHENTI":
        raise NotResumable(f"{id_izin} is not TERHENTI")
    base = execution_name(id_izin)
    executions = [
        e
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn)
        for e in page["executions"]
        if e["name"] == base or e["name"].startswith(f"{base}-lanjut-")
    ]
    last = max(executions, key=lambda e: e["startDate"])
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for page in sfn.get_paginator("get_execution_history").paginate(
            executionArn=last["executionArn"]
        )
        for e in page["events"]
        if "stateEnteredEventDetails" in e
    ]
    definition = sfn.describe_state_machine(stateMachineArn=state_machine_arn)["definition"]
    start_at = resume_point(entered, resumable_states(definition))
    name = f"{base}-lanjut-{len(executions)}"[:80]
    started = sfn.start_execution(
        stateMachineArn=state_machine_arn,
        name=name,
        input=json.dumps(resume_input(store, application, start_at)),
    )
    now = datetime.now(UTC)
    store.update_application(
        id_izin,
        {"status": "PROSES", "execution": name, "updated_at": now.isoformat()},
        remove=("reason",),
    )
    store.append_audit(
        id_izin,
        {
            "action": "application.resumed",
            "actor": by,
            "execution": name,
            "previous_reason": application.get("reason", {}),
            "note": f"dilanjutkan dari {start_at}",
        },
        now=now,
    )
    arn: str = started["executionArn"]
    return arn


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
