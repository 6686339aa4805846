"""A human step's SLA in hari kerja; after a missed SLA, the breach and its reminder count.

Input: {id_izin, step, previous: the last Deadline}. Output: Deadline (the state's `$.sla`).
"""

from typing import Any

from izin import wiring
from izin.calendar import to_wib
from izin.models import DeadlineRequest
from izin.observability import count, logger
from izin.settings import settings
from izin.sla import plan_deadline, record_breach


@logger.inject_lambda_context(correlation_id_path="id_izin")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = DeadlineRequest.model_validate(event)
    now, calendar = wiring.now(), wiring.calendar()
    deadline = plan_deadline(
        request.step, request.previous, now=now, calendar=calendar, settings=settings()
    )
    unconfirmed = calendar.unconfirmed_years(to_wib(now).date(), deadline.deadline.date())
    if unconfirmed:
        logger.warning("deadline over days off not yet decreed", extra={"years": unconfirmed})
        count("CalendarUnconfirmed")
    if deadline.reminders:
        record_breach(wiring.store(), request.id_izin, deadline, now=now)
        count("SlaBreaches", step=str(deadline.step))
        count("SlaBreaches")  # all steps: what the alarm watches
    return deadline.model_dump(mode="json")
