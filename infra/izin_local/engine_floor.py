"""The engine's floor: what moto's Step Functions costs per state with handlers doing nothing.

`izin bench` divides the product's CPU per state transition by this floor, measured on the
same machine in the same run, so a figure reads the same on a faster or slower machine.
The machine here has the product's own shape: as many states per execution as one
application enters, half of them Lambda tasks, half callbacks (`.waitForTaskToken`)
answered at once, run by moto in this process with the local runtime's own patches and
no-op handlers. Run it when no runtime is up: moto's mock resets every backend.
"""

from __future__ import annotations

import io
import json
import resource
import time
import zipfile
from dataclasses import dataclass
from typing import Any

from izin_local import moto_patches

REGION = "ap-southeast-3"


@dataclass(frozen=True)
class Floor:
    """CPU per state transition of the no-op machine."""

    executions: int
    transitions: int
    cpu_seconds: float

    @property
    def ms_per_transition(self) -> float:
        return self.cpu_seconds / self.transitions * 1000 if self.transitions else float("nan")


def definition(states: int) -> dict[str, Any]:
    """A chain of `states` Task states, alternately a Lambda call and a callback."""
    names = [f"S{n:02d}" for n in range(states)]
    body: dict[str, Any] = {}
    for n, name in enumerate(names):
        callback = n % 2 == 1
        state: dict[str, Any] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke"
            + (".waitForTaskToken" if callback else ""),
            "Parameters": {
                "FunctionName": "noop",
                "Payload": {"token.$": "$$.Task.Token"} if callback else {"n": n},
            },
            "ResultPath": None,
        }
        if n + 1 < len(names):
            state["Next"] = names[n + 1]
        else:
            state["End"] = True
        body[name] = state
    return {"StartAt": names[0], "States": body}


def measure(states: int, executions: int, *, timeout: float = 120.0) -> Floor:
    """Run `executions` executions of the no-op machine concurrently; their CPU."""
    import boto3
    from moto import mock_aws

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name=REGION)

        def noop(_name: str, event: Any) -> tuple[str, bool]:
            payload = json.loads(event) if isinstance(event, str | bytes) else event
            if isinstance(payload, dict) and "token" in payload:
                sfn.send_task_success(taskToken=payload["token"], output="{}")
            return "{}", False

        undo = moto_patches.apply_all(
            noop,
            skip=frozenset({"serialize_dynamodb_writes", "enforce_role_policies"}),
        )
        try:
            arn = _create(sfn, states)
            before = _cpu()
            started = [
                sfn.start_execution(stateMachineArn=arn, name=f"floor-{n}")["executionArn"]
                for n in range(executions)
            ]
            _wait(sfn, started, timeout)
            used = _cpu() - before
        finally:
            undo()
    return Floor(executions, states * executions, used)


def _create(sfn: Any, states: int) -> str:
    import boto3

    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="floor", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="noop",
        Runtime="python3.12",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": archive.getvalue()},
    )
    created = sfn.create_state_machine(
        name="floor", definition=json.dumps(definition(states)), roleArn=role
    )
    return str(created["stateMachineArn"])


def _wait(sfn: Any, executions: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = set(executions)
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} floor executions still running")
        for arn in list(pending):
            status = sfn.describe_execution(executionArn=arn)["status"]
            if status != "RUNNING":
                if status != "SUCCEEDED":
                    raise RuntimeError(f"a floor execution ended {status}")
                pending.discard(arn)
        time.sleep(0.05)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
