"""The public verify page: GET /verify/{document_id} shows a document, POST checks a file.

CONTRACT §3, last bullet.

Input: an HTTP API (payload 2.0) event. Output: an HTML page with its status code.
"""

from typing import Any

from izin import wiring
from izin.documents import load_dinas
from izin.models import HttpRequest
from izin.observability import logger
from izin.pages import PAGE_HEADERS
from izin.settings import settings
from izin.verify import VerifyContext, VerifyRequest, verify_page


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    http = HttpRequest.model_validate(event)
    request = VerifyRequest(
        document_id=http.path_parameters.get("document_id", ""),
        method=http.method,
        content_type=http.headers.get("content-type", ""),
        body=http.body,
        is_base64=http.is_base64_encoded,
    )
    ctx = VerifyContext(
        store=wiring.store(),
        dinas=load_dinas(settings().dinas_path()),
        roster=wiring.roster(),
        presign=wiring.presigned_url,
    )
    page = verify_page(request, ctx)
    logger.info("verify page", extra={"method": http.method, "status": page.status})
    return {"statusCode": page.status, "headers": PAGE_HEADERS, "body": page.html}
