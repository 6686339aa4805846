"""OSS and SIINAS webhooks in (CONTRACT §1): verify, validate, dedupe, queue, answer.

Input: an HTTP API (payload 2.0) event for POST /webhooks/{source}. Output: its JSON answer.
Every refusal is counted (metric WebhookRefused, dimension status) for the alarm on it.
"""

import json
from typing import Any

from izin import wiring
from izin.models import HttpRequest
from izin.observability import count, logger
from izin.queues import SqsQueue
from izin.settings import needs_settings, settings
from izin.webhooks import Answer, receive, unknown_source


@logger.inject_lambda_context
@needs_settings("inbound_queue_url", "oss_webhook_secret_arn", "siinas_webhook_secret_arn")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    http = HttpRequest.model_validate(event)
    source = http.path_parameters.get("source", "")
    secret_arns = {
        "oss": settings().oss_webhook_secret_arn,
        "siinas": settings().siinas_webhook_secret_arn,
    }
    if source not in secret_arns:
        answer = unknown_source(source)
    else:
        answer = receive(
            source,
            http.headers,
            http.raw_body(),
            secret=wiring.secret(secret_arns[source]),
            now=wiring.now(),
            store=wiring.store(),
            queue=SqsQueue(settings().inbound_queue_url),
            max_skew_seconds=settings().webhook_max_skew_seconds,
        )
    _record(source, answer)
    return {
        "statusCode": answer.status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(answer.body),
    }


def _record(source: str, answer: Answer) -> None:
    reason = answer.body.get("error", answer.body.get("status"))
    logger.info(
        "webhook answered", extra={"source": source, "status": answer.status, "reason": reason}
    )
    if answer.refused:
        count("WebhookRefused", status=str(answer.status))
