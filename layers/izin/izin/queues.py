"""SQS and Step Functions adapters of the queue-driven functions."""

from __future__ import annotations

import json
from typing import Any

from izin.aws import client

BACKOFF_BASE_SECONDS = 2
BACKOFF_MAX_SECONDS = 900


class SqsQueue:
    """A queue to send JSON messages to."""

    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, message: dict[str, Any]) -> None:
        """Send one message; raises if SQS did not take it."""
        client("sqs").send_message(
            QueueUrl=self.url, MessageBody=json.dumps(message, ensure_ascii=False)
        )


def back_off(record: dict[str, Any]) -> int:
    """Delay a failed message's next attempt, doubling with each receive; returns the delay."""
    receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    delay = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (receives - 1))
    sqs = client("sqs")
    queue_url = sqs.get_queue_url(QueueName=record["eventSourceARN"].rsplit(":", 1)[-1])["QueueUrl"]
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=delay
    )
    return delay


class StepFunctionsExecutions:
    """Starts executions of the Izin Perluasan state machine."""

    def __init__(self, state_machine_arn: str) -> None:
        self.arn = state_machine_arn

    def start(self, name: str, state: dict[str, Any]) -> bool:
        """StartExecution; False when an execution of that name exists already."""
        sfn = client("stepfunctions")
        try:
            sfn.start_execution(stateMachineArn=self.arn, name=name, input=json.dumps(state))
        except sfn.exceptions.ExecutionAlreadyExists:
            return False
        return True
