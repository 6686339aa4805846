"""Officers' tasks: the ticket behind each email link, the page it shows, the decision it takes.

The flow of a human step (SOP steps 4–14, and the manual fallbacks):
  issue_task   — the state waits on a task token; we keep the token with a ticket whose
                 random secret goes into the email link; the store keeps only its hash.
  show_task    — GET: the step's page. It changes nothing (mail scanners open links).
  decide_task  — POST: checks the assignee's NIP, validates the form, takes the ticket with
                 one conditional write, then hands the decision to the waiting state once.

The task token never leaves AWS: not in an email, a URL, a page or a log line.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from izin import forms, sop
from izin.callbacks import Callbacks, TaskGone
from izin.formats import tanggal_waktu
from izin.mail import Email, Mailer
from izin.models import DecisionResult, StepRequest
from izin.roster import Officer, Roster
from izin.sop import ROLE_TITLES, SUPERVISOR, Role, Step
from izin.store import ConditionFailed, Store
from izin.templating import render

MAX_WRONG_NIPS = 5


class Status:
    """A ticket's lifecycle."""

    OPEN = "open"
    DECIDED = "decided"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    LOCKED = "locked"


class ApplicationNotFound(LookupError):
    """A step was asked for an application the table does not hold."""


def ticket_hash(ticket: str) -> str:
    """The stored form of a ticket: its SHA-256, so the table never holds a usable link."""
    return hashlib.sha256(ticket.encode()).hexdigest()


def task_url(public_base_url: str, ticket: str) -> str:
    """The link in the officer's email."""
    return f"{public_base_url.rstrip('/')}/tasks/{ticket}"


def assignee_for(step: Step, store: Store, id_izin: str, roster: Roster) -> Officer:
    """Who acts on a step: the Tim Teknis's ketua chosen at step 7, else the role's holder."""
    if step.actor == Role.TIM_TEKNIS:
        ketua = store.step_data(id_izin, 7).get("ketua")
        if ketua:
            return roster.by_nip(ketua)
    return roster.first(step.actor)


def send_back_note(store: Store, id_izin: str) -> dict[str, Any] | None:
    """The latest send-back (step 13 or 14 "no") newer than the Kasi's last report, if any."""
    report = store.step_data(id_izin, 12).get("pada", "")
    notes = [
        store.step_data(id_izin, n) | {"step": n}
        for n in (13, 14)
        if store.step_data(id_izin, n).get("decision") == sop.Decision.NO
    ]
    fresh = [n for n in notes if n.get("pada", "") > report]
    return max(fresh, key=lambda n: n["pada"]) if fresh else None


def issue_task(
    request: StepRequest,
    *,
    store: Store,
    mailer: Mailer,
    roster: Roster,
    public_base_url: str,
    now: datetime,
) -> str:
    """Open a ticket for the step, supersede the step's previous one, email the link.

    Returns the ticket's hash (never the ticket).
    """
    step = sop.step(request.step)
    application = store.application(request.id_izin)
    if application is None:
        raise ApplicationNotFound(request.id_izin)
    officer = assignee_for(step, store, request.id_izin, roster)
    ticket = secrets.token_urlsafe(32)
    digest = ticket_hash(ticket)
    store.put_ticket(
        digest,
        {
            "id_izin": request.id_izin,
            "step": step.number,
            "task_token": request.task_token,
            "assignee": officer.model_dump(mode="json"),
            "deadline": request.deadline.isoformat(),
            "reminders": request.reminders,
            "status": Status.OPEN,
            "wrong_nips": 0,
            "created_at": now.isoformat(),
        },
    )
    supersede_open_ticket(store, application, digest, now=now)
    store.update_application(
        request.id_izin,
        {
            "status": "PROSES",
            "current_step": step.number,
            "step_name": step.state_name,
            "holder": {"role": officer.role.value, "nama": officer.nama, "nip": officer.nip},
            "deadline": request.deadline.isoformat(),
            "open_ticket": digest,
            "updated_at": now.isoformat(),
        },
    )
    store.append_audit(
        request.id_izin,
        {
            "action": "task.issued",
            "step": step.number,
            "actor": "sistem",
            "assignee": officer.nama,
            "nip": officer.nip,
            "deadline": request.deadline.isoformat(),
            "reminders": request.reminders,
        },
        now=now,
    )
    mailer.send(
        task_email(
            step,
            application,
            officer,
            url=task_url(public_base_url, ticket),
            deadline=request.deadline,
            reminders=request.reminders,
            supervisor=_supervisor(officer, roster) if request.reminders else None,
            note=send_back_note(store, request.id_izin) if step.number == 12 else None,
        )
    )
    return digest


def supersede_open_ticket(
    store: Store, application: Mapping[str, Any], new_hash: str, *, now: datetime
) -> None:
    """The application's previous open ticket stops working: its link now answers 410."""
    previous = application.get("open_ticket")
    if not previous or previous == new_hash:
        return
    try:
        store.update_ticket(
            previous,
            {
                "status": Status.SUPERSEDED,
                "superseded_at": now.isoformat(),
                "superseded_by": new_hash,
            },
            expect={"status": Status.OPEN},
        )
    except ConditionFailed:
        return  # decided, expired or superseded already: nothing to stop


def _supervisor(officer: Officer, roster: Roster) -> Officer | None:
    role = SUPERVISOR.get(officer.role)
    holders = roster.holders(role) if role else ()
    return holders[0] if holders else None


def task_email(
    step: Step,
    application: Mapping[str, Any],
    officer: Officer,
    *,
    url: str,
    deadline: datetime,
    reminders: int,
    supervisor: Officer | None,
    note: Mapping[str, Any] | None,
) -> Email:
    """The email asking an officer to act (a reminder says so, and copies the supervisor)."""
    data = application["data"]
    prefix = f"PENGINGAT {reminders}: " if reminders else ""
    company = data["perusahaan"]["nama"]
    subject = f"{prefix}[Izin Perluasan] Langkah {step.code} {step.activity} - {company}"
    context = {
        "step": step,
        "data": data,
        "officer": officer,
        "url": url,
        "deadline": tanggal_waktu(deadline),
        "reminders": reminders,
        "supervisor": supervisor,
        "note": note,
        "role_title": ROLE_TITLES[officer.role],
    }
    return Email(
        to=(str(officer.email),),
        cc=(str(supervisor.email),) if supervisor else (),
        subject=subject,
        text=render("email/task.txt.j2", **context),
        html=render("email/task.html.j2", **context),
    )


# -- the page ----------------------------------------------------------------------------


@dataclass
class Page:
    """What the task page answers: an HTTP status and an HTML page."""

    status: int
    html: str


@dataclass
class Request:
    """An officer's HTTP request on a task link."""

    ticket: str
    form: Mapping[str, Sequence[str]] = field(default_factory=dict)
    source_ip: str = ""
    user_agent: str = ""


@dataclass
class TaskContext:
    """What the task page needs beside the request."""

    store: Store
    roster: Roster
    callbacks: Callbacks
    mailer: Mailer
    now: datetime
    documents: Callable[[str], list[dict[str, Any]]] = lambda _id: []


def show_task(request: Request, ctx: TaskContext) -> Page:
    """GET: the step's page; changes nothing."""
    ticket = ctx.store.ticket(ticket_hash(request.ticket))
    if ticket is None:
        return _not_found()
    if ticket["status"] != Status.OPEN:
        return _closed(ticket)
    return _form_page(200, ticket, ctx, values=None, errors={})


def decide_task(request: Request, ctx: TaskContext) -> Page:
    """POST: take the decision once, and hand it to the waiting state."""
    digest = ticket_hash(request.ticket)
    ticket = ctx.store.ticket(digest)
    if ticket is None:
        return _not_found()
    if ticket["status"] != Status.OPEN:
        return _closed(ticket)
    step = sop.step(int(ticket["step"]))
    application = ctx.store.application(ticket["id_izin"]) or {}
    nip = (request.form.get("nip") or [""])[-1].strip()
    if nip != ticket["assignee"]["nip"]:
        return _wrong_nip(digest, ticket, request, ctx)
    defaults = forms.defaults(step, application, ctx.roster, forms.today_in_wib(ctx.now))
    try:
        submission = forms.parse(step, request.form, defaults, ctx.roster)
    except forms.FormInvalid as invalid:
        return _form_page(422, ticket, ctx, values=invalid.values, errors=invalid.errors)
    officer = ticket["assignee"]
    try:
        ctx.store.update_ticket(
            digest,
            {
                "status": Status.DECIDED,
                "decided_at": ctx.now.isoformat(),
                "decided_by": officer["nama"],
                "decision": submission.decision.value,
            },
            expect={"status": Status.OPEN},
        )
    except ConditionFailed:
        return _closed(ctx.store.ticket(digest) or ticket)
    result = DecisionResult(
        step=step.number,
        decision=submission.decision,
        catatan=str(submission.values.get("catatan") or ""),
        kesimpulan=submission.values.get("kesimpulan"),
        oleh=officer["nama"],
        nip=officer["nip"],
        pada=ctx.now,
    )
    record = {**submission.values, **result.model_dump(mode="json")}
    ctx.store.save_step(ticket["id_izin"], step.number, record)
    try:
        ctx.callbacks.succeed(ticket["task_token"], result.model_dump(mode="json"))
    except TaskGone as gone:
        ctx.store.update_ticket(digest, {"status": Status.EXPIRED, "expired_reason": str(gone)})
        _audit(ctx, ticket, request, "task.too_late", {"decision": submission.decision.value})
        return _closed({**ticket, "status": Status.EXPIRED})
    except Exception:
        # Not decided after all: reopen the ticket so the officer can try again.
        ctx.store.update_ticket(digest, {"status": Status.OPEN}, expect={"status": Status.DECIDED})
        raise
    documents = {d["jenis"]: d.get("sha256") for d in ctx.documents(ticket["id_izin"])}
    _audit(
        ctx,
        ticket,
        request,
        "task.decided",
        {"decision": submission.decision.value, "data": submission.values, "documents": documents},
    )
    ctx.store.update_application(
        ticket["id_izin"],
        {
            "holder": {"role": "sistem", "nama": "Sistem", "nip": ""},
            "updated_at": ctx.now.isoformat(),
        },
        remove=("open_ticket",),
    )
    return Page(
        200,
        render(
            "pages/decided.html.j2",
            step=step,
            data=application.get("data", {}),
            decision=submission.decision.value,
            next_text=_next_text(step, submission),
            officer=officer,
        ),
    )


def _next_text(step: Step, submission: forms.Submission) -> str:
    if step.number == 8:
        return (
            "Dilanjutkan dengan pemeriksaan lapangan (langkah 10)."
            if submission.decision == sop.Decision.YES
            else "Dilanjutkan dengan pembuatan BAP (langkah 11)."
        )
    if step.number in (13, 14) and submission.decision == sop.Decision.NO:
        return "Berkas dikembalikan kepada Kasi (langkah 12) dengan catatan Anda."
    following = {13: 14, 14: 15}.get(step.number, step.number + 1)
    nxt = sop.step(following)
    return f"Dilanjutkan ke langkah {nxt.code}: {nxt.activity} ({ROLE_TITLES[nxt.actor]})."


def _wrong_nip(digest: str, ticket: Mapping[str, Any], request: Request, ctx: TaskContext) -> Page:
    updated = ctx.store.update_ticket(digest, {}, add={"wrong_nips": 1})
    _audit(ctx, ticket, request, "task.wrong_nip", {"count": updated["wrong_nips"]})
    if updated["wrong_nips"] >= MAX_WRONG_NIPS:
        try:
            ctx.store.update_ticket(
                digest,
                {"status": Status.LOCKED, "locked_at": ctx.now.isoformat()},
                expect={"status": Status.OPEN},
            )
        except ConditionFailed:
            pass
        else:
            _alert_lock(ticket, ctx)
        return Page(403, render("pages/closed.html.j2", ticket=ticket, status=Status.LOCKED))
    return _form_page(
        403,
        ticket,
        ctx,
        values=_kept(request.form),
        errors={"nip": "NIP tidak sesuai dengan petugas yang ditugaskan."},
    )


def _alert_lock(ticket: Mapping[str, Any], ctx: TaskContext) -> None:
    kasi = ctx.roster.first(Role.KASI)
    step = sop.step(int(ticket["step"]))
    context = {"ticket": ticket, "step": step, "kasi": kasi, "max": MAX_WRONG_NIPS}
    ctx.mailer.send(
        Email(
            to=(str(kasi.email),),
            subject=f"[Izin Perluasan] Tautan langkah {step.code} dikunci - {ticket['id_izin']}",
            text=render("email/locked.txt.j2", **context),
            html=render("email/locked.html.j2", **context),
        )
    )


def _kept(form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    return {k: (list(v) if k == "anggota" else (v[-1] if v else "")) for k, v in form.items()}


def _audit(
    ctx: TaskContext,
    ticket: Mapping[str, Any],
    request: Request,
    action: str,
    extra: Mapping[str, Any],
) -> None:
    assignee = ticket["assignee"]
    ctx.store.append_audit(
        ticket["id_izin"],
        {
            "action": action,
            "step": int(ticket["step"]),
            "actor": assignee["nama"],
            "role": assignee["role"],
            "nip": assignee["nip"],
            "ip": request.source_ip,
            "user_agent": request.user_agent[:300],
            **extra,
        },
        now=ctx.now,
    )


def _not_found() -> Page:
    return Page(404, render("pages/not_found.html.j2"))


def _closed(ticket: Mapping[str, Any]) -> Page:
    status = ticket["status"]
    code = {Status.DECIDED: 409, Status.LOCKED: 403}.get(status, 410)
    return Page(code, render("pages/closed.html.j2", ticket=ticket, status=status))


def _form_page(
    code: int,
    ticket: Mapping[str, Any],
    ctx: TaskContext,
    *,
    values: Mapping[str, Any] | None,
    errors: Mapping[str, str],
) -> Page:
    step = sop.step(int(ticket["step"]))
    application = ctx.store.application(ticket["id_izin"]) or {}
    defaults = forms.defaults(step, application, ctx.roster, forms.today_in_wib(ctx.now))
    shown = {**defaults, **(values or {})}
    history = [e for e in ctx.store.audit(ticket["id_izin"]) if e.get("action") in HISTORY_ACTIONS]
    return Page(
        code,
        render(
            "pages/task.html.j2",
            step=step,
            ticket=ticket,
            data=application.get("data", {}),
            application=application,
            values=shown,
            errors=errors,
            roster=ctx.roster,
            documents=ctx.documents(ticket["id_izin"]),
            history=history,
            note=send_back_note(ctx.store, ticket["id_izin"]) if step.number == 12 else None,
            deadline=tanggal_waktu(datetime.fromisoformat(ticket["deadline"])),
            role_titles=ROLE_TITLES,
            sop=sop,
        ),
    )


HISTORY_ACTIONS = frozenset(
    {"application.received", "task.decided", "event.applied", "step.recorded", "document.rendered"}
)
