"""A step that waits on OSS or SIINAS (2–3, 18, 19): keep the token, or apply an event already here.

When the event is not here yet, the Operator also gets a link to record it by hand, with
its evidence, should OSS or SIINAS not deliver it (CONTRACT §2).
Input: {id_izin, step, event: "source:type", task_token}. Output: none; the state waits.
"""

from typing import Any

from izin import wiring
from izin.events import register_wait, remember_manual_ticket
from izin.models import AwaitRequest
from izin.observability import logger
from izin.settings import settings
from izin.tasks import Kind, issue_manual_task


@logger.inject_lambda_context(correlation_id_path="id_izin")
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
        now=now,
    )
    if not delivered:
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
