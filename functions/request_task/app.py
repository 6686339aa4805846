"""Ask an officer to act on one SOP step: issue a ticket, send the email with its link.

Input: StepRequest (state input + task token). Output: none that matters; the state waits
for the token, which the task page completes.
"""

from typing import Any

from izin import sop, wiring
from izin.models import StepRequest
from izin.observability import logger
from izin.settings import needs_settings, settings
from izin.store import InvocationStore
from izin.tasks import issue_task


@logger.inject_lambda_context(correlation_id_path="id_izin")
@needs_settings()
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = StepRequest.model_validate(event)
    # The task and its email read the roster, who may be away (whether the officer has a
    # Plh/Plt), the application's record and its steps' data: one batch, kept for the
    # invocation (the Surat Tugas's versions, read at step 08 only, are their own Query).
    store = InvocationStore(wiring.store())
    store.read_ahead(roster=True, away=True, application=request.id_izin, steps=sop.STEP_NUMBERS)
    digest = issue_task(
        request,
        store=store,
        mailer=wiring.mailer(),
        roster=wiring.roster(store),
        public_base_url=settings().public_base_url,
        now=wiring.now(),
    )
    return {"ticket": digest[:12]}
