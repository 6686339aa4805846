"""Signed-in sessions of officers (CONTRACT §3, §6): started by a correct NIP + code.

The cookie holds an id (the officer's NIP, "~", a random part) and its HMAC under the
stack's session key; the table keeps only the id's SHA-256 with the officer and the expiry
(the end of the working day, 8 hours at most; the item's TTL removes it later). A session
counts while its record says so and its generation is the officer's: an admin ends all of
an officer's sessions by raising the generation (`end_all_sessions`), one write, whatever
the number of sessions.

`signed_in(cookies, auth)` is the one function every page asks "who is this?".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from izin.auth import Auth, code_step, officer_by_nip, spend_code
from izin.roster import Officer
from izin.store import ConditionFailed, InvocationStore, Item, Store, session_checks

COOKIE = "izin_sesi"
# A session id is "{nip}~{random}": "~" is in no NIP, and in no token_urlsafe.
_NIP_ENDS = "~"
_NIP_DIGITS = 18
WIB = ZoneInfo("Asia/Pontianak")
# The end of the working day (the calendar's office hours close at 16:00 WIB).
DAY_CLOSES = time(16, 0)
# A session's record is kept this long after its end (its TTL, `expires_at`).
KEPT_AFTER_END = 24 * 3600
# The sessions' generation of each officer as this container last read it (0 for most:
# an admin raises it to end all of an officer's sessions), for sessions presumed unread.
_GENERATIONS: dict[str, int] = {}
# Sessions this container read and found not live (ended, over, of an older generation,
# of an officer not on the roster): their cookies are read, not presumed again, so that a
# cookie kept after its session's end does not make every page twice. It decides only
# whether a session is read or presumed, never the answer: the read's is the same.
_NOT_LIVE: set[str] = set()


@dataclass(frozen=True)
class SignedIn:
    """The officer a request comes from, and the session that says so."""

    officer: Officer
    session_hash: str
    until: datetime | None  # None: presumed, unread (a task page's, `signed_in`)

    @property
    def via(self) -> str:
        """What the audit trail names as having allowed a decision."""
        return f"session:{self.session_hash[:12]}"


def session_hash(session_id: str) -> str:
    """The stored form of a session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def session_until(now: datetime, max_seconds: int) -> datetime:
    """The end of this working day (16:00 WIB), or `max_seconds` from now if sooner.

    Signed in after 16:00 (overtime), the session lasts `max_seconds`.
    """
    local = now.astimezone(WIB)
    closes = datetime.combine(local.date(), DAY_CLOSES, tzinfo=WIB)
    longest = now + timedelta(seconds=max_seconds)
    return min(closes, longest) if closes > local else longest


def _signature(key: bytes, session_id: str) -> str:
    digest = hmac.new(key, session_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def cookie_header(auth: Auth, value: str, *, max_age: int, name: str = COOKIE) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Lax, Secure but on http://127.0.0.1."""
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax", f"Max-Age={max_age}"]
    if auth.secure_cookies:
        parts.append("Secure")
    return "; ".join(parts)


def start_session(auth: Auth, officer: Officer) -> tuple[SignedIn, str]:
    """A new session for the officer, and the Set-Cookie that carries it."""
    signed, cookie, record = _new_session(auth, officer)
    auth.store.put_session(signed.session_hash, record)
    return signed, cookie


def sign_in_with_code(
    auth: Auth, officer: Officer, code: str, *, also: Item | None = None
) -> tuple[SignedIn, str] | None:
    """A new session for the officer whose current code `code` is, taken now for the first
    time, and its Set-Cookie; None for a wrong code or one taken before. The code spent
    (with `also` set on the officer's record) and the session kept are one write: neither
    a spent code without its session nor a session on a code taken twice."""
    step = code_step(auth, officer, code)
    if step is None:
        return None
    signed, cookie, record = _new_session(auth, officer)
    try:
        with auth.store.together() as batch:
            spend_code(batch, officer.nip, step, also=also)
            batch.put_session(signed.session_hash, record)
    except ConditionFailed:
        return None
    return signed, cookie


def _new_session(auth: Auth, officer: Officer) -> tuple[SignedIn, str, Item]:
    """A session for the officer, its Set-Cookie, and the record to keep of it."""
    officer_record = auth.store.officer_auth(officer.nip) or {}
    # The NIP in front lets a page read the officer's record with the session's (one batch);
    # it names nobody until the signature and the stored session say so.
    session_id = f"{officer.nip}{_NIP_ENDS}{secrets.token_urlsafe(32)}"
    digest = session_hash(session_id)
    until = session_until(auth.now, auth.session_seconds)
    record = {
        "nip": officer.nip,
        "started_at": auth.now.isoformat(),
        "until": until.isoformat(),
        "expires_at": int(until.timestamp()) + KEPT_AFTER_END,  # the TTL
        "generation": int(officer_record.get("sessions_generation", 0)),
    }
    value = f"{session_id}.{_signature(auth.session_key(), session_id)}"
    max_age = max(int((until - auth.now).total_seconds()), 0)
    return SignedIn(officer, digest, until), cookie_header(auth, value, max_age=max_age), record


def cookie_value_named(cookies: Sequence[str], wanted: str) -> str:
    """A cookie's value among a request's cookies ("name=value" each), or ""."""
    for cookie in cookies:
        name, _, value = cookie.strip().partition("=")
        if name == wanted:
            return value
    return ""


def _claimed(cookies: Sequence[str]) -> tuple[str, str]:
    """The session id and signature the request's cookie carries, unchecked ("" if none)."""
    value = cookie_value_named(cookies, COOKIE)
    session_id, _, signature = value.partition(".")
    if not session_id or not signature or len(value) > 200:
        return "", ""
    return session_id, signature


def claimed_nip(cookies: Sequence[str]) -> str:
    """The NIP the request's session id starts with, unchecked ("" if none): like
    claimed_session_hash, what a page may read ahead, never whom it may trust."""
    session_id, _ = _claimed(cookies)
    nip, ends, _ = session_id.partition(_NIP_ENDS)
    return nip if ends and looks_like_nip(nip) else ""


def looks_like_nip(text: str) -> bool:
    """18 ASCII digits, as every NIP is (izin.roster.Officer.nip)."""
    return len(text) == _NIP_DIGITS and text.isascii() and text.isdigit()


def read_ahead(
    store: InvocationStore,
    cookies: Sequence[str],
    typed_nip: str,
    *,
    ticket_hash: str = "",
    away: bool = False,
) -> None:
    """Read together what a page behind sign-in reads one item at a time: the session the
    cookie names, the second factor of the officer it (or the form's typed NIP) names, the
    roster in force, the task link's ticket when there is one, and who may be away when the
    page shows delegations. Unchecked: it chooses what to read, never whom to trust."""
    store.read_ahead(
        ticket_hash=ticket_hash,
        session_hash=claimed_session_hash(cookies),
        officer_nip=claimed_nip(cookies) or (typed_nip if looks_like_nip(typed_nip) else ""),
        roster=True,
        away=away,
    )


def claimed_session_hash(cookies: Sequence[str]) -> str:
    """The stored form of the session id the request's cookie names, its signature not yet
    checked ("" if none): what a page may read ahead, never what it may trust."""
    session_id, _ = _claimed(cookies)
    return session_hash(session_id) if session_id else ""


def signed_in(cookies: Sequence[str], auth: Auth) -> SignedIn | None:
    """The officer whose live session this request carries, or None; with `auth.presumes`,
    as the signed cookie says, unread (`_presumed`)."""
    session_id, signature = _claimed(cookies)
    if not session_id:
        return None
    if not hmac.compare_digest(signature, _signature(auth.session_key(), session_id)):
        return None
    digest = session_hash(session_id)
    nip = claimed_nip(cookies)
    if auth.presumes and nip and digest not in _NOT_LIVE:
        return _presumed(session_id, digest, nip, auth)
    return _read(session_id, digest, auth)


def _presumed(session_id: str, digest: str, nip: str, auth: Auth) -> SignedIn | None:
    """The session the signed cookie names, taken as live without reading it: every write
    the invocation makes carries the checks that it is (izin.store.session_checks), and one
    that makes none reads it before it answers (InvocationStore.confirm_presumed); either
    way, a session that is not live is found out and the page is made again with it read."""
    store = auth.store
    assert isinstance(store, InvocationStore), "a session is presumed in an invocation's view"
    officer = officer_by_nip(auth.roster, nip)  # the roster is presumed too, by the page
    if officer is None:
        return None
    checks = session_checks(
        digest,
        nip,
        generation=_GENERATIONS.get(nip, 0),
        # Its end after now: `expires_at` is the end in whole seconds, plus KEPT_AFTER_END.
        expires_at_least=int(auth.now.timestamp()) + KEPT_AFTER_END + 1,
    )
    store.presume(checks, confirm=lambda: _read(session_id, digest, auth) is not None)
    return SignedIn(officer, digest, None)


def _read(session_id: str, digest: str, auth: Auth) -> SignedIn | None:
    """The session, read: the officer's while its record says so."""
    signed = _read_record(digest, auth)
    if signed is None and len(_NOT_LIVE) < _MOST_KEPT:
        _NOT_LIVE.add(digest)
    return signed


# The most sessions found not live a container keeps (64 bytes each).
_MOST_KEPT = 10_000


def _read_record(digest: str, auth: Auth) -> SignedIn | None:
    record = auth.store.session(digest)
    if record is None or record.get("ended_at"):
        return None
    until = datetime.fromisoformat(str(record["until"]))
    if until <= auth.now:
        return None
    officer = officer_by_nip(auth.roster, str(record["nip"]))
    if officer is None:  # no longer on the roster
        return None
    current = (auth.store.officer_auth(officer.nip) or {}).get("sessions_generation", 0)
    _GENERATIONS[officer.nip] = int(current)
    if int(record.get("generation", 0)) != int(current):
        return None
    return SignedIn(officer, digest, until)


def end_session(auth: Auth, signed: SignedIn) -> str:
    """End this session; the Set-Cookie that clears the cookie."""
    auth.store.update_session(signed.session_hash, {"ended_at": auth.now.isoformat()})
    return cookie_header(auth, "", max_age=0)


def end_all_sessions(store: Store, nip: str) -> int:
    """End every session of the officer (an admin's act); the new generation."""
    record = store.update_officer_auth(nip, {}, add={"sessions_generation": 1})
    return int(record["sessions_generation"])


def form_token(auth: Auth, signed: SignedIn, purpose: str) -> str:
    """A CSRF token for a form shown inside a session (sign-out, …)."""
    return _signature(auth.session_key(), f"{purpose}:{signed.session_hash}")


def form_token_ok(auth: Auth, signed: SignedIn, purpose: str, sent: str) -> bool:
    """Whether a form's token is this session's for `purpose`."""
    return hmac.compare_digest(sent, form_token(auth, signed, purpose))
