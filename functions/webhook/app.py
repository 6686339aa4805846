"""OSS and SIINAS webhooks in (CONTRACT §1): verify, validate, dedupe, queue, answer.

Input: an HTTP API (payload 2.0) event for POST /webhooks/{source}. Output: its JSON answer.
"""

import base64
import json
from typing import Any

from izin import wiring
from izin.observability import logger
from izin.queues import SqsQueue
from izin.settings import settings
from izin.webhooks import Answer, receive


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    source = (event.get("pathParameters") or {}).get("source", "")
    secret_arns = {
        "oss": settings().oss_webhook_secret_arn,
        "siinas": settings().siinas_webhook_secret_arn,
    }
    if source not in secret_arns:
        answer = Answer(404, {"error": "unknown_source", "known": sorted(secret_arns)})
    else:
        body = event.get("body") or ""
        raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
        answer = receive(
            source,
            event.get("headers") or {},
            raw,
            secret=wiring.secret(secret_arns[source]),
            now=wiring.now(),
            store=wiring.store(),
            queue=SqsQueue(settings().inbound_queue_url),
            max_skew_seconds=settings().webhook_max_skew_seconds,
        )
    logger.info("webhook answered", extra={"source": source, "status": answer.status})
    return {
        "statusCode": answer.status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(answer.body),
    }
