"""Officers' tasks: the ticket behind each email link, the page it shows, the decision it takes.

The flow of a task (SOP steps 4–14, the manual fallbacks, a reassignment):
  issue_*      — a ticket whose random secret goes into the email link; the store keeps
                 its hash, with the waiting state's task token, the step and the assignee.
  show_task    — GET: the step's page. It changes nothing but the audit trail's record that
                 the page was seen (mail scanners open links).
  decide_task  — POST: the assignee's NIP, the form, then one conditional write takes the
                 ticket, and only then is the decision handed on, once.

The task token never leaves AWS: not in an email, a URL, a page or a log line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from izin import forms, sop
from izin.callbacks import Callbacks, TaskGone
from izin.event_types import EVENTS
from izin.events import InboundEvent
from izin.formats import tanggal_waktu
from izin.mail import Email, Mailer
from izin.models import DecisionResult, StepRequest
from izin.observability import logger
from izin.pages import history
from izin.roster import Officer, Roster
from izin.sop import ROLE_TITLES, SUPERVISOR, Role, Step
from izin.store import ConditionFailed, Store, ticket_hash_of
from izin.templating import render
from izin.tickets import Kind, Status, open_ticket, supersede, ticket_hash

MAX_WRONG_NIPS = 5

__all__ = ["Kind", "Status", "ticket_hash"]


class ApplicationNotFound(LookupError):
    """A task was asked for an application the table does not hold."""


class TicketNotOpen(LookupError):
    """A reassignment names a task that no longer waits."""


def task_url(public_base_url: str, ticket: str) -> str:
    """The link in the officer's email."""
    return f"{public_base_url.rstrip('/')}/tasks/{ticket}"


def assignee_for(step: Step, store: Store, id_izin: str, roster: Roster) -> Officer:
    """Who acts on a step: the Tim Teknis's ketua, once chosen, else the role's holder."""
    if step.actor == Role.TIM_TEKNIS:
        ketua = store.step_data(id_izin, sop.step_of_field("ketua").number).get("ketua")
        if ketua:
            return roster.by_nip(ketua)
    return roster.first(step.actor)


def reassigner_for(role: Role, roster: Roster) -> Officer:
    """Who may move a task of this role: its supervisor, else the Kepala Bidang."""
    return roster.first(SUPERVISOR.get(role) or Role.KEPALA_BIDANG)


def send_back_note(store: Store, step: Step, id_izin: str) -> dict[str, Any] | None:
    """The latest send-back to `step` (a "no" of a later check) newer than its last answer."""
    steps = store.steps(id_izin)  # one query for the step and its checks
    report = steps.get(step.number, {}).get("pada", "")
    notes = [
        data | {"step": check.number}
        for check in sop.sent_back_by(step.number)
        if (data := steps.get(check.number, {})).get("decision") == sop.Decision.NO
    ]
    fresh = [n for n in notes if n.get("pada", "") > report]
    return max(fresh, key=lambda n: n["pada"]) if fresh else None


def form_of(ticket: Mapping[str, Any]) -> Step:
    """The form a ticket's page shows."""
    kind = ticket.get("kind", Kind.STEP)
    if kind == Kind.STEP:
        return sop.step(int(ticket["step"]))
    if kind == Kind.UPLOAD:
        return sop.UPLOAD_BY_HAND
    if kind == Kind.RECORD:
        return EVENTS[ticket["event"]].record_task
    if kind == Kind.REASSIGN:
        return sop.reassign_form(_task_form(ticket["task_kind"], ticket))
    raise ValueError(f"unknown ticket kind {kind}")


def _task_form(kind: str, ticket: Mapping[str, Any]) -> Step:
    return form_of({**ticket, "kind": kind, "event": ticket.get("task_event", "")})


# -- issuing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issuer:
    """What issuing a task needs: the table, the mail, the roster, the link's base, the time."""

    store: Store
    mailer: Mailer
    roster: Roster
    public_base_url: str
    now: datetime


def issue_task(
    request: StepRequest,
    *,
    store: Store,
    mailer: Mailer,
    roster: Roster,
    public_base_url: str,
    now: datetime,
) -> str:
    """Ask the step's officer to act: a ticket, the previous one superseded, the email.

    Returns the ticket's hash (never the ticket).
    """
    issuer = Issuer(store, mailer, roster, public_base_url, now)
    step = sop.step(request.step)
    application = _application(store, request.id_izin)
    officer = assignee_for(step, store, request.id_izin, roster)
    ticket, digest = _issue(
        issuer,
        application,
        step,
        officer,
        {
            "kind": Kind.STEP,
            "step": step.number,
            "task_token": request.task_token,
            "deadline": request.deadline.isoformat(),
            "reminders": request.reminders,
        },
    )
    reassign_url = None
    if request.reminders:
        reassigner = reassigner_for(officer.role, roster)
        reassign_url = task_url(
            public_base_url, _issue_reassign(issuer, application, digest, reassigner)
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
            note=send_back_note(store, step, request.id_izin)
            if sop.sent_back_by(step.number)
            else None,
            reassign_url=reassign_url,
        )
    )
    return digest


def issue_manual_task(
    kind: str,
    id_izin: str,
    task_token: str | None,
    *,
    store: Store,
    mailer: Mailer,
    roster: Roster,
    public_base_url: str,
    now: datetime,
    event: str = "",
    reason: str = "",
) -> str:
    """Ask the Operator to do by hand what OSS or SIINAS could not (CONTRACT §2).

    kind "unggah_siinas": upload the signed BAP in SIINAS; the step-17 token completes.
    kind "catat": record the awaited `event` ("siinas:komitmen.terpenuhi", …) with evidence.
    Returns the ticket's hash.
    """
    issuer = Issuer(store, mailer, roster, public_base_url, now)
    application = _application(store, id_izin)
    form = sop.UPLOAD_BY_HAND if kind == Kind.UPLOAD else EVENTS[event].record_task
    officer = roster.first(Role.OPERATOR)
    fields: dict[str, Any] = {
        "kind": kind,
        "step": form.number,
        "task_token": task_token,
        "event": event,
        "reason": reason,
    }
    ticket, digest = _issue(issuer, application, form, officer, fields, current=kind == Kind.UPLOAD)
    context = {
        "form": form,
        "data": application["data"],
        "officer": officer,
        "url": task_url(public_base_url, ticket),
        "reason": reason,
        "kind": kind,
    }
    mailer.send(
        Email(
            to=(str(officer.email),),
            subject=(
                f"[Izin Perluasan] Tugas manual: {form.activity} - "
                f"{application['data']['perusahaan']['nama']}"
            ),
            text=render("email/manual.txt.j2", **context),
            html=render("email/manual.html.j2", **context),
        )
    )
    return digest


def reassign_task(
    task_hash: str,
    to_nip: str,
    *,
    store: Store,
    mailer: Mailer,
    roster: Roster,
    public_base_url: str,
    now: datetime,
    by: Mapping[str, Any],
    reason: str = "",
) -> str:
    """Move an open task to another officer of its role: new ticket, old one superseded."""
    issuer = Issuer(store, mailer, roster, public_base_url, now)
    task = store.ticket(task_hash)
    if task is None or task["status"] not in (Status.OPEN, Status.LOCKED):
        raise TicketNotOpen(task_hash)
    form = form_of(task)
    officer = roster.by_nip(to_nip)
    if officer.role != form.actor:
        raise ValueError(f"{officer.nama} does not hold the role {form.actor.value}")
    application = _application(store, task["id_izin"])
    carried = {
        k: task[k]
        for k in ("kind", "step", "task_token", "deadline", "reminders", "event", "reason")
        if k in task
    }
    ticket, digest = _issue(
        issuer,
        application,
        form,
        officer,
        carried,
        current=task.get("kind") != Kind.RECORD,
        replaces=task_hash,
    )
    store.append_audit(
        task["id_izin"],
        {
            "action": "task.reassigned",
            "step": form.number,
            "actor": by.get("nama", ""),
            "nip": by.get("nip", ""),
            "from": task["assignee"]["nama"],
            "to": officer.nama,
            "note": f"tugas langkah {form.code} dialihkan kepada {officer.nama}"
            + (f": {reason}" if reason else ""),
        },
        now=now,
    )
    deadline = datetime.fromisoformat(task["deadline"]) if task.get("deadline") else now
    mailer.send(
        task_email(
            form,
            application,
            officer,
            url=task_url(public_base_url, ticket),
            deadline=deadline,
            reminders=int(task.get("reminders", 0)),
            supervisor=None,
            note=None,
            reassign_url=None,
        )
    )
    return digest


def _application(store: Store, id_izin: str) -> dict[str, Any]:
    application = store.application(id_izin)
    if application is None:
        raise ApplicationNotFound(id_izin)
    return application


def _issue(
    issuer: Issuer,
    application: Mapping[str, Any],
    form: Step,
    officer: Officer,
    fields: dict[str, Any],
    *,
    current: bool = True,
    replaces: str | None = None,
) -> tuple[str, str]:
    """Open a ticket for an officer; as the application's current task, it supersedes the last."""
    id_izin = application["id_izin"]
    ticket, digest = open_ticket(
        issuer.store,
        {
            "id_izin": id_izin,
            "assignee": officer.model_dump(mode="json"),
            "created_at": issuer.now.isoformat(),
            **fields,
        },
    )
    if replaces:
        supersede(
            issuer.store,
            replaces,
            now=issuer.now,
            by=digest,
            from_status=(Status.OPEN, Status.LOCKED),
        )
    if current:
        supersede(issuer.store, application.get("open_ticket"), now=issuer.now, by=digest)
        issuer.store.update_application(
            id_izin,
            {
                "status": "PROSES",
                "current_step": form.number,
                "step_name": sop.step(form.number).state_name,
                "holder": {"role": officer.role.value, "nama": officer.nama, "nip": officer.nip},
                "open_ticket": digest,
                "updated_at": issuer.now.isoformat(),
                **({"deadline": fields["deadline"]} if fields.get("deadline") else {}),
            },
        )
    issuer.store.append_audit(
        id_izin,
        {
            "action": "task.issued",
            "kind": fields.get("kind", Kind.STEP),
            "step": form.number,
            "actor": "sistem",
            "assignee": officer.nama,
            "nip": officer.nip,
            "deadline": fields.get("deadline", ""),
            "reminders": fields.get("reminders", 0),
        },
        now=issuer.now,
    )
    return ticket, digest


def _issue_reassign(
    issuer: Issuer, application: Mapping[str, Any], task_hash: str, reassigner: Officer
) -> str:
    """A ticket for the supervisor to move the task `task_hash`; returns the ticket secret."""
    task = issuer.store.ticket(task_hash) or {}
    ticket, _ = open_ticket(
        issuer.store,
        {
            "kind": Kind.REASSIGN,
            "id_izin": application["id_izin"],
            "step": task.get("step"),
            "task": task_hash,
            "task_kind": task.get("kind", Kind.STEP),
            "task_event": task.get("event", ""),
            "assignee": reassigner.model_dump(mode="json"),
            "created_at": issuer.now.isoformat(),
            "deadline": task.get("deadline", ""),
            "reminders": task.get("reminders", 0),
        },
    )
    return ticket


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
    reassign_url: str | None,
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
        "reassign_url": reassign_url,
    }
    return Email(
        to=(str(officer.email),),
        cc=(str(supervisor.email),) if supervisor else (),
        subject=subject,
        text=render("email/task.txt.j2", **context),
        html=render("email/task.html.j2", **context),
    )


# -- the page ------------------------------------------------------------------------------


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
    origin: str = ""  # the Origin header a browser sends with a POST


@dataclass
class TaskContext:
    """What the task page needs beside the request."""

    store: Store
    roster: Roster
    callbacks: Callbacks
    mailer: Mailer
    now: datetime
    public_base_url: str = ""
    documents: Callable[[str], list[dict[str, Any]]] = lambda _id: []
    record_event: Callable[[InboundEvent], str] = lambda _event: "kept"


def show_task(request: Request, ctx: TaskContext) -> Page:
    """GET: the task's page; nothing changes but the trail's note that it was seen."""
    ticket = ctx.store.ticket(ticket_hash(request.ticket))
    if ticket is None:
        return _not_found()
    logger.set_correlation_id(ticket["id_izin"])
    if ticket["status"] != Status.OPEN:
        return _closed(ticket)
    _audit(ctx, ticket, request, "task.viewed", {})
    return _form_page(200, ticket, ctx, values=None, errors={})


def decide_task(request: Request, ctx: TaskContext) -> Page:
    """POST: take the decision once, and hand it on."""
    digest = ticket_hash(request.ticket)
    ticket = ctx.store.ticket(digest)
    if ticket is None:
        return _not_found()
    logger.set_correlation_id(ticket["id_izin"])
    if ticket["status"] != Status.OPEN:
        return _closed(ticket)
    if not _same_site(request, ctx) or not _csrf_ok(request, ticket):
        _audit(ctx, ticket, request, "task.refused", {"reason": "csrf"})
        return _form_page(
            403,
            ticket,
            ctx,
            values=_kept(request.form),
            errors={
                "form": "Formulir kedaluwarsa atau dikirim dari situs lain; "
                "muat ulang halaman lalu kirim lagi."
            },
        )
    form = form_of(ticket)
    application = ctx.store.application(ticket["id_izin"]) or {}
    nip = (request.form.get("nip") or [""])[-1].strip()
    if nip != ticket["assignee"]["nip"]:
        return _wrong_nip(digest, ticket, request, ctx)
    try:
        submission = forms.parse(
            form, request.form, _defaults(form, ticket, application, ctx), ctx.roster
        )
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
    try:
        next_text = COMPLETE[ticket.get("kind", Kind.STEP)](ticket, form, submission, ctx)
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
        {
            "kind": ticket.get("kind", Kind.STEP),
            "decision": submission.decision.value,
            "data": submission.values,
            "documents": documents,
        },
    )
    if ticket.get("kind", Kind.STEP) != Kind.REASSIGN and application.get("open_ticket") == digest:
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
            step=form,
            data=application.get("data", {}),
            decision=submission.decision.value,
            next_text=next_text,
            officer=officer,
        ),
    )


# What a decision does, by ticket kind; each returns the sentence "what happens next".


def _complete_step(
    ticket: Mapping[str, Any], step: Step, submission: forms.Submission, ctx: TaskContext
) -> str:
    officer = ticket["assignee"]
    result = DecisionResult(
        step=step.number,
        decision=submission.decision,
        catatan=str(submission.values.get("catatan") or ""),
        kesimpulan=submission.values.get("kesimpulan"),
        oleh=officer["nama"],
        nip=officer["nip"],
        pada=ctx.now,
    )
    ctx.store.save_step(
        ticket["id_izin"], step.number, {**submission.values, **result.model_dump(mode="json")}
    )
    ctx.callbacks.succeed(ticket["task_token"], result.model_dump(mode="json"))
    return _next_text(step, submission)


def _complete_upload(
    ticket: Mapping[str, Any], step: Step, submission: forms.Submission, ctx: TaskContext
) -> str:
    officer = ticket["assignee"]
    receipt = str(submission.values["nomor_tanda_terima"])
    ctx.store.save_step(
        ticket["id_izin"],
        step.number,
        {
            **submission.values,
            "oleh": officer["nama"],
            "nip": officer["nip"],
            "pada": ctx.now.isoformat(),
        },
    )
    ctx.callbacks.succeed(
        ticket["task_token"],
        {"unggah": "manual", "id_unggah": receipt, "oleh": officer["nama"], "nip": officer["nip"]},
    )
    ctx.store.append_audit(
        ticket["id_izin"],
        {
            "action": "bap.uploaded",
            "step": step.number,
            "actor": officer["nama"],
            "nip": officer["nip"],
            "note": f"BAP diunggah manual ke SIINAS (tanda terima {receipt})",
            "bukti": submission.values.get("bukti", ""),
        },
        now=ctx.now,
    )
    return (
        f"Langkah {step.number} selesai; permohonan menunggu Berita Acara Pemenuhan Komitmen "
        "dari SIINAS."
    )


def _complete_record(
    ticket: Mapping[str, Any], step: Step, submission: forms.Submission, ctx: TaskContext
) -> str:
    kind = EVENTS[str(ticket["event"])]
    assert kind.from_form is not None, f"{kind.key} is not recorded by hand"
    application = ctx.store.application(ticket["id_izin"]) or {}
    event = InboundEvent(
        source=kind.source,
        event_id="manual-" + ticket_hash_of(ticket)[:24],
        type=kind.type,
        occurred_at=ctx.now,
        data=kind.from_form(application, submission.values),
        recorded_by=ticket["assignee"]["nip"],
    )
    outcome = ctx.record_event(event)
    return (
        f"Peristiwa {kind.type} dari {kind.source.upper()} tercatat ({outcome}); "
        "langkah berikutnya berjalan."
    )


def _complete_reassign(
    ticket: Mapping[str, Any], step: Step, submission: forms.Submission, ctx: TaskContext
) -> str:
    try:
        reassign_task(
            ticket["task"],
            str(submission.values["petugas"]),
            store=ctx.store,
            mailer=ctx.mailer,
            roster=ctx.roster,
            public_base_url=ctx.public_base_url,
            now=ctx.now,
            by=ticket["assignee"],
            reason=str(submission.values.get("alasan") or ""),
        )
    except TicketNotOpen as gone:
        raise TaskGone("the task was decided or moved meanwhile") from gone
    officer = ctx.roster.by_nip(str(submission.values["petugas"]))
    return f"Tugas langkah {step.code} dialihkan kepada {officer.nama}; tautan baru telah dikirim."


COMPLETE: dict[str, Callable[[Mapping[str, Any], Step, forms.Submission, TaskContext], str]] = {
    Kind.STEP: _complete_step,
    Kind.UPLOAD: _complete_upload,
    Kind.RECORD: _complete_record,
    Kind.REASSIGN: _complete_reassign,
}


def _next_text(step: Step, submission: forms.Submission) -> str:
    """What happens after this answer, as the SOP table's decision says it."""
    branch = sop.branch_on(step.number)
    if branch is not None:
        told = branch.yes_text if submission.decision == sop.Decision.YES else branch.no_text
        if told:
            return told
    nxt = sop.step(step.number + 1)
    return f"Dilanjutkan ke langkah {nxt.code}: {nxt.activity} ({ROLE_TITLES[nxt.actor]})."


def _same_site(request: Request, ctx: TaskContext) -> bool:
    """A browser's POST from another site carries that site's Origin: refuse it."""
    if not request.origin or request.origin == "null" or not ctx.public_base_url:
        return True
    mine = urlsplit(ctx.public_base_url)
    theirs = urlsplit(request.origin)
    return (theirs.scheme, theirs.netloc) == (mine.scheme, mine.netloc)


def _csrf_ok(request: Request, ticket: Mapping[str, Any]) -> bool:
    """The page's token, when the form sends one, must be this ticket's."""
    sent = request.form.get("csrf")
    if sent is None:
        return True  # a client that does not send the page's token is judged by its Origin
    import hmac

    return hmac.compare_digest((sent or [""])[-1], str(ticket.get("csrf", "")))


def _defaults(
    form: Step, ticket: Mapping[str, Any], application: Mapping[str, Any], ctx: TaskContext
) -> dict[str, Any]:
    values = forms.defaults(form, application, ctx.roster, forms.today_in_wib(ctx.now))
    if ticket.get("kind") == Kind.REASSIGN:
        task = ctx.store.ticket(ticket["task"]) or {}
        current = (task.get("assignee") or {}).get("nip")
        others = [o.nip for o in ctx.roster.holders(form.actor) if o.nip != current]
        values["petugas"] = others[0] if others else current or ""
    return values


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
            _alert_lock(digest, ticket, ctx)
        return Page(403, render("pages/closed.html.j2", ticket=ticket, status=Status.LOCKED))
    return _form_page(
        403,
        ticket,
        ctx,
        values=_kept(request.form),
        errors={"nip": "NIP tidak sesuai dengan petugas yang ditugaskan."},
    )


def _alert_lock(digest: str, ticket: Mapping[str, Any], ctx: TaskContext) -> None:
    """Tell the Kasi (or the role's supervisor) and give them the link to reassign the task."""
    form = form_of(ticket)
    application = ctx.store.application(ticket["id_izin"]) or {}
    reassigner = reassigner_for(form.actor, ctx.roster)
    issuer = Issuer(ctx.store, ctx.mailer, ctx.roster, ctx.public_base_url, ctx.now)
    link = _issue_reassign(issuer, application, digest, reassigner)
    context = {
        "ticket": ticket,
        "step": form,
        "kasi": reassigner,
        "max": MAX_WRONG_NIPS,
        "reassign_url": task_url(ctx.public_base_url, link),
    }
    ctx.mailer.send(
        Email(
            to=(str(reassigner.email),),
            subject=f"[Izin Perluasan] Tautan langkah {form.code} dikunci - {ticket['id_izin']}",
            text=render("email/locked.txt.j2", **context),
            html=render("email/locked.html.j2", **context),
        )
    )
    _audit_system(
        ctx,
        ticket,
        "task.locked",
        f"tautan langkah {form.code} dikunci; {reassigner.nama} diberi tahu",
    )


def _kept(form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    hidden = {"nip", "csrf", "decision"}
    return {
        k: (list(v) if k == "anggota" else (v[-1] if v else ""))
        for k, v in form.items()
        if k not in hidden
    }


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


def _audit_system(ctx: TaskContext, ticket: Mapping[str, Any], action: str, note: str) -> None:
    ctx.store.append_audit(
        ticket["id_izin"],
        {"action": action, "step": int(ticket["step"]), "actor": "sistem", "note": note},
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
    form = form_of(ticket)
    application = ctx.store.application(ticket["id_izin"]) or {}
    shown = {**_defaults(form, ticket, application, ctx), **(values or {})}
    trail = history(ctx.store.audit(ticket["id_izin"]), HISTORY_ACTIONS)
    kind = ticket.get("kind", Kind.STEP)
    return Page(
        code,
        render(
            "pages/task.html.j2",
            step=form,
            kind=kind,
            ticket=ticket,
            data=application.get("data", {}),
            application=application,
            values=shown,
            errors=errors,
            roster=ctx.roster,
            documents=ctx.documents(ticket["id_izin"]),
            history=trail,
            note_hint=(
                f"Wajib diisi bila memilih \u201c{form.no_label}\u201d."
                if sop.Decision.NO in form.decisions and form.no_needs_note
                else ""
            ),
            max_wrong_nips=MAX_WRONG_NIPS,
            note=send_back_note(ctx.store, form, ticket["id_izin"])
            if kind == Kind.STEP and sop.sent_back_by(form.number)
            else None,
            deadline=tanggal_waktu(datetime.fromisoformat(ticket["deadline"]))
            if ticket.get("deadline")
            else "",
            role_titles=ROLE_TITLES,
            sop=sop,
            csrf=ticket.get("csrf", ""),
        ),
    )


HISTORY_ACTIONS = frozenset(
    {
        "application.received",
        "task.decided",
        "task.reassigned",
        "event.applied",
        "step.recorded",
        "document.rendered",
        "document.sealed",
        "bap.uploaded",
        "tembusan.sent",
        "sla.breached",
    }
)
