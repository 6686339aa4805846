"""The Dinas's console, /konsol (issue #15): every application with its place in the SOP,
who holds it and its SLA risk, for the Kepala Bidang, the Kepala Dinas and an admin.

The list is read page by page from the GSI1 index (newest application first, a Query
with a date range as its key condition; never a Scan); the other filters are applied to
what each Query page returns, and the page goes on from the last application read (an
opaque cursor in the link). Rows are sorted by the current step's due date within the page.
The counts per step at the top read the same index in full (Query pages, capped).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from izin import audit_export, incidents, reports, risk, sessions, sop
from izin.auth import Auth
from izin.calendar import WIB, HolidayCalendar, to_wib
from izin.observability import logger
from izin.resume import NotResumable, resume_parked
from izin.risk import SLA_STATES, Assessed, Risk
from izin.roster import Roster
from izin.settings import Settings
from izin.store import Item, Store
from izin.tasks.context import Page, Request
from izin.templating import render
from izin.workspace import EXPORT_ROLES

PATH = "/konsol"
# Who may see the console (and download an application's audit ZIP).
ROLES = EXPORT_ROLES
STATUSES = {"PROSES": "Proses", "SELESAI": "Selesai", "TERHENTI": "Terhenti"}
PAGE_ROWS = 25
QUERY_PAGE = 100  # applications read from the index per Query
MAX_READ = 1000  # applications read for one page of the list at most
MAX_COUNTED = 5000  # applications the counts per step read at most
_LAST = datetime.max.replace(tzinfo=UTC)
_CURSOR_KEYS = ("PK", "SK", "GSI1PK", "GSI1SK")


class BadFilter(ValueError):
    """A filter or cursor the console cannot read (its message is shown on the page)."""


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to (every field optional)."""

    status: str = ""
    step: int = 0
    holder: str = ""  # the holder's NIP
    dari: date | None = None  # received on or after (WIB)
    sampai: date | None = None  # received on or before (WIB)
    sla: str = ""

    def query(self) -> dict[str, str]:
        """The filters as the form's fields (to keep them on the next page's link)."""
        fields = {
            "status": self.status,
            "langkah": str(self.step or ""),
            "pemegang": self.holder,
            "dari": self.dari.isoformat() if self.dari else "",
            "sampai": self.sampai.isoformat() if self.sampai else "",
            "sla": self.sla,
        }
        return {k: v for k, v in fields.items() if v}


def read_filters(query: Mapping[str, str], roster: Roster) -> Filters:
    """The filters from the page's query string; BadFilter says what is wrong."""
    status = query.get("status", "").strip().upper()
    if status and status not in STATUSES:
        raise BadFilter("Status tidak dikenal.")
    step_text = query.get("langkah", "").strip()
    if step_text and (not step_text.isdigit() or not 1 <= int(step_text) <= len(sop.STEPS)):
        raise BadFilter(f"Langkah harus angka 1 sampai {len(sop.STEPS)}.")
    holder = query.get("pemegang", "").strip()
    if holder and holder not in {o.nip for o in roster.officers}:
        raise BadFilter("Pemegang tidak ada dalam daftar petugas.")
    sla = query.get("sla", "").strip()
    if sla and sla not in SLA_STATES:
        raise BadFilter("Keadaan SLA tidak dikenal.")
    dari, sampai = _date(query, "dari"), _date(query, "sampai")
    if dari and sampai and dari > sampai:
        raise BadFilter("Tanggal 'dari' sesudah tanggal 'sampai'.")
    return Filters(status, int(step_text or 0), holder, dari, sampai, sla)


def _date(query: Mapping[str, str], name: str) -> date | None:
    text = query.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"Tanggal '{name}' harus berbentuk TTTT-BB-HH.") from None


def received_range(filters: Filters) -> tuple[str, str]:
    """The date range as bounds on created_at (stored in UTC ISO text), days in WIB."""
    since = until = ""
    if filters.dari:
        since = datetime.combine(filters.dari, time(), tzinfo=WIB).astimezone(UTC).isoformat()
    if filters.sampai:
        end = datetime.combine(filters.sampai + timedelta(days=1), time(), tzinfo=WIB)
        until = (end.astimezone(UTC) - timedelta(microseconds=1)).isoformat()
    return since, until


def encode_cursor(key: Item) -> str:
    """An index key as the opaque text of a link."""
    text = json.dumps({k: str(key[k]) for k in _CURSOR_KEYS}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Item | None:
    """A link's cursor as an index key; BadFilter when it is not one this page made."""
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        raise BadFilter("Tautan halaman berikutnya rusak; mulai dari halaman pertama.") from None
    if (
        not isinstance(key, dict)
        or sorted(key) != sorted(_CURSOR_KEYS)
        or not all(isinstance(v, str) for v in key.values())
        or key["GSI1PK"] != "APPLICATION"
        or not key["PK"].startswith("APP#")
        or key["SK"] != "META"
    ):
        raise BadFilter("Tautan halaman berikutnya rusak; mulai dari halaman pertama.")
    return key


Row = Assessed  # one application as the list shows it


@dataclass
class Listing:
    """A page of the list, and where the next one starts."""

    rows: list[Row]
    next_cursor: str = ""


Assess = Callable[[Mapping[str, Any]], Risk]


def matches(application: Mapping[str, Any], risk: Risk, filters: Filters) -> bool:
    """Whether an application passes the filters (other than the date range)."""
    if filters.status and application.get("status") != filters.status:
        return False
    if filters.step and int(application.get("current_step", 0)) != filters.step:
        return False
    if filters.holder and (application.get("holder") or {}).get("nip") != filters.holder:
        return False
    return not filters.sla or risk.matches(filters.sla)


def listing(store: Store, filters: Filters, cursor: str, *, assess: Assess) -> Listing:
    """One page of the list from the cursor on."""
    after = decode_cursor(cursor)
    since, until = received_range(filters)
    rows: list[Row] = []
    read, next_key = 0, None
    while True:
        items, last = store.applications_page(QUERY_PAGE, after=after, since=since, until=until)
        read += len(items)
        for index, item in enumerate(items):
            risk = assess(item)
            if matches(item, risk, filters):
                rows.append(Row(item, risk))
            if len(rows) == PAGE_ROWS:
                more = index < len(items) - 1 or last is not None
                next_key = {k: item[k] for k in _CURSOR_KEYS} if more else None
                break
        else:
            after = next_key = last
            if last is not None and read < MAX_READ:
                continue
        break
    rows.sort(key=lambda r: (r.risk.deadline is None, r.risk.deadline or _LAST))
    return Listing(rows, encode_cursor(next_key) if next_key else "")


@dataclass(frozen=True)
class Overview:
    """What the top of the console shows: the open applications per step, the parked ones."""

    counts: list[tuple[int, str, int]]  # step, activity, applications in process there
    parked: list[Item]  # TERHENTI applications, newest first
    complete: bool  # False when there were more than MAX_COUNTED to read
    waiting: list[Item]  # applications waiting on SIINAS or OSS


def overview(store: Store) -> Overview:
    """The applications in process (PROSES or TERHENTI) at each SOP step, and the parked
    ones, read from the index (Query pages, at most MAX_COUNTED applications)."""
    counter: Counter[int] = Counter()
    parked: list[Item] = []
    waiting: list[Item] = []
    after, read = None, 0
    while True:
        items, after = store.applications_page(QUERY_PAGE, after=after)
        read += len(items)
        counter.update(int(i.get("current_step", 0)) for i in items if i.get("status") != "SELESAI")
        parked += [i for i in items if i.get("status") == "TERHENTI"]
        waiting += incidents.waiting(items)
        if after is None or read >= MAX_COUNTED:
            break
    counts = [(s.number, s.activity, counter[s.number]) for s in sop.STEPS]
    return Overview(counts, parked, after is None, waiting)


@dataclass(frozen=True)
class Incidents:
    """What the console's incidents need beyond the table: the DLQs, the Operator's mail."""

    dead_letters: incidents.DeadLetters
    queues: list[incidents.DeadLetterQueue]
    issue_link: incidents.IssueRecordLink
    calendar: HolidayCalendar
    config: Settings


Resume = Callable[[str, str], str]  # (id_izin, by) -> the new execution's name


def console_page(
    request: Request,
    auth: Auth,
    *,
    method: str,
    assess: Assess,
    resume: Resume | None = None,
    doors: Incidents | None = None,
    same_site: bool = False,
) -> Page:
    """/konsol, for the console's roles only: GET the list; POST an incident's action
    (field `aksi`: Resume a parked application, the default; `redrive` a DLQ message;
    `kirim_ulang` a late wait's record-by-hand link)."""
    signed = gate(request, auth, method)
    if isinstance(signed, Page):
        return signed
    if method == "POST":
        aksi = (request.form.get("aksi") or ["lanjutkan"])[-1]
        if aksi == "lanjutkan" and resume is not None:
            return _resume(
                request, auth, signed, resume, same_site=same_site, assess=assess, doors=doors
            )
        if aksi in ("redrive", "kirim_ulang") and doors is not None:
            return _incident_action(
                request, auth, signed, aksi, doors, same_site=same_site, assess=assess
            )
    if method not in ("GET", "HEAD"):
        return Page(405, render("pages/not_found.html.j2"), headers={"allow": "GET, POST"})
    return _list_page(request, auth, signed, assess=assess, doors=doors)


def gate(request: Request, auth: Auth, method: str) -> sessions.SignedIn | Page:
    """The signed-in officer of a console role, or the page that turns the request away."""
    signed = sessions.signed_in(request.cookies, auth)
    if signed is None:
        if method in ("GET", "HEAD"):
            return Page(
                303, render("pages/redirect.html.j2", location="/masuk"), {"location": "/masuk"}
            )
        return Page(401, render("pages/redirect.html.j2", location="/masuk"))
    if signed.officer.role not in ROLES:
        return Page(403, render("pages/konsol_forbidden.html.j2", signed=signed))
    return signed


def _list_page(
    request: Request,
    auth: Auth,
    signed: sessions.SignedIn,
    *,
    assess: Assess,
    doors: Incidents | None = None,
    status: int = 200,
    notice: str = "",
    error: str = "",
) -> Page:
    seen = overview(auth.store)
    context: dict[str, Any] = {
        "signed": signed,
        "officers": list(auth.roster.officers),
        "overview": seen,
        "resume_token": lambda id_izin: sessions.form_token(auth, signed, f"lanjutkan:{id_izin}"),
        "form_token": lambda purpose: sessions.form_token(auth, signed, purpose),
        "notice": notice or done_notice(request.query),
        "action_error": error,
        **_incidents(auth, seen, doors),
        **_choices(),
    }
    try:
        filters = read_filters(request.query, auth.roster)
        found = listing(auth.store, filters, request.query.get("lanjut", ""), assess=assess)
    except BadFilter as bad:
        html = render(
            "pages/konsol.html.j2",
            form=dict(request.query),
            listing=None,
            error=str(bad),
            **context,
        )
        return Page(400, html)
    next_link = ""
    if found.next_cursor:
        next_link = f"{PATH}?{urlencode({**filters.query(), 'lanjut': found.next_cursor})}"
    html = render(
        "pages/konsol.html.j2",
        form=filters.query(),
        listing=found,
        next_link=next_link,
        error="",
        **context,
    )
    return Page(status, html)


_NOTICES = {
    "dilanjutkan": "Permohonan {} dilanjutkan dari langkah yang terhenti.",
    "dikirim_ulang": "Pesan DLQ permohonan {} dikirim ulang ke antreannya.",
    "tautan": "Tautan pencatatan manual permohonan {} dikirim ulang ke Operator.",
}


def done_notice(
    query: Mapping[str, str],
    notices: Mapping[str, str] = _NOTICES,
    fits: Callable[[str], bool] = lambda value: 0 < len(value) <= 80,
) -> str:
    """The notice a redirect after an action asks for (`?name=value`), if its value fits."""
    for name, text in notices.items():
        value = query.get(name, "")
        if fits(value):
            return text.format(value)
    return ""


def _incidents(auth: Auth, seen: Overview, doors: Incidents | None) -> dict[str, Any]:
    """The DLQs' messages and the late waits, when the console is wired to see them."""
    if doors is None:
        return {"dead_queues": None, "late_waits": None}
    return {
        "dead_queues": incidents.dead_messages(doors.dead_letters, doors.queues, auth.store),
        "late_waits": incidents.late_waits(
            auth.store, seen.waiting, now=auth.now, calendar=doors.calendar, config=doors.config
        ),
    }


def _incident_action(
    request: Request,
    auth: Auth,
    signed: sessions.SignedIn,
    aksi: str,
    doors: Incidents,
    *,
    same_site: bool,
    assess: Assess,
) -> Page:
    """POST /konsol: redrive one DLQ message, or re-send a late wait's record-by-hand link."""
    target = _posted(request, auth, signed, "id", aksi)
    refused = _refusal(auth, signed, assess=assess, doors=doors)
    if not same_site or target is None:
        return refused(403, EXPIRED)
    by = {"nama": signed.officer.nama, "nip": signed.officer.nip}
    if aksi == "redrive":
        queue_key, _, message_id = target.partition(":")
        queue = next((q for q in doors.queues if q.key == queue_key), None)
        try:
            if queue is None:
                raise incidents.NotInQueue(target)
            moved = incidents.redrive(
                doors.dead_letters, queue, message_id, store=auth.store, by=by, now=auth.now
            )
        except incidents.NotInQueue:
            return refused(409, "Pesan itu tidak ada lagi di DLQ (mungkin sudah dikirim ulang).")
        logger.info("redriven from the console", extra={"queue": queue.key, "by": by["nip"]})
        done = {"dikirim_ulang": moved.id_izin or "-"}
    else:
        try:
            incidents.resend_record_link(
                target, store=auth.store, issue=doors.issue_link, by=by, now=auth.now
            )
        except incidents.NotWaiting:
            return refused(409, f"Permohonan {target} tidak lagi menunggu SIINAS atau OSS.")
        logger.info("record link re-sent from the console", extra={"id_izin": target})
        done = {"tautan": target}
    return _back_to_list(done)


def _resume(
    request: Request,
    auth: Auth,
    signed: sessions.SignedIn,
    resume: Resume,
    *,
    same_site: bool,
    assess: Assess,
    doors: Incidents | None = None,
) -> Page:
    """POST /konsol (Resume): start a TERHENTI application again, as `izin resume` does."""
    id_izin = _posted(request, auth, signed, "id_izin", "lanjutkan")
    refused = _refusal(auth, signed, assess=assess, doors=doors)
    if not same_site or id_izin is None:
        return refused(403, EXPIRED)
    by = f"{signed.officer.nama} (NIP {signed.officer.nip}, {signed.via})"
    try:
        name = resume(id_izin, by)
    except NotResumable:
        logger.warning("resume refused", extra={"id_izin": id_izin})
        return refused(
            409,
            f"Permohonan {id_izin} tidak dapat dilanjutkan: tidak berstatus TERHENTI "
            "atau sudah dilanjutkan.",
        )
    logger.info("resumed from the console", extra={"id_izin": id_izin, "execution": name})
    return _back_to_list({"dilanjutkan": id_izin})


# -- what the console's POSTs share ---------------------------------------------------------

EXPIRED = "Formulir kedaluwarsa; muat ulang halaman lalu coba lagi."


def _posted(
    request: Request, auth: Auth, signed: sessions.SignedIn, field: str, purpose: str
) -> str | None:
    """What a console form posts in `field`; None when it is empty or the form's CSRF token
    is not this session's for `purpose:value` (a stale page, or another site's form)."""
    value = (request.form.get(field) or [""])[-1].strip()
    sent = (request.form.get("csrf") or [""])[-1]
    if value and sessions.form_token_ok(auth, signed, f"{purpose}:{value}", sent):
        return value
    return None


def _refusal(
    auth: Auth, signed: sessions.SignedIn, *, assess: Assess, doors: Incidents | None
) -> Callable[[int, str], Page]:
    """How a console POST says no: the list again, unfiltered, with the status and why."""

    def refused(status: int, error: str) -> Page:
        return _list_page(
            Request(""), auth, signed, assess=assess, doors=doors, status=status, error=error
        )

    return refused


def _back_to_list(outcome: Mapping[str, str]) -> Page:
    """After a console POST that did its work: see the list (303), the outcome in its query."""
    location = f"{PATH}?{urlencode(outcome)}"
    return Page(303, render("pages/redirect.html.j2", location=location), {"location": location})


def _choices() -> dict[str, Any]:
    return {
        "statuses": STATUSES,
        "steps": [(s.number, s.activity) for s in sop.STEPS],
        "sla_states": SLA_STATES,
        "step_names": {s.number: s.activity for s in sop.STEPS},
        "role_titles": {r.value: t for r, t in sop.ROLE_TITLES.items()},
    }


def assessor(now: datetime, calendar: HolidayCalendar, config: Settings) -> Assess:
    """The SLA risk of an application at `now`, by the Dinas's configured service level."""
    return functools.partial(
        risk.assess,
        now=now,
        calendar=calendar,
        service_level_days=config.service_level_days,
        warn_days=config.fiktif_warn_days,
        workday_seconds=config.workday_seconds,
    )


def resumer(store: Store, state_machine_arn: str, *, now: datetime) -> Resume:
    """Resume as `izin resume` does it, on the state machine of this stack."""
    from izin.stepfunctions import StepFunctionsExecutions, StepFunctionsHistory

    def resume(id_izin: str, by: str) -> str:
        return resume_parked(
            id_izin,
            store=store,
            history=StepFunctionsHistory(state_machine_arn),
            executions=StepFunctionsExecutions(state_machine_arn),
            by=by,
            now=now,
        )

    return resume


REPORT_PATH = f"{PATH}/laporan"


@dataclass(frozen=True)
class Download:
    """A report file the browser saves."""

    filename: str
    content_type: str
    body: bytes

    def response(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The HTTP API answer: the page's headers, this file's type, base64 body."""
        return {
            "statusCode": 200,
            "headers": {
                **headers,
                "content-type": self.content_type,
                "content-disposition": f'attachment; filename="{self.filename}"',
            },
            "body": base64.b64encode(self.body).decode(),
            "isBase64Encoded": True,
        }


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_page(
    request: Request, auth: Auth, *, method: str, calendar: HolidayCalendar
) -> Page | Download:
    """GET /konsol/laporan?bulan=TTTT-BB[&format=csv|xlsx]: the month's report."""
    signed = gate(request, auth, method)
    if isinstance(signed, Page):
        return signed
    bulan = request.query.get("bulan", "").strip() or to_wib(auth.now).strftime("%Y-%m")
    kind = request.query.get("format", "").strip()
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", bulan) or kind not in ("", "csv", "xlsx"):
        html = render(
            "pages/konsol_laporan.html.j2",
            signed=signed,
            bulan=bulan,
            figures=None,
            error="Bulan harus berbentuk TTTT-BB (mis. 2026-12); format csv atau xlsx.",
        )
        return Page(400, html)
    figures = reports.report(bulan, reports.gather(auth.store, bulan=bulan), calendar=calendar)
    if kind == "csv":
        body = reports.as_csv(figures).encode("utf-8-sig")  # Excel reads the BOM as UTF-8
        return Download(f"laporan-{bulan}.csv", "text/csv; charset=utf-8", body)
    if kind == "xlsx":
        return Download(f"laporan-{bulan}.xlsx", XLSX, reports.as_xlsx(figures))
    html = render(
        "pages/konsol_laporan.html.j2",
        signed=signed,
        bulan=bulan,
        figures=figures,
        summary_headers=reports.SUMMARY_HEADERS,
        charts=reports.charts(figures),
        error="",
    )
    return Page(200, html)


AUDIT_PATH = f"{PATH}/audit"


def audit_export_page(
    request: Request, auth: Auth, id_izin: str, read: audit_export.Read, *, method: str
) -> Page | Download:
    """GET /konsol/audit/{id_izin}: the application's audit ZIP, for the console's roles."""
    signed = gate(request, auth, method)
    if isinstance(signed, Page):
        return signed
    try:
        body = audit_export.export(auth.store, id_izin, read, now=auth.now)
    except audit_export.NoSuchApplication:
        return Page(404, render("pages/not_found.html.j2"))
    officer = signed.officer
    auth.store.append_audit(
        id_izin,
        {
            "action": "audit.exported",
            "actor": officer.nama,
            "nip": officer.nip,
            "note": f"paket audit diunduh oleh {officer.nama}",
        },
        now=auth.now,
    )
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", id_izin)
    return Download(f"audit-{safe}.zip", "application/zip", body)
