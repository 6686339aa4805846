"""SQS event sources: one poller thread per function Event of Type SQS, as Lambda runs them.

moto's own SQS-to-Lambda trigger calls the function inside `send_message`, one record at
a time, ignores `batchItemFailures` and deletes every message, so no event source mapping
is created in moto; these pollers do what Lambda's do instead. They wait as a long poll
waits, but in this process, on moto's own queue (moto serves from here): no request while
a queue is empty (a long poll of 1 s was a request a second per queue, and a stop waited
for it), woken at once by a message sent or by the stop, and every second for a message
whose visibility timeout or delay ends. Then they receive through SQS's API as Lambda
does, gather up to BatchSize records or until MaximumBatchingWindowInSeconds ends, invoke
the function (in its worker) and delete what succeeded: with
ReportBatchItemFailures every record but those reported, otherwise all of them on
success and none on an exception. What is not deleted comes back after the queue's
visibility timeout; after maxReceiveCount receives moto itself moves it to the DLQ when
it is next received (as SQS does), so the pollers need not.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlparse

import boto3

from izin_local.lambda_runner import LambdaRunner
from izin_local.provisioner import Provisioned

logger = logging.getLogger(__name__)

_WAIT_SECONDS: Final = 1
_SQS_MAX_MESSAGES: Final = 10


@dataclass(frozen=True)
class SqsEventSource:
    """One Events entry of Type SQS of one function."""

    function_logical_id: str
    event_name: str
    queue_url: str
    queue_arn: str
    batch_size: int
    batching_window: float
    report_batch_item_failures: bool


def event_sources(provisioned: Provisioned) -> list[SqsEventSource]:
    """The enabled SQS events of every function, with their queues' local URLs."""
    url_by_arn = {
        resource.attributes["Arn"]: resource.ref
        for resource in provisioned.resources.values()
        if resource.type == "AWS::SQS::Queue"
    }
    sources = []
    for spec in provisioned.functions.values():
        for event_name, event in spec.events.items():
            if event.get("Type") != "SQS":
                continue
            properties = event.get("Properties") or {}
            if str(properties.get("Enabled", True)).lower() == "false":
                continue
            queue_arn = str(properties["Queue"])
            if queue_arn not in url_by_arn:
                raise LookupError(
                    f"{spec.logical_id}.{event_name}: queue {queue_arn} is not in the template"
                )
            sources.append(
                SqsEventSource(
                    function_logical_id=spec.logical_id,
                    event_name=event_name,
                    queue_url=url_by_arn[queue_arn],
                    queue_arn=queue_arn,
                    batch_size=int(properties.get("BatchSize", 10)),
                    batching_window=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (properties.get("FunctionResponseTypes") or []),
                )
            )
    return sources


def lambda_event(messages: list[dict[str, Any]], source: SqsEventSource, region: str) -> dict:
    """The event Lambda gives an SQS-triggered function."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes") or {}),
                "messageAttributes": {
                    name: _message_attribute(value)
                    for name, value in (message.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": message["MD5OfBody"],
                **(
                    {"md5OfMessageAttributes": message["MD5OfMessageAttributes"]}
                    if "MD5OfMessageAttributes" in message
                    else {}
                ),
                "eventSource": "aws:sqs",
                "eventSourceARN": source.queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


class SqsPollers:
    """Every SQS event source of the template, each polled by a thread of its own."""

    def __init__(
        self, runner: LambdaRunner, provisioned: Provisioned, *, endpoint: str, region: str
    ) -> None:
        self._runner = runner
        self._sources = event_sources(provisioned)
        self._region = region
        session = boto3.session.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 (moto accepts any)
            region_name=region,
        )
        # One client per thread: made here, on one thread, as boto3 sessions require.
        self._clients = [session.client("sqs", endpoint_url=endpoint) for _ in self._sources]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def sources(self) -> list[SqsEventSource]:
        return list(self._sources)

    def start(self) -> None:
        for source, client in zip(self._sources, self._clients, strict=True):
            thread = threading.Thread(
                target=self._run,
                args=(source, client),
                name=f"sqs-{source.function_logical_id}-{source.event_name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
            logger.debug("polling %s for %s", source.queue_url, source.function_logical_id)

    def stop(self) -> None:
        self._stop.set()
        for source in self._sources:
            queue = _moto_queue(source.queue_url, self._region)
            if queue is not None:
                with queue._messages_lock:
                    queue._messages_lock.notify_all()  # a waiting poller sees the stop
        for thread in self._threads:
            thread.join(timeout=_WAIT_SECONDS + 10)
        self._threads.clear()

    def _wait_for_messages(self, queue: Any, timeout: float) -> bool:
        """Whether a message is visible in moto's `queue`, waiting at most `timeout` s (as its
        long poll waits) and woken by a message sent or by the stop; False at the stop."""
        with queue._messages_lock:
            visible = queue._messages_lock.wait_for(
                lambda: self._stop.is_set() or queue.messages, timeout=timeout
            )
        return bool(visible) and not self._stop.is_set()

    def _run(self, source: SqsEventSource, client: Any) -> None:
        while not self._stop.is_set():
            try:
                batch = self._gather(source, client)
                if batch:
                    self._deliver(source, client, batch)
            except Exception:
                if self._stop.is_set():
                    return  # the server went away under us: that is the stop
                logger.exception("poller %s failed; polling again", source.event_name)
                self._stop.wait(1)

    def _gather(self, source: SqsEventSource, client: Any) -> list[dict[str, Any]]:
        """Up to BatchSize messages, waiting at most the batching window once one arrived."""
        batch: list[dict[str, Any]] = []
        window_ends: float | None = None
        queue = _moto_queue(source.queue_url, self._region)
        wait_here = queue is not None  # else SQS's own long poll
        while not self._stop.is_set() and len(batch) < source.batch_size:
            left = _WAIT_SECONDS if window_ends is None else window_ends - time.monotonic()
            if left <= 0:
                break
            if wait_here and not self._wait_for_messages(queue, min(left, _WAIT_SECONDS)):
                continue
            if window_ends is not None and time.monotonic() >= window_ends:
                break  # what became visible as the window ended waits for the next batch
            answer = client.receive_message(
                QueueUrl=source.queue_url,
                MaxNumberOfMessages=min(_SQS_MAX_MESSAGES, source.batch_size - len(batch)),
                WaitTimeSeconds=0 if wait_here else _WAIT_SECONDS,
                AttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = answer.get("Messages", [])
            # A wake that received nothing (moto held the message back: a FIFO group in
            # flight, one it moved to the DLQ): SQS's own long poll next, not a busy loop.
            wait_here = queue is not None and (bool(messages) or not wait_here)
            batch.extend(messages)
            if batch and window_ends is None:
                window_ends = time.monotonic() + source.batching_window
            if batch and source.batching_window == 0:
                break
        return batch

    def _deliver(self, source: SqsEventSource, client: Any, batch: list[dict[str, Any]]) -> None:
        invocation = self._runner.invoke(
            source.function_logical_id, lambda_event(batch, source, self._region)
        )
        if invocation.errored:
            return  # every message comes back after the visibility timeout
        failed = _reported_failures(invocation.result, batch, source)
        done = [message for message in batch if message["MessageId"] not in failed]
        for start in range(0, len(done), _SQS_MAX_MESSAGES):
            chunk = done[start : start + _SQS_MAX_MESSAGES]
            client.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(chunk)
                ],
            )


def _moto_queue(queue_url: str, region: str) -> Any:
    """moto's own object for this queue, or None when moto does not serve it from here."""
    from moto.sqs.exceptions import QueueDoesNotExist
    from moto.sqs.models import sqs_backends

    account, _, name = urlparse(queue_url).path.strip("/").partition("/")
    try:
        return sqs_backends[account][region].get_queue(name)
    except (QueueDoesNotExist, KeyError):
        return None


def _reported_failures(
    result: Any, batch: list[dict[str, Any]], source: SqsEventSource
) -> set[str]:
    """The message ids to keep: those reported failed, or all if the report is invalid."""
    if not source.report_batch_item_failures or not result:
        return set()
    every_id = {message["MessageId"] for message in batch}
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if failures is None:
        return set()
    try:
        reported = {str(failure["itemIdentifier"]) for failure in failures}
    except (KeyError, TypeError):
        reported = every_id  # Lambda treats a malformed report as a failed batch
    if not reported <= every_id or "" in reported or "None" in reported:
        logger.warning("%s: batchItemFailures names unknown ids", source.function_logical_id)
        return every_id
    return reported
