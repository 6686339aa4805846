"""Tell OSS the application's status at the SOP's milestones (PIA receiveLicenseStatus: 40, 45, 93).

Input: an SQS batch of {id_izin, milestone}. Output: the failed items (retried with a
doubling delay, then the DLQ and its alarm); the workflow never waits on these calls.
"""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from izin import sop, wiring
from izin.incidents import FIRST_SENT
from izin.integrations import CallFailed, StdlibHttp, send_status
from izin.models import MilestoneMessage
from izin.observability import logger
from izin.queues import RetrySettings, process_batch, retry_later
from izin.settings import needs_settings, settings
from izin.store import InvocationStore


def handle(record: SQSRecord) -> str:
    message = MilestoneMessage.model_validate_json(record.body)
    id_izin = message.id_izin
    logger.append_keys(id_izin=id_izin)
    now, retry = wiring.now(), RetrySettings.of()
    # The record and the steps' data the status carries, with the roster: one batch.
    store = InvocationStore(wiring.store())
    store.read_ahead(roster=True, application=id_izin, steps=sop.STEP_NUMBERS)
    try:
        return send_status(
            id_izin,
            message.milestone,
            store=store,
            roster=wiring.roster(store),
            http=StdlibHttp(retry.call_timeout_seconds),
            base_url=settings().oss_base_url,
            user_key=wiring.secret(settings().oss_user_key_secret_arn),
            kd_instansi=settings().kd_instansi,
            reached_at=sent_at(record),
            now=now,
        )
    except CallFailed as failure:
        retry_later(
            record.raw_event,
            failure,
            system="oss",
            id_izin=id_izin,
            retry=retry,
            store=store,
            now=now,
        )
        raise


def sent_at(record: SQSRecord) -> datetime:
    """When the state machine queued the milestone: the same on every retry, and after a
    redrive from the console (which keeps the first moment in a message attribute)."""
    first = (record.raw_event.get("messageAttributes") or {}).get(FIRST_SENT) or {}
    stamp = first.get("stringValue") or record.attributes.sent_timestamp
    return datetime.fromtimestamp(int(stamp) / 1000, UTC)


@logger.inject_lambda_context
@needs_settings("oss_user_key_secret_arn", "kd_instansi")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_batch(event, context, handle, name="oss_worker")
