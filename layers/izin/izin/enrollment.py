"""An officer enrolls an authenticator app: a one-time link by email, the QR code, one code.

`start_enrollment` (an admin's act: `izin petugas enroll NIP`) makes a new secret, keeps it
encrypted in a ticket of kind ENROLL (the link carries only the ticket, never the secret),
and emails the link. The page shows the QR code and the secret as text (the only place it
is ever shown) and asks for one current code; a correct one makes it the officer's secret,
ends their sessions, and the link stops working. Five wrong codes lock the link.
"""

from __future__ import annotations

import base64
import hmac
from datetime import datetime
from typing import Any

from izin import auth as totp
from izin.auth import Auth, Cipher
from izin.mail import Mailer
from izin.observability import logger
from izin.roster import Officer
from izin.sessions import end_all_sessions
from izin.store import ConditionFailed, Store
from izin.tasks.context import Page, Request
from izin.templating import render, render_email
from izin.tickets import Kind, Status, count_wrong_answer, open_ticket, ticket_hash

MAX_WRONG_CODES = 5
PATH = "/daftar-kode"


def start_enrollment(
    store: Store,
    cipher: Cipher,
    mailer: Mailer,
    officer: Officer,
    *,
    public_base_url: str,
    now: datetime,
) -> str:
    """Email the officer a one-time enrollment link; returns the link (for the admin's CLI)."""
    secret = totp.new_secret()
    ticket, _ = open_ticket(
        store,
        {
            "kind": Kind.ENROLL,
            "id_izin": "",
            "step": 0,
            "assignee": {"nama": officer.nama, "nip": officer.nip, "role": officer.role.value},
            "pending_secret": totp.seal(cipher, officer.nip, secret),
            "created_at": now.isoformat(),
            "deadline": totp.enrollment_deadline(now).isoformat(),
        },
    )
    link = f"{public_base_url.rstrip('/')}{PATH}/{ticket}"
    context = {"officer": officer, "link": link, "hours": totp.ENROLLMENT_HOURS}
    mailer.send(
        render_email(
            "enroll",
            context,
            to=(str(officer.email),),
            subject="[Izin Perluasan] Aktifkan kode masuk (aplikasi autentikator)",
            # About no application (the admin runs `izin petugas enroll` and sees the result).
            id_izin="",
        )
    )
    logger.info("enrollment link sent", extra={"nip": officer.nip})
    return link


def _enrollment(request: Request, auth: Auth) -> tuple[str, dict[str, Any]] | Page:
    """The open enrollment ticket behind the link (hash, item), or the page refusing it."""
    if not 32 <= len(request.ticket) <= 64:
        return Page(404, render("pages/not_found.html.j2"))
    digest = ticket_hash(request.ticket)
    ticket = auth.store.ticket(digest)
    if ticket is None or ticket.get("kind") != Kind.ENROLL:
        return Page(404, render("pages/not_found.html.j2"))
    if ticket["status"] != Status.OPEN or str(ticket["deadline"]) <= auth.now.isoformat():
        return Page(410, render("pages/enroll.html.j2", state="closed", ticket=ticket))
    return digest, ticket


def show_enrollment(request: Request, auth: Auth) -> Page:
    """GET: the QR code and the secret as text, and the form asking for one code."""
    found = _enrollment(request, auth)
    return found if isinstance(found, Page) else _form(200, found[1], auth, error="")


def confirm_enrollment(request: Request, auth: Auth) -> Page:
    """POST: one correct code makes the secret the officer's."""
    found = _enrollment(request, auth)
    if isinstance(found, Page):
        return found
    digest, ticket = found
    sent = (request.form.get("csrf") or [""])[-1]
    if not sent or not hmac.compare_digest(sent, str(ticket.get("csrf", ""))):
        return _form(403, ticket, auth, error="Formulir kedaluwarsa; muat ulang halaman.")
    nip = str(ticket["assignee"]["nip"])
    secret = totp.unseal(auth.cipher, nip, str(ticket["pending_secret"]))
    code = (request.form.get("kode") or [""])[-1].strip().replace(" ", "")
    step = totp.matching_step(secret, code, auth.now)
    if step is None:
        updated = count_wrong_answer(auth.store, digest, limit=MAX_WRONG_CODES, now=auth.now)
        if updated is None or updated["status"] == Status.LOCKED:
            return Page(403, render("pages/enroll.html.j2", state="locked", ticket=ticket))
        return _form(403, updated, auth, error="Kode tidak sesuai. Periksa jam ponsel Anda.")
    try:
        auth.store.update_ticket(
            digest,
            {"status": Status.DECIDED, "decided_at": auth.now.isoformat()},
            expect={"status": Status.OPEN},
            remove=("pending_secret",),
        )
    except ConditionFailed:
        return Page(410, render("pages/enroll.html.j2", state="closed", ticket=ticket))
    auth.store.update_officer_auth(
        nip,
        {
            "secret": ticket["pending_secret"],
            "enrolled_at": auth.now.isoformat(),
            "last_step": step,  # the code typed here is used: it decides nothing later
        },
    )
    end_all_sessions(auth.store, nip)
    auth.forget(nip)
    logger.info("authenticator enrolled", extra={"nip": nip})
    return Page(200, render("pages/enroll.html.j2", state="done", ticket=ticket))


def _form(code: int, ticket: dict[str, Any], auth: Auth, *, error: str) -> Page:
    nip = str(ticket["assignee"]["nip"])
    secret = totp.unseal(auth.cipher, nip, str(ticket["pending_secret"]))
    officer = totp.officer_by_nip(auth.roster, nip)
    uri = (
        totp.provisioning_uri(secret, officer)
        if officer
        else f"otpauth://totp/{totp.ISSUER}:{nip}?secret={secret}"
    )
    return Page(
        code,
        render(
            "pages/enroll.html.j2",
            state="form",
            ticket=ticket,
            qr=_qr_data_uri(uri),
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            error=error,
            left=MAX_WRONG_CODES - int(ticket.get("wrong_nips", 0)),
        ),
    )


def _qr_data_uri(text: str) -> str:
    """The QR code of `text` as an inline SVG data URI (no request leaves the page)."""
    import io

    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=6, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
