"""The Kepala Bidang's morning digest (issue #15): the applications at risk, each working day.

Input: from its weekday schedule `{}`. Output: whether the email went, and how many were in it.
"""

from typing import Any

from izin import console, wiring
from izin.digest import send_digest
from izin.models import DigestRequest
from izin.observability import logger
from izin.settings import needs_settings, settings


@logger.inject_lambda_context
@needs_settings()
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    DigestRequest.model_validate(event)
    config, now, calendar = settings(), wiring.now(), wiring.calendar()
    outcome = send_digest(
        wiring.store().open_applications(),  # every one not at its outcome, however old
        assess=console.assessor(now, calendar, config),
        roster=wiring.roster(),
        mailer=wiring.mailer(),
        calendar=calendar,
        public_base_url=config.public_base_url,
        now=now,
    )
    logger.info("morning digest", extra=outcome)
    return outcome
