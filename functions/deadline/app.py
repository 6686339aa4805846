"""A human step's SLA in hari kerja; after a missed SLA, the breach and its reminder count.
Before a wait on OSS or SIINAS: until it is late, within what is left of the execution's
year; after it, the lateness counted (LongWaits) or the year spent.

Input: DeadlineRequest {id_izin, step, previous: the last Deadline}; output: Deadline (the
state's `$.sla`). Or input: EventBudgetRequest {id_izin, step, execution_started}; output:
EventBudget (the state's `$.batas`).
"""

from typing import Any

from izin import wiring
from izin.calendar import to_wib
from izin.models import DeadlineRequest, EventBudgetRequest
from izin.observability import count, logger
from izin.settings import needs_settings, settings
from izin.sla import (
    event_budget,
    late_after_seconds,
    plan_deadline,
    record_breach,
    record_late_wait,
    record_moved,
)

# The years whose days off were found undecreed, once per container: the metric counts every
# deadline (its alarm asks for the decree); the log says it once, not at every step from
# October until the decree.
_warned: set[tuple[int, ...]] = set()


@logger.inject_lambda_context(correlation_id_path="id_izin")
@needs_settings()
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now, calendar = wiring.now(), wiring.calendar()
    if "execution_started" in event:
        wait = EventBudgetRequest.model_validate(event)
        budget = event_budget(
            wait.step,
            wait.execution_started,
            wait.previous,
            now=now,
            budget_seconds=settings().execution_budget_seconds,
            late_after=late_after_seconds(
                wait.step, now=now, calendar=calendar, settings=settings()
            ),
        )
        if budget.late > int(wait.previous.get("late", 0)):
            record_late_wait(wiring.store(), wait.id_izin, budget, now=now)
            count("LongWaits", step=str(wait.step))
            count("LongWaits")  # all steps: what the alarm watches
        return budget.model_dump(mode="json")
    request = DeadlineRequest.model_validate(event)
    # Back after the step's wait timed out: did OSS stop or restart the clock meanwhile?
    again = request.previous.get("step") == request.step
    application = (wiring.store().application(request.id_izin) or {}) if again else {}
    deadline = plan_deadline(
        request.step,
        request.previous,
        now=now,
        calendar=calendar,
        settings=settings(),
        clock=application.get("sla_jam") or (),
    )
    unconfirmed = calendar.unconfirmed_years(to_wib(now).date(), deadline.deadline.date())
    if unconfirmed:
        if tuple(unconfirmed) not in _warned:
            _warned.add(tuple(unconfirmed))
            logger.warning("deadline over days off not yet decreed", extra={"years": unconfirmed})
        count("CalendarUnconfirmed")
    if deadline.moved:
        record_moved(wiring.store(), request.id_izin, deadline, now=now)
    elif deadline.reminders:
        record_breach(wiring.store(), request.id_izin, deadline, now=now)
        count("SlaBreaches", step=str(deadline.step))
        count("SlaBreaches")  # all steps: what the alarm watches
    return deadline.model_dump(mode="json")
