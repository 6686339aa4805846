"""The one adapter on AWS Step Functions: starting an application's execution, completing a
waiting state. The domain sees them as the ports izin.events.Executions and
izin.callbacks.Callbacks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from izin.aws import client
from izin.callbacks import GONE, TaskGone


class StepFunctionsCallbacks:
    """The adapter on AWS Step Functions."""

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        """SendTaskSuccess; TaskGone when the state no longer waits."""
        from botocore.exceptions import ClientError

        try:
            client("stepfunctions").send_task_success(
                taskToken=token, output=json.dumps(output, ensure_ascii=False, default=str)
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in GONE:
                raise TaskGone(error.response["Error"]["Code"]) from error
            raise

    def received(self, execution: str, event_id: str) -> bool:
        """GetExecutionHistory: a task of the execution succeeded with this event as its
        output (what izin.events.event_output hands a waiting state), newest first."""
        for event in _history(execution, reverseOrder=True):
            output = event.get("taskSucceededEventDetails", {}).get("output")
            if output and _event_id(output) == event_id:
                return True
        return False

    def succeeded(self, execution: str, token: str) -> bool:
        """GetExecutionHistory: the task scheduled with this token (in its parameters) ended
        in TaskSucceeded. The states run one after another: the first task event after it
        is its outcome."""
        scheduled = False
        for event in _history(execution):
            details = event.get("taskScheduledEventDetails")
            if details is not None:
                scheduled = token in _values(_json(details.get("parameters", "")))
            elif scheduled and event["type"] in _TASK_ENDS:
                return bool(event["type"] == "TaskSucceeded")
        return False


def _history(execution_arn: str, **order: Any) -> Iterator[dict[str, Any]]:
    """GetExecutionHistory: every event of the execution, page after page."""
    sfn = client("stepfunctions")
    page: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000, **order}
    while True:
        answer = sfn.get_execution_history(**page)
        yield from answer["events"]
        if not answer.get("nextToken"):
            return
        page["nextToken"] = answer["nextToken"]


def entered(execution_arn: str) -> list[str]:
    """GetExecutionHistory: the states the execution entered, in order."""
    return [
        str(e["stateEnteredEventDetails"]["name"])
        for e in _history(execution_arn)
        if "stateEnteredEventDetails" in e
    ]


_TASK_ENDS = frozenset({"TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskSubmitFailed"})


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _values(value: object) -> list[object]:
    """Every scalar in a JSON value, however deep."""
    if isinstance(value, dict):
        return [v for item in value.values() for v in _values(item)]
    if isinstance(value, list):
        return [v for item in value for v in _values(item)]
    return [value]


def _event_id(output: str) -> object:
    """The `event_id` a task's output carries at its top, if it is a JSON object."""
    value = _json(output)
    return value.get("event_id") if isinstance(value, dict) else None


class StepFunctionsExecutions:
    """Starts executions of the Izin Perluasan state machine."""

    def __init__(self, state_machine_arn: str) -> None:
        self.arn = state_machine_arn

    def start(self, name: str, state: dict[str, Any]) -> bool:
        """StartExecution; False when an execution of that name exists already.

        StartExecution with the name and input of a running execution succeeds without
        starting another (it is idempotent), so its answer cannot tell a repeat: ask first.
        """
        sfn = client("stepfunctions")
        execution_arn = self.arn.replace(":stateMachine:", ":execution:", 1) + ":" + name
        try:
            sfn.describe_execution(executionArn=execution_arn)
        except sfn.exceptions.ExecutionDoesNotExist:
            pass
        else:
            return False
        try:
            sfn.start_execution(stateMachineArn=self.arn, name=name, input=json.dumps(state))
        except sfn.exceptions.ExecutionAlreadyExists:
            return False
        return True


class StepFunctionsHistory:
    """What resuming a parked application reads of the state machine (izin.resume.History)."""

    def __init__(self, state_machine_arn: str) -> None:
        self.arn = state_machine_arn

    def executions(self, base: str) -> list[str]:
        """ListExecutions: the application's executions' names, oldest first."""
        sfn = client("stepfunctions")
        found: list[dict[str, Any]] = []
        token: dict[str, str] = {}
        while True:
            page = sfn.list_executions(stateMachineArn=self.arn, **token)
            found += [
                e
                for e in page["executions"]
                if e["name"] == base or e["name"].startswith(f"{base}-lanjut-")
            ]
            if not page.get("nextToken"):
                break
            token = {"nextToken": page["nextToken"]}
        return [str(e["name"]) for e in sorted(found, key=lambda e: e["startDate"])]

    def entered(self, name: str) -> list[str]:
        """GetExecutionHistory: the states the execution entered, in order."""
        return entered(self.arn.replace(":stateMachine:", ":execution:", 1) + ":" + name)

    def definition(self) -> str:
        """DescribeStateMachine: the ASL definition."""
        machine = client("stepfunctions").describe_state_machine(stateMachineArn=self.arn)
        return str(machine["definition"])
