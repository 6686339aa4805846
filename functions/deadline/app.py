"""A human step's SLA in hari kerja; after a missed SLA, the breach and its reminder count.
Before a wait on OSS or SIINAS: what is left of the execution's year for it.

Input: DeadlineRequest {id_izin, step, previous: the last Deadline}; output: Deadline (the
state's `$.sla`). Or input: EventBudgetRequest {id_izin, step, execution_started}; output:
EventBudget (the state's `$.batas`).
"""

from typing import Any

from izin import wiring
from izin.calendar import to_wib
from izin.models import DeadlineRequest, EventBudgetRequest
from izin.observability import count, logger
from izin.settings import settings
from izin.sla import event_budget, plan_deadline, record_breach


@logger.inject_lambda_context(correlation_id_path="id_izin")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "execution_started" in event:
        wait = EventBudgetRequest.model_validate(event)
        budget = event_budget(
            wait.step,
            wait.execution_started,
            now=wiring.now(),
            budget_seconds=settings().execution_budget_seconds,
        )
        return budget.model_dump(mode="json")
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
