"""OSS's checkLicenseStatus reconciliation (#16): applications that waited too long at
step 19 get OSS's final status (50 or 90) applied, as its `izin.status` webhook would be.

Input: from its daily schedule `{}`; by hand `{"id_izin": [...]}` (checked whatever their
wait). Output: what became of each application looked at.
"""

from dataclasses import asdict
from typing import Any

from izin import wiring
from izin.integrations import StdlibHttp
from izin.models import ReconcileRequest
from izin.observability import logger
from izin.queues import SqsQueue
from izin.reconcile import WAIT_KEY, check_license_status, reconcile, waited_long_enough, waiting
from izin.settings import needs_settings, settings


@logger.inject_lambda_context
@needs_settings("inbound_queue_url")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = ReconcileRequest.model_validate(event)
    config, store, now = settings(), wiring.store(), wiring.now()
    if not config.oss_base_url:
        logger.info("OSS_BASE_URL not configured: nothing to reconcile")
        return {"checked": []}
    user_key, http = wiring.secret(config.oss_user_key_secret_arn), StdlibHttp()
    checked = reconcile(
        # Every open one: the oldest waits on OSS are the ones a reconciliation is for.
        request.id_izin or waiting(store.open_applications()),
        waited_enough=lambda id_izin: (
            bool(request.id_izin)
            or waited_long_enough(
                store.wait(id_izin, WAIT_KEY),
                now=now,
                days=config.reconcile_after_days,
                workday_seconds=config.workday_seconds,
                calendar=wiring.calendar,
            )
        ),
        ask=lambda id_izin: check_license_status(http, config.oss_base_url, user_key, id_izin),
        store=store,
        queue=SqsQueue(config.inbound_queue_url),
        now=now,
    )
    logger.info("reconciled", extra={"checked": len(checked)})
    return {"checked": [asdict(c) for c in checked]}
