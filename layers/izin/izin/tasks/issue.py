"""Issuing an officer's task: the ticket behind the email link, who it is for, the email;
the manual fallbacks and the reassignment of a task."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, NotRequired, TypedDict, Unpack

from izin import delegation, sop
from izin.event_types import EVENTS
from izin.formats import tanggal, tanggal_waktu
from izin.mail import Email, Mailer
from izin.models import StepRequest
from izin.roster import Officer, Roster
from izin.sop import ROLE_TITLES, SUPERVISOR, Role, Step
from izin.store import Store
from izin.templating import render_email
from izin.tickets import Kind, Status, open_ticket, supersede

MAX_WRONG_NIPS = 5


class ApplicationNotFound(LookupError):
    """A task was asked for an application the table does not hold."""


class TicketNotOpen(LookupError):
    """A reassignment names a task that no longer waits."""


class NotRepairable(LookupError):
    """A repair was asked for an application that is not TERHENTI, or a step without a form."""


PARKED = "TERHENTI"
# The application's record keeps, by role, the NIP a reassignment moved the role's tasks to:
# later steps of that role go to them too (a Tim Teknis step: instead of the ketua).
ASSIGNMENTS = "petugas_dialihkan"


def task_url(public_base_url: str, ticket: str) -> str:
    """The link in the officer's email."""
    return f"{public_base_url.rstrip('/')}/tasks/{ticket}"


def held_by(role: Role, application: Mapping[str, Any], roster: Roster) -> Officer | None:
    """The officer a reassignment made this application's holder of `role`, while the roster
    still gives them that role."""
    return _holding(role, (application.get(ASSIGNMENTS) or {}).get(role.value), roster)


def _holding(role: Role, nip: str | None, roster: Roster) -> Officer | None:
    """The officer with this NIP if the roster in force gives them `role`, else None."""
    return next((o for o in roster.holders(role) if o.nip == nip), None) if nip else None


def holder_for(role: Role, application: Mapping[str, Any], roster: Roster) -> Officer:
    """Who holds a role for this application: the one it was reassigned to, else the roster's."""
    return held_by(role, application, roster) or roster.first(role)


def assignee_for(
    step: Step, store: Store, application: Mapping[str, Any], roster: Roster
) -> Officer:
    """Who acts on a step: whoever a reassignment gave the role to, else the Tim Teknis's
    ketua once chosen, else the role's holder. `application` is the record already read."""
    held = held_by(step.actor, application, roster)
    if held is not None:
        return held
    if step.actor == Role.TIM_TEKNIS:
        id_izin = application["id_izin"]
        ketua = store.step_data(id_izin, sop.step_of_field("ketua").number).get("ketua")
        # A ketua made inactive (or off the roster) is chosen for nothing: the role's holder.
        chosen = _holding(step.actor, ketua, roster)
        if chosen is not None:
            return chosen
    return roster.first(step.actor)


def reassigner_for(
    role: Role, roster: Roster, application: Mapping[str, Any] | None = None
) -> Officer:
    """Who may move a task of this role: its supervisor, else the Kepala Bidang."""
    return holder_for(SUPERVISOR.get(role) or Role.KEPALA_BIDANG, application or {}, roster)


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
    if kind == Kind.REPAIR:
        return repair_form(sop.step(int(ticket["step"])))
    raise ValueError(f"unknown ticket kind {kind}")


def repair_form(step: Step) -> Step:
    """The form that corrects a parked application's stored data of `step`: its own fields."""
    return replace(
        step,
        activity=f"Perbaiki Data: {step.activity}",
        meaning=(
            f"Permohonan TERHENTI karena data langkah {step.code} tidak dapat diproses. "
            "Perbaiki isian di bawah lalu simpan; keputusan langkah itu tidak berubah. "
            "Sesudahnya administrator melanjutkan permohonan (izin resume)."
        ),
        decisions=(sop.Decision.DONE,),
        done_label="Simpan perbaikan",
        question="",
        no_needs_note=False,
    )


def issue_repair(
    id_izin: str,
    step_number: int,
    *,
    store: Store,
    roster: Roster,
    public_base_url: str,
    now: datetime,
) -> str:
    """The link on which the Operator corrects a TERHENTI application's data of one step."""
    application = _application(store, id_izin)
    if application.get("status") != PARKED:
        raise NotRepairable(f"{id_izin} is not {PARKED}")
    step = sop.step(step_number)
    if not step.fields or not store.step_data(id_izin, step_number):
        raise NotRepairable(f"{id_izin} keeps no form data of step {step.code}")
    operator = holder_for(Role.OPERATOR, application, roster)
    fields = {"kind": Kind.REPAIR, "step": step_number, "task_token": None}
    ticket, _ = open_ticket(
        store,
        {
            "id_izin": id_izin,
            "assignee": operator.model_dump(mode="json"),
            "created_at": now.isoformat(),
            **fields,
        },
    )
    _audit_issued(store, now, id_izin, repair_form(step), operator, fields)
    return task_url(public_base_url, ticket)


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
    # While the assignee is away, their Plh/Plt acts on the task, on their behalf.
    officer, behalf = delegation.acting_for(
        assignee_for(step, store, application, roster), store, roster, now
    )
    ticket, digest = _issue(
        issuer,
        application,
        step,
        officer,
        {
            "kind": Kind.STEP,
            "step": step.number,
            "task_token": request.task_token,
            "execution": request.execution,
            "deadline": request.deadline.isoformat(),
            "reminders": request.reminders,
            **({"atas_nama": behalf} if behalf else {}),
        },
    )
    # The step's role decides who is told of a late task, whoever acts on it (a Plh too).
    supervisor = _supervisor(step.actor, roster, application) if request.reminders else None
    mailer.send(
        task_email(
            step,
            application,
            officer,
            url=task_url(public_base_url, ticket),
            deadline=request.deadline,
            reminders=request.reminders,
            supervisor=supervisor,
            note=send_back_note(store, step, request.id_izin)
            if sop.sent_back_by(step.number)
            else None,
            behalf=behalf,
        )
    )
    if supervisor is not None:
        # The officer's link is personal: the supervisor gets a link of their own, to move
        # the task, in an email of their own.
        link = _issue_reassign(issuer, application, digest, supervisor)
        mailer.send(
            overdue_email(
                step,
                application,
                officer,
                supervisor,
                reassign_url=task_url(public_base_url, link),
                deadline=request.deadline,
                reminders=request.reminders,
            )
        )
    if step.number == SURAT_TUGAS_READ_AT and not request.reminders:
        s7 = store.step_data(request.id_izin, sop.step_of_field("ketua").number)
        team = tim_teknis(s7, roster)
        others = [member for _, member in team if member.nip != officer.nip]
        versions = store.document_versions(request.id_izin, "surat_tugas") if others else []
        latest = max(versions, key=lambda v: int(v["versi"])) if versions else {}
        for member in others:
            mailer.send(surat_tugas_email(step, application, member, officer, team, s7, latest))
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
    execution: str = "",
) -> str:
    """Ask the Operator to do by hand what OSS or SIINAS could not (CONTRACT §2).

    kind "unggah_siinas": upload the signed BAP in SIINAS; the step-17 token completes.
    kind "catat": record the awaited `event` ("siinas:komitmen.terpenuhi", …) with evidence.
    Returns the ticket's hash.
    """
    issuer = Issuer(store, mailer, roster, public_base_url, now)
    application = _application(store, id_izin)
    form = sop.UPLOAD_BY_HAND if kind == Kind.UPLOAD else EVENTS[event].record_task
    officer, behalf = delegation.acting_for(
        holder_for(Role.OPERATOR, application, roster), store, roster, now
    )
    fields: dict[str, Any] = {
        "kind": kind,
        "step": form.number,
        "task_token": task_token,
        "event": event,
        "reason": reason,
        **({"execution": execution} if execution else {}),
        **({"atas_nama": behalf} if behalf else {}),
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
        render_email(
            "manual",
            context,
            to=(str(officer.email),),
            subject=(
                f"[Izin Perluasan] Tugas manual: {form.activity} - "
                f"{application['data']['perusahaan']['nama']}"
            ),
            id_izin=id_izin,
        )
    )
    return digest


class Handover(TypedDict):
    """What moving an open task takes, one task (`reassign_task`) or many
    (`move_open_tasks`): an Issuer's parts, who moves it (`by`: nama, nip), why, for whom
    (`behalf`: the officer a Plh/Plt acts for) and the audit action it is recorded as."""

    store: Store
    mailer: Mailer
    roster: Roster
    public_base_url: str
    now: datetime
    by: Mapping[str, Any]
    reason: NotRequired[str]
    behalf: NotRequired[Mapping[str, Any] | None]
    action: NotRequired[str]


def reassign_task(
    task_hash: str, to_nip: str, *, keeps_role: bool = True, **handover: Unpack[Handover]
) -> str:
    """Move an open task to another officer of its role: new ticket, old one superseded;
    with `keeps_role`, the role stays with them for the application's later steps.

    With `behalf`, the task goes to a Plh/Plt for the officer it names (whose delegation
    allowed their role).
    """
    store, mailer, roster = handover["store"], handover["mailer"], handover["roster"]
    public_base_url, now, by = handover["public_base_url"], handover["now"], handover["by"]
    reason, behalf = handover.get("reason", ""), handover.get("behalf")
    issuer = Issuer(store, mailer, roster, public_base_url, now)
    task = store.ticket(task_hash)
    if task is None or task["status"] not in (Status.OPEN, Status.LOCKED):
        raise TicketNotOpen(task_hash)
    form = form_of(task)
    officer = roster.by_nip(to_nip)
    if officer.role != form.actor and behalf is None:
        raise ValueError(f"{officer.nama} does not hold the role {form.actor.value}")
    application = _application(store, task["id_izin"])
    carried = {
        k: task[k]
        for k in (
            "kind",
            "step",
            "task_token",
            "execution",
            "deadline",
            "reminders",
            "event",
            "reason",
        )
        if k in task
    }
    if behalf:
        carried["atas_nama"] = dict(behalf)
    ticket, digest = _issue(
        issuer,
        application,
        form,
        officer,
        carried,
        current=task.get("kind") != Kind.RECORD,
        replaces=task_hash,
    )
    if keeps_role:
        store.update_application(
            task["id_izin"],
            {
                ASSIGNMENTS: {
                    **(application.get(ASSIGNMENTS) or {}),
                    form.actor.value: officer.nip,
                },
                "updated_at": now.isoformat(),
            },
        )
    removed = task["assignee"]
    store.append_audit(
        task["id_izin"],
        {
            "action": handover.get("action", "task.reassigned"),
            "step": form.number,
            "actor": by.get("nama", ""),
            "nip": by.get("nip", ""),
            "from": removed["nama"],
            "from_nip": removed["nip"],
            "to": officer.nama,
            "to_nip": officer.nip,
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
            behalf=behalf,
        )
    )
    if removed["nip"] != officer.nip and removed.get("email"):
        mailer.send(reassigned_email(form, application, removed, officer, by=by, reason=reason))
    return digest


def move_open_tasks(
    holds: Callable[[Mapping[str, Any]], bool], to_nip: str, **handover: Unpack[Handover]
) -> list[str]:
    """Move each application's open task whose holder `holds` says so to `to_nip` (a Plh/Plt
    named, or the officer back from leave); the role stays where the roster puts it.
    Returns the applications moved."""
    moved = []
    # Every open one (the open applications' index): an open task on an old, stalled
    # application must move too.
    for application in handover["store"].open_applications():
        holder = application.get("holder") or {}
        digest = application.get("open_ticket")
        if application.get("status") != "PROSES" or not digest or not holds(holder):
            continue
        try:
            reassign_task(str(digest), to_nip, keeps_role=False, **handover)
        except TicketNotOpen:
            continue  # decided meanwhile: nothing to move
        moved.append(str(application["id_izin"]))
    return moved


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
    """Open a ticket for an officer; as the application's current task, it supersedes the last.

    The new ticket, the application's new holder and the trail's entry are written as one,
    after the last ticket is superseded; a ticket that replaces another is written first,
    so that the task always has a working link (the old one until it is superseded)."""
    id_izin = application["id_izin"]
    with issuer.store.together() as batch:
        ticket, digest = open_ticket(
            issuer.store if replaces else batch,
            {
                "id_izin": id_izin,
                "assignee": officer.model_dump(mode="json"),
                "created_at": issuer.now.isoformat(),
                **fields,
            },
        )
        if replaces and not supersede(
            issuer.store,
            replaces,
            now=issuer.now,
            by=digest,
            from_status=(Status.OPEN, Status.LOCKED),
        ):
            # Decided, or moved by someone else (two claims from the pool), since it was
            # read: the new ticket never counts.
            supersede(issuer.store, digest, now=issuer.now, by=replaces)
            raise TicketNotOpen(replaces)
        if current:
            supersede(issuer.store, application.get("open_ticket"), now=issuer.now, by=digest)
            batch.update_application(
                id_izin,
                {
                    "status": "PROSES",
                    "current_step": form.number,
                    "step_name": sop.step(form.number).state_name,
                    "holder": {
                        "role": officer.role.value,
                        "nama": officer.nama,
                        "nip": officer.nip,
                        **_on_behalf_of(fields),
                    },
                    "open_ticket": digest,
                    "updated_at": issuer.now.isoformat(),
                    **({"deadline": fields["deadline"]} if fields.get("deadline") else {}),
                },
            )
        _audit_issued(batch, issuer.now, id_izin, form, officer, fields)
    return ticket, digest


def _audit_issued(
    store: Store,
    now: datetime,
    id_izin: str,
    form: Step,
    officer: Officer,
    fields: Mapping[str, Any],
) -> None:
    store.append_audit(
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
            **_on_behalf_of(fields),
        },
        now=now,
    )


def _on_behalf_of(fields: Mapping[str, Any]) -> dict[str, str]:
    """Whom a Plh/Plt's task is for, as the holder and the trail name them."""
    behalf = fields.get("atas_nama")
    if not behalf:
        return {}
    return {"atas_nama": str(behalf["nama"]), "atas_nama_nip": str(behalf["nip"])}


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


def _supervisor(actor: Role, roster: Roster, application: Mapping[str, Any]) -> Officer | None:
    role = SUPERVISOR.get(actor)
    if role is None or not roster.holders(role):
        return None
    return holder_for(role, application, roster)


# The first step of the Tim Teknis after the Surat Tugas: its email goes to the ketua (or
# whoever holds the task), and each other member of the team is sent the Surat Tugas.
SURAT_TUGAS_READ_AT = 8


def tim_teknis(s7: Mapping[str, Any], roster: Roster) -> list[tuple[str, Officer]]:
    """The Tim Teknis chosen at step 7 (its form data `s7`) as (kedudukan, officer), the
    ketua first."""
    ketua = str(s7.get("ketua") or "")
    return [
        ("Ketua" if nip == ketua else "Anggota", roster.by_nip(nip))
        for nip in dict.fromkeys([ketua, *(s7.get("anggota") or [])])
        if nip
    ]


def surat_tugas_email(
    step: Step,
    application: Mapping[str, Any],
    member: Officer,
    holder: Officer,
    team: list[tuple[str, Officer]],
    s7: Mapping[str, Any],
    latest: Mapping[str, Any],
) -> Email:
    """A team member's copy of the Surat Tugas (`latest`, its newest version): who is on
    the team (step 7's data `s7`), for what, until when."""
    return _email(
        str(member.email),
        "[Izin Perluasan] Surat Tugas Tim Teknis",
        "surat_tugas",
        application,
        step=step,
        officer=member,
        holder=holder,
        team=team,
        nomor=str(latest.get("nomor") or ""),
        mulai=_tanggal(s7.get("tanggal_mulai")),
        selesai=_tanggal(s7.get("tanggal_selesai")),
    )


def _tanggal(value: Any) -> str:
    """A stored YYYY-MM-DD as a letter writes it ("2 Desember 2026")."""
    return tanggal(date.fromisoformat(str(value))) if value else "-"


def overdue_email(
    step: Step,
    application: Mapping[str, Any],
    officer: Officer,
    supervisor: Officer,
    *,
    reassign_url: str,
    deadline: datetime,
    reminders: int,
) -> Email:
    """To the supervisor: a step is late with this officer; their own link to move it."""
    return _email(
        str(supervisor.email),
        f"[Izin Perluasan] Terlambat: langkah {step.code} {step.activity}",
        "reassign",
        application,
        step=step,
        officer=officer,
        supervisor=supervisor,
        reminders=reminders,
        deadline=tanggal_waktu(deadline),
        reassign_url=reassign_url,
        role_title=ROLE_TITLES[officer.role],
    )


def reassigned_email(
    step: Step,
    application: Mapping[str, Any],
    removed: Mapping[str, Any],
    officer: Officer,
    *,
    by: Mapping[str, Any],
    reason: str,
) -> Email:
    """To the officer a task was taken from: who has it now, and that their link is void."""
    return _email(
        str(removed["email"]),
        f"[Izin Perluasan] Tugas langkah {step.code} dialihkan",
        "reassigned",
        application,
        step=step,
        removed=removed,
        officer=officer,
        by=by,
        reason=reason,
    )


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
    behalf: Mapping[str, Any] | None = None,
) -> Email:
    """The email asking an officer to act (a reminder says so, and that the supervisor was
    told); to the officer alone, since its link is theirs."""
    prefix = f"PENGINGAT {reminders}: " if reminders else ""
    return _email(
        str(officer.email),
        f"{prefix}[Izin Perluasan] Langkah {step.code} {step.activity}",
        "task",
        application,
        step=step,
        officer=officer,
        url=url,
        deadline=tanggal_waktu(deadline),
        reminders=reminders,
        supervisor=supervisor,
        note=note,
        role_title=ROLE_TITLES[officer.role],
        behalf=behalf,
    )


def _email(
    to: str, subject: str, template: str, application: Mapping[str, Any], **context: Any
) -> Email:
    """One email to one address: the subject ends with the company; email/{template}.*.j2."""
    data = application["data"]
    return render_email(
        template,
        {"data": data, **context},
        to=(to,),
        subject=f"{subject} - {data['perusahaan']['nama']}",
        id_izin=str(application["id_izin"]),
    )
