"""An email bounced, was marked as spam or was rejected: record it against its application.

Input: an SNS event whose messages are SES event records (MailEvent). Output: what became
of each ("email.bounced", …). Counted (MailBounced) for the alarm on it.
"""

import json
from typing import Any

from izin import wiring
from izin.mail_events import MailEvent, record_mail_event
from izin.observability import count, logger
from izin.settings import needs_settings


@logger.inject_lambda_context
@needs_settings()
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcomes = []
    for record in event.get("Records", []):
        mail_event = MailEvent.model_validate(json.loads(record["Sns"]["Message"]))
        outcome = record_mail_event(wiring.store(), mail_event, now=wiring.now())
        logger.warning(
            "email not delivered",
            extra={
                "id_izin": mail_event.id_izin,
                "type": mail_event.event_type,
                "outcome": outcome,
            },
        )
        count("MailBounced")
        outcomes.append(outcome)
    return {"outcomes": outcomes}
