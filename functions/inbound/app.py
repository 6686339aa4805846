"""Apply each queued OSS/SIINAS event: start the execution, or complete the waiting step.

Input: an SQS batch. Output: the batch's failed items (ReportBatchItemFailures).
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from izin import wiring
from izin.events import InboundEvent, apply_event
from izin.observability import logger
from izin.settings import needs_settings, settings
from izin.stepfunctions import StepFunctionsExecutions

processor = BatchProcessor(event_type=EventType.SQS)


def handle(record: SQSRecord) -> str:
    event = InboundEvent.model_validate_json(record.body)
    logger.set_correlation_id(str(event.data.get("id_izin", "")))
    outcome = apply_event(
        event,
        store=wiring.store(),
        executions=StepFunctionsExecutions(settings().state_machine_arn),
        callbacks=wiring.callbacks(),
        now=wiring.now(),
    )
    logger.info(
        "event applied", extra={"event_id": event.event_id, "type": event.type, "outcome": outcome}
    )
    return outcome


@logger.inject_lambda_context
@needs_settings("state_machine_arn")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=handle, processor=processor, context=context
        )
    )
