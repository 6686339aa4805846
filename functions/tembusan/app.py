"""Step 17: the copy (tembusan) of the signed BAP to DPMPTSP Kalbar, by email.

Input: {id_izin}. Output: {tembusan: the address}.
"""

from typing import Any

from izin import wiring
from izin.models import ApplicationRequest
from izin.observability import logger
from izin.settings import needs_settings
from izin.store import InvocationStore
from izin.tembusan import send_tembusan


@logger.inject_lambda_context(correlation_id_path="id_izin")
@needs_settings()
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = ApplicationRequest.model_validate(event)
    # The record, the BAP and its letter, the step's data, the copy sent or not: the
    # application's partition read whole, once.
    store = InvocationStore(wiring.store(), whole_applications=True)
    return send_tembusan(
        request.id_izin,
        store=store,
        roster=wiring.roster(store),
        dinas=wiring.dinas(),
        mailer=wiring.mailer(),
        read_object=wiring.read_object,
        now=wiring.now(),
        seal=wiring.tembusan_seal(),
    )
