"""A step that waits on OSS or SIINAS (2–3, 18, 19): keep the token, or apply an event already here.

When the event is late (the wait outlasted its hari kerja, IZIN_EVENT_LATE_DAYS), the
Operator also gets a link to record it by hand, with its evidence (CONTRACT §2): once.
Input: {id_izin, step, event: "source:type", task_token, execution, late}. Output: none; the
state waits.
"""

from typing import Any

from izin import wiring
from izin.events import register_wait, remember_manual_ticket
from izin.models import AwaitRequest
from izin.observability import logger
from izin.settings import needs_settings, settings
from izin.tasks import Kind, issue_manual_task


@logger.inject_lambda_context(correlation_id_path="id_izin")
@needs_settings()
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = AwaitRequest.model_validate(event)
    store, now = wiring.store(), wiring.now()
    delivered = register_wait(
        store,
        wiring.callbacks(),
        id_izin=request.id_izin,
        step=request.step,
        event_key=request.event,
        token=request.task_token,
        execution=request.execution,
        now=now,
    )
    if delivered or not request.late:
        return {"delivered": delivered}
    waiting = store.wait(request.id_izin, request.event) or {}
    if not waiting.get("manual_ticket"):
        ticket = issue_manual_task(
            Kind.RECORD,
            request.id_izin,
            None,
            store=store,
            mailer=wiring.mailer(),
            roster=wiring.roster(),
            public_base_url=settings().public_base_url,
            now=now,
            event=request.event,
        )
        remember_manual_ticket(store, request.id_izin, request.event, ticket, now=now)
    return {"delivered": delivered}
