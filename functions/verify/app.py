"""The public verify page: GET /verify/{document_id} shows a document, POST checks a file,
GET /verify/{document_id}/pdf serves its signed PDF.

CONTRACT §3, last bullet.

Input: an HTTP API (payload 2.0) event. Output: an HTML page, or the PDF (base64), with its
status code.
"""

from typing import Any

from izin import wiring
from izin.observability import logger
from izin.settings import needs_settings
from izin.verify import VerifyContext, VerifyEvent, verify


@logger.inject_lambda_context
@needs_settings()
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = VerifyEvent.model_validate(event)
    ctx = VerifyContext(
        store=wiring.store(),
        dinas=wiring.dinas(),
        roster=wiring.roster(),
        read_object=wiring.read_object,
        bsre_verify=wiring.bsre_verify(),
        offline_verify=wiring.offline_verify(),
    )
    response = verify(request, ctx)
    logger.info("verify", extra={"route": request.route_key, "status": response["statusCode"]})
    return response
