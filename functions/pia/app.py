"""OSS PIA's receiveNIB in (CONTRACT §5): token, checklist, one queued application per item.

Input: an HTTP API (payload 2.0) event for POST /pia/receiveNIB. Output: PIA's answer,
`{"responreceiveNIB": {"status", "keterangan"}}`. Every refusal is counted (metric
WebhookRefused, dimension status, the webhooks' alarm).
"""

import json
from typing import Any

from izin import wiring
from izin.models import HttpRequest
from izin.observability import count, logger
from izin.pia import Credentials, Permit, receive_nib
from izin.queues import SqsQueue
from izin.settings import PiaSettings, needs_settings, pia_settings


@logger.inject_lambda_context
@needs_settings(model=PiaSettings)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    http = HttpRequest.model_validate(event)
    config = pia_settings()
    answer = receive_nib(
        http.headers,
        http.raw_body(),
        credentials=Credentials.from_secret(wiring.secret(config.credentials_secret_arn)),
        permit=Permit(config.kd_izin, config.kewenangan),
        now=wiring.now(),
        store=wiring.store(),
        queue=SqsQueue(config.inbound_queue_url),
    )
    logger.info("receiveNIB answered", extra={"status": answer.status, "ok": answer.ok})
    if not answer.ok:
        count("WebhookRefused", status=str(answer.status))
    return {
        "statusCode": answer.status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(answer.body),
    }
