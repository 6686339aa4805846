"""Tell OSS the application's status at the SOP's milestones (PIA receiveLicenseStatus: 40, 45, 93).

Input: an SQS batch of {id_izin, milestone}. Output: the failed items (retried, then the DLQ);
the workflow never waits on these calls.
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
from izin.integrations import CallFailed, UrllibHttp, send_status
from izin.observability import logger
from izin.queues import back_off
from izin.settings import settings

processor = BatchProcessor(event_type=EventType.SQS)


def handle(record: SQSRecord) -> str:
    message = json.loads(record.body)
    logger.append_keys(id_izin=message["id_izin"])
    try:
        return send_status(
            message["id_izin"],
            message["milestone"],
            store=wiring.store(),
            roster=wiring.roster(),
            http=UrllibHttp(),
            base_url=settings().oss_base_url,
            user_key=wiring.secret(settings().oss_user_key_secret_arn),
            kd_instansi=settings().kd_instansi,
            now=wiring.now(),
        )
    except CallFailed as failure:
        logger.warning(
            "OSS status failed; retried later",
            extra={"reason": str(failure), "delay": back_off(record.raw_event)},
        )
        raise


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=handle, processor=processor, context=context
    )
