"""The officers' task pages: GET /tasks/{ticket} shows the step, POST decides it once (CONTRACT §3);
GET/POST /meja/tugas/{id_izin} the same for the assignee signed in (no ticket in the URL);
GET /tasks/{ticket}/lampiran records a file S3 took from the page's upload form.

Input: an HTTP API (payload 2.0) event. Output: an HTML page with its status code.
"""

from typing import Any

from izin import sessions, wiring
from izin.models import HttpRequest
from izin.observability import count, logger
from izin.pages import PAGE_HEADERS, task_documents
from izin.settings import needs_settings, settings
from izin.store import InvocationStore
from izin.tasks import (
    Request,
    TaskContext,
    decide_own_task,
    decide_task,
    record_upload,
    show_own_task,
    show_task,
)
from izin.tickets import link_ticket_hash


@logger.inject_lambda_context
@needs_settings("totp_key_id", "session_key_secret_arn")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    http = HttpRequest.model_validate(event)
    request = Request.of(http)
    now = wiring.now()
    # The page shows most of the application's partition: read it whole, once, with the
    # trail when it shows the form (a decision posted needs no trail). The ticket, the
    # session, the second factor of the officer the session (or the form) names, and the
    # roster in force it reads in one batch.
    store = InvocationStore(
        wiring.store(), whole_applications=True, with_trail=http.method == "GET"
    )
    sessions.read_ahead(
        store, request.cookies, request.typed_nip, ticket_hash=link_ticket_hash(request.ticket)
    )
    auth = wiring.auth(now, store)
    ctx = TaskContext(
        store=store,
        roster=auth.roster,
        callbacks=wiring.callbacks(),
        mailer=wiring.mailer(),
        now=now,
        auth=auth,
        public_base_url=settings().public_base_url,
        documents=lambda id_izin: task_documents(store, id_izin, wiring.presigned_url),
        record_event=wiring.record_event,
        evidence=wiring.evidence(),
        tte=wiring.tte(),
    )
    if http.route_key == "GET /tasks/{ticket}/lampiran":
        page = record_upload(request, ctx)
    elif http.route_key.endswith(" /meja/tugas/{id_izin}"):  # the workspace's way in (a session)
        id_izin = http.path_parameters.get("id_izin", "")
        own = decide_own_task if http.method == "POST" else show_own_task
        page = own(request, ctx, id_izin)
    else:
        page = decide_task(request, ctx) if http.method == "POST" else show_task(request, ctx)
    logger.info("task page", extra={"method": http.method, "status": page.status})
    if http.method == "POST" and page.status == 200:
        count("StepsCompleted")
    return {
        "statusCode": page.status,
        "headers": {**PAGE_HEADERS, **page.headers},
        "cookies": page.cookies,
        "body": page.html,
    }
