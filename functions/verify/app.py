"""The public verify page: GET /verify/{document_id} shows a document, POST checks a file.

CONTRACT §3, last bullet.

Input: an HTTP API (payload 2.0) event. Output: an HTML page with its status code.
"""

from typing import Any

from izin import wiring
from izin.documents import load_dinas
from izin.observability import logger
from izin.pages import PAGE_HEADERS
from izin.settings import settings
from izin.verify import VerifyContext, VerifyRequest, verify_page


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    http = event["requestContext"]["http"]
    request = VerifyRequest(
        document_id=(event.get("pathParameters") or {}).get("document_id", ""),
        method=http["method"],
        content_type=(event.get("headers") or {}).get("content-type", ""),
        body=event.get("body") or "",
        is_base64=bool(event.get("isBase64Encoded")),
    )
    ctx = VerifyContext(
        store=wiring.store(),
        dinas=load_dinas(settings().dinas_path()),
        roster=wiring.roster(),
        presign=wiring.presigned_url,
    )
    page = verify_page(request, ctx)
    logger.info("verify page", extra={"method": http["method"], "status": page.status})
    return {"statusCode": page.status, "headers": PAGE_HEADERS, "body": page.html}
