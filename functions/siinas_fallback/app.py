"""Step 17 when SIINAS never took the BAP: its upload message reached the SIINAS DLQ.

Input: an SQS batch (from the SIINAS dead-letter queue) of {id_izin, task_token, execution}.
Output: the failed items. Each opens the Operator's manual upload task, whose page completes
step 17 with the same task token; the application is never lost to a DLQ.
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from izin import wiring
from izin.integrations import open_manual_upload
from izin.models import UploadMessage
from izin.observability import logger
from izin.queues import process_batch
from izin.settings import needs_settings
from izin.wiring import manual_tasks

REASON = "unggah BAP ke SIINAS gagal pada setiap percobaan"


def handle(record: SQSRecord) -> str:
    message = UploadMessage.model_validate_json(record.body)
    logger.append_keys(id_izin=message.id_izin)
    logger.warning("SIINAS upload dead-lettered; manual task for the Operator")
    now = wiring.now()
    return open_manual_upload(
        message.id_izin,
        message.task_token,
        reason=REASON,
        store=wiring.store(),
        issue=manual_tasks(now),
        now=now,
        execution=message.execution,
    )


@logger.inject_lambda_context
@needs_settings()
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_batch(event, context, handle, name="siinas_fallback")
