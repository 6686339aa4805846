"""Step 17: upload the signed BAP to SIINAS, then complete the step (CONTRACT §2).

Input: an SQS batch of {id_izin, task_token}. Output: the failed items; each comes back
later, with a doubling delay, and ends in the DLQ after the queue's maxReceiveCount (where
the SIINAS fallback function opens the Operator's manual task). Where SIINAS_BASE_URL is
empty, the Operator's manual upload task opens at once instead.
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from izin import wiring
from izin.integrations import CallFailed, StdlibHttp, open_manual_upload, upload_bap
from izin.models import UploadMessage
from izin.observability import logger
from izin.queues import RetrySettings, process_batch, retry_later
from izin.settings import needs_settings, settings
from izin.store import InvocationStore
from izin.wiring import manual_tasks


def handle(record: SQSRecord) -> str:
    message = UploadMessage.model_validate_json(record.body)
    id_izin, token = message.id_izin, message.task_token
    logger.append_keys(id_izin=id_izin)
    # The BAP's letters and the step's data: the application's partition read once.
    now, store = wiring.now(), InvocationStore(wiring.store(), whole_applications=True)
    if not settings().siinas_base_url:
        reason = "SIINAS_BASE_URL tidak dikonfigurasi"
        return open_manual_upload(
            id_izin,
            token,
            reason=reason,
            store=store,
            issue=manual_tasks(now),
            now=now,
            execution=message.execution,
        )
    retry = RetrySettings.of()
    try:
        return upload_bap(
            id_izin,
            token,
            store=store,
            http=StdlibHttp(retry.call_timeout_seconds),
            read_object=wiring.read_object,
            base_url=settings().siinas_base_url,
            bearer=wiring.secret(settings().siinas_token_secret_arn),
            callbacks=wiring.callbacks(),
            now=now,
        )
    except CallFailed as failure:
        retry_later(
            record.raw_event,
            failure,
            system="siinas",
            id_izin=id_izin,
            retry=retry,
            store=store,
            now=now,
        )
        raise


@logger.inject_lambda_context
@needs_settings()
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_batch(event, context, handle, name="siinas_worker")
