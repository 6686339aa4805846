"""An officer as a person: reads the email, opens the link, fills the form, presses a button.

Used by `izin demo`, `izin bench` and the integration tests, so they all take the path
officers take: the outbox, GET /tasks/{ticket}, POST the form's own fields over HTTP.

A decision needs the officer's second factor (CONTRACT §3): the first one of each officer
types their NIP and the current code (computed from the local roster's `totp_secret`, as
their phone would), which starts a session; the officer's later decisions ride on that
session's cookie. A code is good once (see `Codes` for when an officer waits for one).

A page not back within API Gateway's 30 s is its 503 (izin_local.gateway), while the
function goes on; the officer reloads it after a moment, as anyone does with a browser's
error page. A decision whose answer was that 503 is looked for on the reloaded page: the
task decided means it was taken; the form still there, it is sent again (a ticket decides
once). `RELOADS` counts them, for `izin bench` to print.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import ClassVar, TypeVar

from izin.auth import DRIFT_STEPS, PERIOD, code_for, time_step
from izin.roster import Roster
from izin.sessions import COOKIE

from izin_local.gateway import SERVICE_UNAVAILABLE
from izin_local.outbox import Outbox, OutboxMessage

T = TypeVar("T")


@dataclass
class TaskForm:
    """The form of a task page, as a browser would submit it."""

    step: int
    fields: dict[str, list[str]] = field(default_factory=dict)
    buttons: list[str] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form: TaskForm | None = None
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "data-sop-step" in a:
            self.form = TaskForm(step=int(a["data-sop-step"]))
        if self.form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                self.form.fields.setdefault(name, [])
                if "checked" in a:
                    self.form.fields[name].append(a.get("value", "on"))
            elif kind != "submit":
                self.form.fields[name] = [a.get("value", "")]
        elif tag == "select" and name:
            self._select = name
            self.form.fields[name] = []
        elif tag == "option" and self._select and "selected" in a:
            self.form.fields[self._select] = [a.get("value", "")]
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
        elif tag == "button" and name == "decision":
            self.form.buttons.append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "textarea" and self.form is not None and self._textarea:
            self.form.fields[self._textarea] = ["".join(self._text)]
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)


class _UploadParser(HTMLParser):
    """The page's upload form (izin.evidence): where it posts, and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("enctype") == "multipart/form-data":
            self.action, self._inside = a.get("action", ""), True
        elif tag == "input" and self._inside and a.get("type") == "hidden":
            self.fields[a.get("name", "")] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


# API Gateway's answer to a page not back within its integration timeout, and how long the
# officer looks at it before reloading. The client waits longer than API Gateway does (a
# browser waits minutes), so it reads that answer rather than giving up first.
UNAVAILABLE = 503
RELOAD_AFTER = 2.0
CLIENT_TIMEOUT = 90.0


class Reloads:
    """How many times this process's officers met API Gateway's 503 and reloaded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def add(self) -> None:
        with self._lock:
            self._count += 1


RELOADS = Reloads()


def gateway_gave_up(status: int, text: str) -> bool:
    """Whether an answer is API Gateway's own 503 (its JSON message), not a page's 503 (the
    task page's "BSrE unavailable", say, which is the system's answer to read)."""
    if status != UNAVAILABLE:
        return False
    try:
        return bool(json.loads(text) == SERVICE_UNAVAILABLE)
    except ValueError:
        return False


def reloading(url: str, *, cookies: Sequence[str] = (), deadline: float) -> Answer:
    """GET a page, reloaded after each 503 until the deadline (time.monotonic())."""
    while True:
        answer = http_request(url, cookies=cookies)
        if not gateway_gave_up(answer.status, answer.text) or time.monotonic() >= deadline:
            return answer
        RELOADS.add()
        time.sleep(RELOAD_AFTER)


def upload_file(
    page: str, name: str, content: bytes, *, cookies: Sequence[str] = ()
) -> tuple[int, str]:
    """Upload a file through a task page's upload form, as a browser does: a multipart POST
    to the bucket (no cookie of the site goes to it), then S3's redirect to the page that
    records it and that page's to the task page, followed with the site's `cookies`."""
    parser = _UploadParser()
    parser.feed(page)
    if not parser.action:
        raise RuntimeError("the page has no upload form")
    boundary = "izin" + uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in parser.fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(  # noqa: S310 - local URLs
        parser.action,
        data=b"".join(parts),
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        answer = _OPENER.open(request, timeout=CLIENT_TIMEOUT)
    except urllib.error.HTTPError as error:
        answer = error
    with answer:
        status, text, location = answer.status, answer.read().decode(), answer.headers["Location"]
    for hops in range(MOST_REDIRECTS + 1):
        if status not in REDIRECTS or not location:
            return status, text
        if hops == MOST_REDIRECTS:
            break
        followed = http_request(urllib.parse.urljoin(parser.action, location), cookies=cookies)
        status, text, location = followed.status, followed.text, followed.location
    raise RuntimeError(f"uploading {name}: more than {MOST_REDIRECTS} redirects")


def parse_task_page(html: str) -> TaskForm | None:
    """The task form of a page, or None when the page has none."""
    parser = _FormParser()
    parser.feed(html)
    return parser.form


@dataclass
class Answer:
    """A page's status, text, the cookies it set ("name=value" each), where it redirects."""

    status: int
    text: str
    cookies: list[str] = field(default_factory=list)
    location: str = ""


REDIRECTS = frozenset({301, 302, 303, 307, 308})
MOST_REDIRECTS = 5


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 303 is an answer to read (its Location, its cookies), not followed


_OPENER = urllib.request.build_opener(_NoRedirect)


def http_request(
    url: str, fields: Mapping[str, Sequence[str]] | None = None, *, cookies: Sequence[str] = ()
) -> Answer:
    """GET (no fields) or POST a form as a browser does, with these cookies; no redirects."""
    headers = {"User-Agent": "izin-demo"}
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    data = None
    if fields is not None:
        body = urllib.parse.urlencode([(k, v) for k, values in fields.items() for v in values])
        data = body.encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(  # noqa: S310 - local URLs
        url, data=data, method="POST" if data is not None else "GET", headers=headers
    )
    try:
        answer = _OPENER.open(request, timeout=CLIENT_TIMEOUT)
    except urllib.error.HTTPError as error:
        answer = error
    with answer:
        set_cookies = [c.split(";", 1)[0] for c in answer.headers.get_all("Set-Cookie") or []]
        location = answer.headers.get("Location") or ""
        return Answer(answer.status, answer.read().decode(), set_cookies, location)


def http_get(url: str) -> tuple[int, str]:
    """GET a page: its status and text."""
    answer = http_request(url)
    return answer.status, answer.text


def http_post_form(url: str, fields: Mapping[str, Sequence[str]]) -> tuple[int, str]:
    """POST a form as a browser does (application/x-www-form-urlencoded)."""
    answer = http_request(url, fields)
    return answer.status, answer.text


# The sessions this process's officers hold, by (site, NIP), shared by every helper acting
# for an officer (the demo's and the bench's Officers, a test's browsers): one correct
# NIP + code per officer, then the session; the lock makes concurrent first acts wait.
_SESSIONS: dict[tuple[str, str], str] = {}
_LOCKS: dict[tuple[str, ...], threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def _lock_for(key: tuple[str, ...]) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(key, threading.Lock())


def _site(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _session_cookie(cookies: Sequence[str]) -> str:
    return next((c for c in cookies if c.startswith(f"{COOKIE}=")), "")


def known_session(url: str, nip: str) -> str:
    """The session cookie ("izin_sesi=…") this process's helpers hold for the officer on
    the system at `url`, or "" when they hold none."""
    return _SESSIONS.get((_site(url), nip), "")


def remember_session(url: str, nip: str, cookie: str) -> None:
    """Share a session the officer started elsewhere (a test's browser) with every helper,
    or, given "", forget the one held (it has ended)."""
    if cookie:
        _SESSIONS[(_site(url), nip)] = cookie
    else:
        _SESSIONS.pop((_site(url), nip), None)


def forget_sessions(url: str) -> None:
    """Forget every session held on the system at `url` (its runtime stopped: a runtime
    started later on the same port has a table of its own, where they mean nothing)."""
    site = _site(url)
    for key in [k for k in _SESSIONS if k[0] == site]:
        _SESSIONS.pop(key, None)


class Codes:
    """Each officer's authenticator, from a local roster's `totp_secret`s, for one system
    (`site`, its pages' scheme://host:port): never the same code twice, as the system takes
    each code once. The codes used are the process's, shared by every Codes of the site:
    two helpers acting for one officer (the scenario's Officer, a test's signed-in browser)
    never spend the same code, while another system's table has spent none of them.

    A code is the current window's, or the next one's when that was used: the system takes
    a code one window either side of its clock (`DRIFT_STEPS`, a phone's drift), and its
    clock only moves on, so the next window's code is still good when it arrives. Past
    those two, the officer waits for the next window, as a person would."""

    _last: ClassVar[dict[tuple[str, str], int]] = {}

    def __init__(self, roster: Roster, site: str) -> None:
        self.secrets = {o.nip: o.totp_secret for o in roster.officers if o.totp_secret}
        self.site = _site(site)

    def next(self, nip: str, *, timeout: float = 40.0) -> str:
        """A code of the officer's not used yet: now's, the next window's, or (both used)
        the first of the next window, waited for."""
        if nip not in self.secrets:
            raise LookupError(f"the roster gives no totp_secret for NIP {nip}")
        key = (self.site, nip)
        with _lock_for(("code", *key)):
            step = wait_until(
                lambda: _unused_step(Codes._last.get(key, -1)),
                timeout=timeout,
                what=f"the next code window of {nip}",
                every=0.2,
            )
            Codes._last[key] = step
        return _code_of_step(self.secrets[nip], step)


def code_after(secret: str, used: datetime) -> str:
    """The code of `secret` that the system takes now when the one of `used`'s window was
    taken (as an enrollment takes one): the next window's at the earliest."""
    step = _unused_step(time_step(used))
    if step is None:
        raise ValueError(f"{used.isoformat()} is later than the system's clock")
    return _code_of_step(secret, step)


def _unused_step(last: int) -> int | None:
    """The earliest time-step after `last` that the system takes now and later (None: wait)."""
    current = time_step(datetime.now(UTC))
    step = max(last + 1, current)
    return step if step <= current + DRIFT_STEPS else None


def _code_of_step(secret: str, step: int) -> str:
    return code_for(secret, datetime.fromtimestamp(step * PERIOD, UTC))


def hidden_csrf(html: str) -> str:
    """The first form's CSRF token on a page ("" when it has none)."""
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    return found.group(1) if found else ""


class SignedInBrowsers:
    """Each officer's browser, signed in at /masuk once with NIP + code (CONTRACT §6): the
    tests' posts of a form then ride on that officer's session, as a person's would."""

    def __init__(self, http_url: str, roster: Roster) -> None:
        self.http_url = http_url.rstrip("/")
        self.codes = Codes(roster, http_url)

    def cookie(self, nip: str) -> str:
        """The officer's session cookie ("izin_sesi=…"), signing in the first time."""
        key = (_site(self.http_url), nip)
        with _lock_for(key):
            if key not in _SESSIONS:
                _SESSIONS[key] = self._sign_in(nip)
            return _SESSIONS[key]

    def _sign_in(self, nip: str) -> str:
        page = http_request(f"{self.http_url}/masuk")
        fields = {"csrf": [hidden_csrf(page.text)], "nip": [nip], "kode": [self.codes.next(nip)]}
        answer = http_request(f"{self.http_url}/masuk", fields, cookies=page.cookies)
        session = _session_cookie(answer.cookies)
        if answer.status != 303 or not session:
            raise RuntimeError(f"signing in {nip} at /masuk answered {answer.status}")
        return session

    def post(self, url: str, fields: Mapping[str, Sequence[str]]) -> tuple[int, str]:
        """POST a form from the browser of the officer whose NIP it carries (signed in), or
        from a browser with no session when the NIP is nobody's with a code."""
        nip = (fields.get("nip") or [""])[-1]
        cookies = [self.cookie(nip)] if nip in self.codes.secrets else []
        answer = http_request(url, fields, cookies=cookies)
        return answer.status, answer.text


def is_task_email(message: OutboxMessage, id_izin: str, step: int) -> bool:
    """Whether an email asks for this application's step."""
    return f"Langkah {step:02d} " in message.subject and f"ID Izin    : {id_izin}" in (
        message.text or ""
    )


@dataclass
class Decided:
    """What happened when an officer acted."""

    step: int
    decision: str
    status: int
    officer: str
    page: str
    resent: bool = False  # the page reloaded after API Gateway's 503 on the decision

    @property
    def taken(self) -> bool:
        """The decision was taken: answered, or, its answer the 503, the task found decided."""
        return self.status == 200 or (self.resent and self.status == 409)


class Officer:
    """Acts on one application's task emails, as the addressee would."""

    def __init__(self, outbox: Outbox, id_izin: str, roster: Roster) -> None:
        self.outbox = outbox
        self.id_izin = id_izin
        self.roster = roster
        # email address → NIP: what each officer types
        self.nips = {str(o.email): o.nip for o in roster.officers}
        self.used: set[str] = set()

    def task_email(self, step: int, *, timeout: float = 60.0) -> OutboxMessage:
        """The newest unread email asking for this step."""
        message = self.outbox.wait_for(
            lambda m: m.name not in self.used and is_task_email(m, self.id_izin, step),
            timeout=timeout,
        )
        self.used.add(message.name)
        return message

    def act(
        self,
        step: int,
        decision: str,
        *,
        fields: Mapping[str, str | list[str]] | None = None,
        uploads: Mapping[str, bytes] | None = None,
        timeout: float = 60.0,
    ) -> Decided:
        """Open the step's email link, upload the files (name -> bytes) through the page's
        upload form, fill the form, press the decision's button: with the officer's session,
        or (none yet, or it ended) with NIP + code, which starts one."""
        message = self.task_email(step, timeout=timeout)
        deadline = time.monotonic() + timeout
        link = next(link for link in message.links if "/tasks/" in link)
        key = (_site(link), self.nips[message.to[0]])
        page: str | None = None  # the page the uploads led back to, where the form is filled
        session: list[str] = []
        if uploads:
            session = [_SESSIONS[key]] if key in _SESSIONS else []
            page = reloading(link, cookies=session, deadline=deadline).text
            for name, content in uploads.items():
                status, page = upload_file(page, name, content, cookies=session)
                if gateway_gave_up(status, page):  # stored; the page that records it goes on
                    RELOADS.add()
                    page = reloading(link, cookies=session, deadline=deadline).text
                elif status != 200:
                    raise RuntimeError(f"step {step}: uploading {name} answered {status}")
        act = Act(message, link, step, decision, fields or {}, deadline, page, session)
        if key in _SESSIONS:
            decided = self._act(act, under_lock=False)
            if decided is not None:
                return decided
        with _lock_for(key):  # the officer's first act (or after their session ended)
            decided = self._act(act, under_lock=True)
        assert decided is not None
        return decided

    def _act(self, act: Act, *, under_lock: bool, resent: bool = False) -> Decided | None:
        """Act with the shared session; without one, NIP + code (under the officer's lock
        only). None: the session ended outside the lock (the caller retries under it).
        `resent`: the decision's answer was API Gateway's 503, and this is the reload."""
        nip = self.nips[act.message.to[0]]
        key = (_site(act.link), nip)
        session = [_SESSIONS[key]] if key in _SESSIONS else []
        if act.page is not None and session and session == act.page_session and not resent:
            page = Answer(200, act.page)  # on screen since the upload, with the session
        else:
            page = reloading(act.link, cookies=session, deadline=act.deadline)
        if resent and page.status == 409:  # decided: the decision sent before was taken
            officer = act.message.to[0]
            return Decided(act.step, act.decision, page.status, officer, page.text, resent=True)
        form = parse_task_page(page.text)
        if page.status != 200 or form is None:
            raise RuntimeError(f"step {act.step}: the task page answered {page.status}")
        if form.step != act.step or act.decision not in form.buttons:
            raise RuntimeError(
                f"step {act.step}: the page offers {form.buttons} for step {form.step}"
            )
        values = dict(form.fields)
        for name, value in act.fields.items():
            values[name] = [value] if isinstance(value, str) else list(value)
        keys = {"passphrase", "bsre_totp"} & set(act.fields)
        if "passphrase" in form.fields and act.decision == "yes" and not keys:
            # Step 14 signs through BSrE: the local roster's passphrase, as he would type it.
            values["passphrase"] = [self.roster.by_nip(nip).bsre_passphrase]
        if "nip" in form.fields:  # no live session: the page asks for NIP and code
            if not under_lock:
                return None
            values["nip"] = [nip]
            values["kode"] = [Codes(self.roster, act.link).next(nip)]
        values["decision"] = [act.decision]
        answer = http_request(act.link, values, cookies=session)
        if cookie := _session_cookie(answer.cookies):
            _SESSIONS[key] = cookie
        if gateway_gave_up(answer.status, answer.text) and time.monotonic() < act.deadline:
            RELOADS.add()
            time.sleep(RELOAD_AFTER)
            return self._act(act, under_lock=under_lock, resent=True)
        officer = act.message.to[0]
        return Decided(act.step, act.decision, answer.status, officer, answer.text, resent)


@dataclass(frozen=True)
class Act:
    """One decision an officer is making: the email, its link, what to press and type, and
    when they give up (time.monotonic())."""

    message: OutboxMessage
    link: str
    step: int
    decision: str
    fields: Mapping[str, str | list[str]]
    deadline: float
    page: str | None = None  # the task page as the last upload left it on screen
    page_session: Sequence[str] = ()  # the session cookie it was loaded with


def wait_until(
    predicate: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.1
) -> T:
    """Poll `predicate()` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not after {timeout} s")
        time.sleep(every)
