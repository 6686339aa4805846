"""Signing in and the pages behind it (CONTRACT §6): /masuk, /keluar, /meja, /permohonan, /konsol.

Without a live session every page behind sign-in answers 303 to /masuk (a GET) or 401
(anything else) and shows nothing of an application. /masuk takes a NIP and the current
code; five wrong ones in a row for a NIP hold its sign-in for `HOLD_MINUTES`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from izin import sessions
from izin.auth import Auth, officer_by_nip
from izin.observability import logger
from izin.tasks.context import Page, Request
from izin.templating import render

MAX_WRONG_SIGNINS = 5
HOLD_MINUTES = 15
# The sign-in form's CSRF: a random nonce in a cookie of its own and, signed, in the form.
NONCE_COOKIE = "izin_masuk"


def sign_in_page(request: Request, auth: Auth) -> Page:
    """GET /masuk: the form (or, signed in already, on to the workspace)."""
    if sessions.signed_in(request.cookies, auth) is not None:
        return _see_other("/meja")
    return _sign_in_form(200, auth, error="")


def sign_in(request: Request, auth: Auth, *, same_site: bool) -> Page:
    """POST /masuk: a correct NIP and code start a session."""
    nonce = sessions.cookie_value_named(request.cookies, NONCE_COOKIE)
    sent = (request.form.get("csrf") or [""])[-1]
    if not same_site or not nonce or not hmac.compare_digest(sent, _nonce_token(auth, nonce)):
        return _sign_in_form(403, auth, error="Formulir kedaluwarsa; muat ulang halaman.")
    nip = request.typed_nip
    code = (request.form.get("kode") or [""])[-1].strip().replace(" ", "")
    if not nip or not code:
        return _sign_in_form(422, auth, error="Isi NIP dan kode autentikator Anda.", nip=nip)
    officer = officer_by_nip(auth.roster, nip)
    record = (auth.store.officer_auth(nip) or {}) if officer else {}
    held = str(record.get("signin_held_until", ""))
    if held and held > auth.now.isoformat():
        until = datetime.fromisoformat(held)
        return _sign_in_form(
            403,
            auth,
            error=f"Terlalu banyak percobaan salah. Coba lagi setelah pukul {_hhmm(until)} WIB.",
            nip=nip,
        )
    started = (
        sessions.sign_in_with_code(auth, officer, code, also={"wrong_signins": 0})
        if officer is not None
        else None
    )
    if started is None:
        if officer is not None:
            _count_wrong_signin(auth, nip)
        return _sign_in_form(
            403, auth, error="NIP atau kode tidak sesuai, atau kode sudah dipakai.", nip=nip
        )
    signed, cookie = started
    logger.info("signed in", extra={"nip": nip, "session": signed.via})
    page = _see_other("/meja")
    page.cookies.append(cookie)
    return page


def sign_out(request: Request, auth: Auth) -> Page:
    """POST /keluar: end this session."""
    signed = sessions.signed_in(request.cookies, auth)
    if signed is None:
        return _unauthorized()
    sent = (request.form.get("csrf") or [""])[-1]
    if not sessions.form_token_ok(auth, signed, "keluar", sent):
        return Page(403, render("pages/meja.html.j2", signed=signed, csrf="", error=True))
    page = _see_other("/masuk")
    page.cookies.append(sessions.end_session(auth, signed))
    return page


def behind_sign_in(request: Request, auth: Auth, *, method: str, path: str) -> Page:
    """/konsol (and GET /keluar): the session's officer, or away."""
    signed = gate(request, auth, method=method)
    if isinstance(signed, Page):
        return signed
    if path == "/keluar":  # signing out is the workspace's button (a POST with its token)
        return _see_other("/meja")
    # /meja and /permohonan/{id_izin} are izin.workspace's; the console comes with issue #14.
    return Page(404, render("pages/not_found.html.j2"))


def gate(request: Request, auth: Auth, *, method: str) -> sessions.SignedIn | Page:
    """The session's officer for a page behind sign-in (GET only), or the page sending
    them away: 303 to /masuk for a GET, 401 for anything else, 405 for a signed-in POST."""
    signed = sessions.signed_in(request.cookies, auth)
    if signed is None:
        return _see_other("/masuk") if method in ("GET", "HEAD") else _unauthorized()
    if method not in ("GET", "HEAD"):
        return Page(405, render("pages/not_found.html.j2"), headers={"allow": "GET"})
    return signed


def _count_wrong_signin(auth: Auth, nip: str) -> None:
    record = auth.store.update_officer_auth(nip, {}, add={"wrong_signins": 1})
    if int(record.get("wrong_signins", 0)) >= MAX_WRONG_SIGNINS:
        held = auth.now + timedelta(minutes=HOLD_MINUTES)
        auth.store.update_officer_auth(
            nip, {"wrong_signins": 0, "signin_held_until": held.isoformat()}
        )
        logger.warning("sign-in held after wrong codes", extra={"nip": nip})


def _sign_in_form(status: int, auth: Auth, *, error: str, nip: str = "") -> Page:
    nonce = secrets.token_urlsafe(18)
    cookie = sessions.cookie_header(auth, nonce, max_age=3600, name=NONCE_COOKIE)
    html = render("pages/masuk.html.j2", csrf=_nonce_token(auth, nonce), error=error, nip=nip)
    return Page(status, html, cookies=[cookie])


def _nonce_token(auth: Auth, nonce: str) -> str:
    return hmac.new(auth.session_key(), f"masuk:{nonce}".encode(), hashlib.sha256).hexdigest()


def _see_other(location: str) -> Page:
    return Page(303, render("pages/redirect.html.j2", location=location), {"location": location})


def _unauthorized() -> Page:
    return Page(401, render("pages/redirect.html.j2", location="/masuk"))


def _hhmm(moment: datetime) -> str:
    return moment.astimezone(sessions.WIB).strftime("%H.%M")
