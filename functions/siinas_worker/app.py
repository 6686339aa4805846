"""Step 17: upload the signed BAP to SIINAS, then complete the step (CONTRACT §2).

Input: an SQS batch of {id_izin, task_token}. Output: the failed items; each comes back
later, with a doubling delay, and ends in the DLQ after the queue's maxReceiveCount.
"""

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from izin import wiring
from izin.integrations import CallFailed, UrllibHttp, upload_bap
from izin.observability import logger
from izin.queues import back_off
from izin.settings import settings

processor = BatchProcessor(event_type=EventType.SQS)


def handle(record: SQSRecord) -> str:
    message = json.loads(record.body)
    logger.append_keys(id_izin=message["id_izin"])
    try:
        return upload_bap(
            message["id_izin"],
            message["task_token"],
            store=wiring.store(),
            http=UrllibHttp(),
            read_object=wiring.read_object,
            base_url=settings().siinas_base_url,
            bearer=wiring.secret(settings().siinas_token_secret_arn),
            callbacks=wiring.callbacks(),
            now=wiring.now(),
        )
    except CallFailed as failure:
        logger.warning(
            "SIINAS upload failed; retried later",
            extra={"reason": str(failure), "delay": back_off(record.raw_event)},
        )
        raise


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=handle, processor=processor, context=context
    )
