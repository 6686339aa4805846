"""The one adapter on AWS Step Functions: starting an application's execution, completing a
waiting state. The domain sees them as the ports izin.events.Executions and
izin.callbacks.Callbacks.
"""

from __future__ import annotations

import json
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
