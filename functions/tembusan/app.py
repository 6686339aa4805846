"""Step 17: the copy (tembusan) of the signed BAP to DPMPTSP Kalbar, by email.

Input: {id_izin}. Output: {tembusan: the address}.
"""

from typing import Any

from izin import wiring
from izin.models import ApplicationRequest
from izin.observability import logger
from izin.settings import needs_settings
from izin.tembusan import send_tembusan


@logger.inject_lambda_context(correlation_id_path="id_izin")
@needs_settings()
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = ApplicationRequest.model_validate(event)
    return send_tembusan(
        request.id_izin,
        store=wiring.store(),
        roster=wiring.roster(),
        dinas=wiring.dinas(),
        mailer=wiring.mailer(),
        read_object=wiring.read_object,
        now=wiring.now(),
        seal=wiring.tembusan_seal(),
    )
