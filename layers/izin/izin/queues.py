"""SQS and Step Functions adapters of the queue-driven functions, and their retry settings.

A worker that fails on a record reports it (ReportBatchItemFailures) after `back_off` has
pushed the message's next attempt further out, doubling with each receive; after the
queue's maxReceiveCount (the template's RedrivePolicy) SQS moves it to the DLQ. Each
worker's record handler is idempotent on the message body (Powertools idempotency, its
records kept in the one table under their own partition), so a message delivered twice
does its work once.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from izin.aws import client
from izin.observability import logger

if TYPE_CHECKING:  # the webhook and inbound functions use this module without them
    from izin.store import Store

F = TypeVar("F", bound=Callable[..., Any])

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
# The one table's key and TTL attributes (template.yaml), which the idempotency records use.
TABLE_KEY = ("PK", "SK")
TABLE_TTL_ATTRIBUTE = "expires_at"


class RetrySettings(BaseModel):
    """How the queue-driven workers retry: back-off and the timeout of each HTTP call.

    Read from the environment the template gives the workers (parameters RetryBaseSeconds,
    RetryMaxSeconds, CallTimeoutSeconds); the defaults are the production values.
    """

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")

    base_seconds: float = Field(60, alias="IZIN_RETRY_BASE_SECONDS", gt=0)
    max_seconds: int = Field(900, alias="IZIN_RETRY_MAX_SECONDS", ge=1, le=43200)
    call_timeout_seconds: float = Field(10, alias="IZIN_CALL_TIMEOUT_SECONDS", gt=0)

    @classmethod
    def of(cls, environ: Mapping[str, str] = os.environ) -> RetrySettings:
        """The settings of this environment (unset or empty variables take the defaults)."""
        return cls.model_validate({k: v for k, v in environ.items() if v != ""})

    def delay(self, receives: int) -> int:
        """Seconds before the next attempt of a message received `receives` times."""
        seconds = self.base_seconds * 2 ** max(0, receives - 1)
        return min(self.max_seconds, max(1, math.ceil(seconds)))


class SqsQueue:
    """A queue to send JSON messages to."""

    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, message: dict[str, Any]) -> None:
        """Send one message; raises if SQS did not take it."""
        client("sqs").send_message(
            QueueUrl=self.url, MessageBody=json.dumps(message, ensure_ascii=False)
        )


def back_off(record: Mapping[str, Any], retry: RetrySettings) -> int:
    """Delay a failed message's next attempt, doubling with each receive; returns the delay."""
    receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    delay = retry.delay(receives)
    sqs = client("sqs")
    queue_url = sqs.get_queue_url(QueueName=record["eventSourceARN"].rsplit(":", 1)[-1])["QueueUrl"]
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=delay
    )
    return delay


def retry_later(
    record: Mapping[str, Any],
    failure: Exception,
    *,
    system: str,
    id_izin: str,
    retry: RetrySettings,
    store: Store,
    now: datetime,
) -> int:
    """A call out failed: push the message's next attempt out and keep the failure in the trail."""
    from izin.integrations import record_call_failure

    delay = back_off(record, retry)
    attempt = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    record_call_failure(
        store, id_izin, system=system, reason=str(failure), attempt=attempt, retry_in=delay, now=now
    )
    logger.warning(
        "call failed; retried later",
        extra={"system": system, "attempt": attempt, "delay": delay, "reason": str(failure)},
    )
    return delay


def process_batch(
    event: dict[str, Any], context: Any, handle: Callable[..., Any], *, name: str
) -> dict[str, Any]:
    """Each SQS record through `handle` once per body; the failed ones reported back to SQS."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    from izin.settings import settings

    record_handler = idempotent_on_body(
        handle, table_name=settings().table_name, name=name, context=context
    )
    return dict(
        process_partial_response(
            event=event,
            record_handler=record_handler,
            processor=BatchProcessor(event_type=EventType.SQS),
            context=context,
        )
    )


def idempotent_on_body(handle: F, *, table_name: str, name: str, context: Any) -> F:
    """`handle(record=…)` done once per message body: a redelivery returns the first result.

    The records live in the one table under PK `IDEMPOTENCY#{name}` (SK: the body's hash),
    expiring through its TTL attribute `expires_at`. A failed attempt leaves no record, so
    the retry runs again. Made per invocation: the table name is a setting, and the
    Lambda context bounds how long an in-progress record blocks a redelivery.
    """
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(
        event_key_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        hash_function="sha256",
    )
    config.register_lambda_context(context)
    persistence = DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr=TABLE_KEY[0],
        sort_key_attr=TABLE_KEY[1],
        static_pk_value=f"IDEMPOTENCY#{name}",
        expiry_attr=TABLE_TTL_ATTRIBUTE,
        boto3_client=client("dynamodb"),
    )
    wrapped: F = idempotent_function(
        handle,
        data_keyword_argument="record",
        persistence_store=persistence,
        config=config,
        key_prefix=name,
    )
    return wrapped
