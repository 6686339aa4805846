"""Officers' sign-in and the pages behind it (CONTRACT §6), and the enrollment link.

Input: an HTTP API (payload 2.0) event. Output: an HTML page, a redirect, cookies.
"""

from typing import Any

from izin import console, enrollment, roster_console, sessions, signin, wiring, workspace
from izin.models import HttpRequest
from izin.observability import logger
from izin.pages import PAGE_HEADERS, same_site
from izin.settings import needs_settings, settings
from izin.store import InvocationStore
from izin.tasks import Page, Request


@logger.inject_lambda_context
@needs_settings("state_machine_arn", "totp_key_id", "session_key_secret_arn")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    http = HttpRequest.model_validate(event)
    request = Request.of(http)
    # The session, the officer's second factor and the roster: one batch, each item read
    # once in the invocation.
    store = InvocationStore(wiring.store())
    # The desk lists delegations and the pool: who may be away, in the same batch.
    sessions.read_ahead(store, request.cookies, request.typed_nip, away=True)
    auth = wiring.auth(wiring.now(), store)
    route = str(event.get("routeKey", ""))
    page: Page
    if route == f"GET {enrollment.PATH}/{{ticket}}":
        page = enrollment.show_enrollment(request, auth)
    elif route == f"POST {enrollment.PATH}/{{ticket}}":
        page = enrollment.confirm_enrollment(request, auth)
    elif route == "GET /masuk":
        page = signin.sign_in_page(request, auth)
    elif route == "POST /masuk":
        mine = same_site(request.origin, settings().public_base_url)
        page = signin.sign_in(request, auth, same_site=mine)
    elif route == "POST /keluar":
        page = signin.sign_out(request, auth)
    elif route.endswith(" /meja"):  # ANY
        config = settings()
        desk = workspace.Desk(
            calendar=wiring.calendar,
            mailer=wiring.mailer(),
            public_base_url=config.public_base_url,
            same_site=same_site(request.origin, config.public_base_url),
        )
        page = workspace.meja_page(request, auth, method=http.method, desk=desk)
    elif route.endswith(" /permohonan/{id_izin}"):
        id_izin = http.path_parameters.get("id_izin", "")
        presign = wiring.presigned_url
        page = workspace.application_page(request, auth, id_izin, presign, method=http.method)
    elif route == f"GET {console.REPORT_PATH}":
        got = console.report_page(request, auth, method=http.method, calendar=wiring.calendar())
        if isinstance(got, console.Download):
            logger.info("workspace report", extra={"file": got.filename})
            return got.response(PAGE_HEADERS)
        page = got
    elif route == f"GET {console.AUDIT_PATH}/{{id_izin}}":
        id_izin = http.path_parameters.get("id_izin", "")
        read = wiring.document_reader()
        got = console.audit_export_page(request, auth, id_izin, read, method=http.method)
        if isinstance(got, console.Download):
            logger.info("audit export", extra={"file": got.filename})
            return got.response(PAGE_HEADERS)
        page = got
    elif route == f"ANY {roster_console.PATH}":
        page = roster_console.roster_page(
            request,
            auth,
            method=http.method,
            seed=wiring.roster_file(),
            enroll=roster_console.Enroll(mailer=wiring.mailer()),
            same_site=same_site(request.origin, settings().public_base_url),
        )
    elif route == f"ANY {console.PATH}":
        config = settings()
        page = console.console_page(
            request,
            auth,
            method=http.method,
            assess=console.assessor(auth.now, wiring.calendar(), config),
            resume=console.resumer(auth.store, config.state_machine_arn, now=auth.now),
            doors=wiring.incidents(auth.now),
            same_site=same_site(request.origin, config.public_base_url),
        )
    else:  # GET /keluar
        path = route.partition(" ")[2].split("/{", 1)[0]
        page = signin.behind_sign_in(request, auth, method=http.method, path=path)
    logger.info("workspace page", extra={"method": http.method, "status": page.status})
    return {
        "statusCode": page.status,
        "headers": {**PAGE_HEADERS, **page.headers},
        "cookies": page.cookies,
        "body": page.html,
    }
