"""Render a document of the SOP (steps 5-12) into S3, or seal the final ones at step 14.

Input: DocumentRequest {"id_izin", "jenis", "action": "render"|"seal"}.
Output: a DocumentRef for a render; {"sealed": [DocumentRef, ...]} for a seal.
"""

from datetime import UTC, datetime
from typing import Any

from izin import wiring
from izin.aws import client
from izin.documents import DocumentRequest, handle
from izin.observability import logger
from izin.settings import needs_settings, settings
from izin.store import InvocationStore


def _put_object(key: str, body: bytes, content_type: str) -> None:
    client("s3").put_object(
        Bucket=settings().bucket_name, Key=key, Body=body, ContentType=content_type
    )


@logger.inject_lambda_context(correlation_id_path="id_izin")
@needs_settings()
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = DocumentRequest.model_validate(event)
    config = settings()
    numbers: dict[tuple[str, int], int] = {}  # a letter's number, taken once if made again

    def made(kept: wiring.KeptRoster) -> dict[str, Any]:
        return handle(
            request,
            # The record, the steps and every version are read: the application's partition,
            # once; what is written from the kept roster, only while it is in force.
            InvocationStore(
                wiring.store(), whole_applications=True, roster_at=kept.at, numbers=numbers
            ),
            now=datetime.now(UTC),
            bucket=config.bucket_name,
            put_object=_put_object,
            public_base_url=config.public_base_url,
            roster=kept.roster,
            dinas=wiring.dinas(),
        )

    return wiring.with_kept_roster(made)
