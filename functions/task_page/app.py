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
from izin.store import InvocationStore, PresumptionRefused
from izin.tasks import (
    Page,
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
    try:
        page = _page(http, wiring.kept_roster())
    except PresumptionRefused:
        # The session or the roster was not as presumed: nothing was written on it. The page
        # made again, both read (and the roster kept afresh for the next invocations).
        logger.info("a presumed session or roster did not hold: the page made again, read")
        wiring.kept_roster(fresh=True)
        page = _page(http, None)
    logger.info("task page", extra={"method": http.method, "status": page.status})
    if http.method == "POST" and page.status == 200:
        count("StepsCompleted")
    return {
        "statusCode": page.status,
        "headers": {**PAGE_HEADERS, **page.headers},
        "cookies": page.cookies,
        "body": page.html,
    }


def _page(http: HttpRequest, kept: wiring.KeptRoster | None) -> Page:
    """The page; with the roster `kept` by the container, the roster and a session cookie's
    session are presumed unread: each write carries the checks that they hold, and a page
    that wrote nothing reads them before it answers (PresumptionRefused when they do not)."""
    request = Request.of(http)
    now = wiring.now()
    # The page shows most of the application's partition, its ticket with it: read it
    # whole, once, with the trail when it shows the form (a decision posted needs no
    # trail). Without a kept roster, the session, the second factor of the officer the
    # session (or the form) names, and the roster in force it reads in one batch.
    store = InvocationStore(
        wiring.store(), whole_applications=True, with_trail=http.method == "GET"
    )
    if kept is not None:
        auth = wiring.auth(now, store, presumed=kept)
    else:
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
        confirm_presumed=store.confirm_presumed,
    )
    if http.route_key == "GET /tasks/{ticket}/lampiran":
        page = record_upload(request, ctx)
    elif http.route_key.endswith(" /meja/tugas/{id_izin}"):  # the workspace's way in (a session)
        id_izin = http.path_parameters.get("id_izin", "")
        own = decide_own_task if http.method == "POST" else show_own_task
        page = own(request, ctx, id_izin)
    else:
        page = decide_task(request, ctx) if http.method == "POST" else show_task(request, ctx)
    store.confirm_presumed()  # an answer made with no write: what it presumed, read now
    return page
