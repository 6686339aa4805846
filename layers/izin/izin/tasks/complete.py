"""What a decision does once taken, by ticket kind: hand it to the waiting state, record an
event by hand, move a task, correct a parked step's data; and the sentence that says what
happens next. Each first claims its ticket (`Claim`): only one submission decides."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from izin import evidence, forms, sop
from izin.callbacks import TaskGone
from izin.delegation import acted_for
from izin.event_types import EVENTS
from izin.events import InboundEvent
from izin.models import DecisionResult
from izin.sop import ROLE_TITLES, Step
from izin.store import ConditionFailed, Store, ticket_hash_of
from izin.tasks.context import TaskContext
from izin.tasks.issue import (
    PARKED,
    TicketNotOpen,
    reassign_task,
)
from izin.tickets import Kind


class TicketTaken(Exception):
    """Another submission decided the ticket first, or it was locked meanwhile."""


class HolderMoved(Exception):
    """The claim was refused with the application's holder in it: the ticket may have been
    taken, or the application held otherwise meanwhile; the claim is made again without."""


@dataclass
class Claim:
    """The ticket marked decided, if it is still open (and under its wrong-NIP limit), with
    the decision's `task.decided` entry (`decided`) and the entries it adds beside it
    (`trail`), and, when `frees`, the application's holder made the system's until the next
    task: made alone, or with the decision's first writes as one (`with_writes`).

    Written before Step Functions is told, so a decision it took is never without its
    entry, even when the function dies right after; one it refuses is retracted: a later
    entry names its `decision_id` in `retracts` (`Store.audit` leaves out what it retracts).
    """

    ticket_hash: str
    fields: dict[str, Any]
    terms: dict[str, Any]
    id_izin: str = ""
    decided: dict[str, Any] = field(default_factory=dict)
    frees: bool = False
    made: bool = field(default=False, init=False)
    trail: list[dict[str, Any]] = field(default_factory=list, init=False)

    def alone(self, store: Store, *, now: datetime) -> None:
        with self.with_writes(store, now=now):
            pass

    @contextmanager
    def with_writes(self, store: Store, *, now: datetime) -> Iterator[Store]:
        """The claim and the writes made through the store it gives, written as one: a step's
        data is never saved by a submission that lost the ticket."""
        try:
            with store.together() as batch:
                batch.update_ticket(self.ticket_hash, self.fields, **self.terms)
                for entry in self.entries():
                    batch.append_audit(self.id_izin, entry, now=now)
                if self.frees:
                    batch.update_application(
                        self.id_izin,
                        {"holder": SYSTEM_HOLDER, "updated_at": now.isoformat()},
                        expect={"open_ticket": self.ticket_hash},
                        remove=("open_ticket",),
                    )
                yield batch
        except ConditionFailed as taken:
            if self.frees:
                raise HolderMoved(self.ticket_hash) from taken
            raise TicketTaken(self.ticket_hash) from taken
        self.made = True

    def entries(self) -> list[dict[str, Any]]:
        """The trail's entries of the decision, each naming it (`decision_id`)."""
        if not self.decided:
            return list(self.trail)
        named = {"decision_id": self.decided["decision_id"]}
        return [self.decided, *({**entry, **named} for entry in self.trail)]


# The application's holder between a decision and the next task.
SYSTEM_HOLDER = {"role": "sistem", "nama": "Sistem", "nip": ""}


# What a decision does, by ticket kind; each returns the sentence "what happens next".


def _complete_step(
    ticket: Mapping[str, Any],
    step: Step,
    submission: forms.Submission,
    ctx: TaskContext,
    claim: Claim,
) -> str:
    officer = ticket["assignee"]
    values = dict(submission.values)
    if submission.decision != sop.Decision.NO:
        values.pop(sop.KEMBALIKAN_KE, None)  # where a "no" would have gone: no answer of a yes
    result = DecisionResult(
        step=step.number,
        decision=submission.decision,
        catatan=str(submission.values.get("catatan") or ""),
        kesimpulan=submission.values.get("kesimpulan"),
        kelengkapan=submission.values.get("kelengkapan"),
        kembalikan_ke=values.get(sop.KEMBALIKAN_KE),
        oleh=officer["nama"],
        nip=officer["nip"],
        pada=ctx.now,
    )
    attached = _attached(ticket, ctx)
    with claim.with_writes(ctx.store, now=ctx.now) as batch:
        batch.save_step(
            ticket["id_izin"],
            step.number,
            {**values, **result.model_dump(mode="json"), **attached, **acted_for(ticket)},
        )
    ctx.callbacks.succeed(ticket["task_token"], result.model_dump(mode="json"))
    return _next_text(step, submission)


def _attached(ticket: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """The files uploaded on the step's page, kept with its data (the BAP's lampiran)."""
    files = evidence.uploads(ctx.store, ticket["id_izin"], int(ticket["step"]))
    return {"lampiran": [evidence.frozen(u) for u in files]} if files else {}


def _complete_upload(
    ticket: Mapping[str, Any],
    step: Step,
    submission: forms.Submission,
    ctx: TaskContext,
    claim: Claim,
) -> str:
    officer = ticket["assignee"]
    receipt = str(submission.values["nomor_tanda_terima"])
    claim.trail.append(
        {
            "action": "bap.uploaded",
            "step": step.number,
            "actor": officer["nama"],
            "nip": officer["nip"],
            "note": f"BAP diunggah manual ke SIINAS (tanda terima {receipt})",
            "bukti": submission.values.get("bukti", ""),
        }
    )
    attached = _attached(ticket, ctx)
    with claim.with_writes(ctx.store, now=ctx.now) as batch:
        batch.save_step(
            ticket["id_izin"],
            step.number,
            {
                **submission.values,
                "oleh": officer["nama"],
                "nip": officer["nip"],
                "pada": ctx.now.isoformat(),
                **attached,
            },
        )
    ctx.callbacks.succeed(
        ticket["task_token"],
        {"unggah": "manual", "id_unggah": receipt, "oleh": officer["nama"], "nip": officer["nip"]},
    )
    return (
        f"Langkah {step.number} selesai; permohonan menunggu Berita Acara Pemenuhan Komitmen "
        "dari SIINAS."
    )


def _complete_record(
    ticket: Mapping[str, Any],
    step: Step,
    submission: forms.Submission,
    ctx: TaskContext,
    claim: Claim,
) -> str:
    claim.alone(ctx.store, now=ctx.now)
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
    ticket: Mapping[str, Any],
    step: Step,
    submission: forms.Submission,
    ctx: TaskContext,
    claim: Claim,
) -> str:
    claim.alone(ctx.store, now=ctx.now)
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


def _complete_repair(
    ticket: Mapping[str, Any],
    step: Step,
    submission: forms.Submission,
    ctx: TaskContext,
    claim: Claim,
) -> str:
    claim.alone(ctx.store, now=ctx.now)
    id_izin = ticket["id_izin"]
    application = ctx.store.application(id_izin) or {}
    if application.get("status") != PARKED:
        raise TaskGone(f"{id_izin} is no longer {PARKED}")
    stored = ctx.store.step_data(id_izin, step.number)
    changed = {
        name: {"sebelum": stored.get(name), "sesudah": value}
        for name, value in submission.values.items()
        if stored.get(name) != value
    }
    officer = ticket["assignee"]
    # The step's decision and who took it stay; only the fields' values are corrected.
    ctx.store.save_step(id_izin, step.number, {**stored, **submission.values})
    ctx.store.append_audit(
        id_izin,
        {
            "action": "application.repaired",
            "step": step.number,
            "actor": officer["nama"],
            "nip": officer["nip"],
            "changed": changed,
            "note": f"data langkah {step.code} diperbaiki ({', '.join(changed) or 'sama'})",
        },
        now=ctx.now,
    )
    return (
        f"Data langkah {step.code} tersimpan. Permohonan tetap TERHENTI sampai administrator "
        f"melanjutkannya (izin resume {id_izin})."
    )


COMPLETE: dict[
    str, Callable[[Mapping[str, Any], Step, forms.Submission, TaskContext, Claim], str]
] = {
    Kind.STEP: _complete_step,
    Kind.UPLOAD: _complete_upload,
    Kind.RECORD: _complete_record,
    Kind.REASSIGN: _complete_reassign,
    Kind.REPAIR: _complete_repair,
}


def _next_text(step: Step, submission: forms.Submission) -> str:
    """What happens after this answer, as the SOP table's decision says it."""
    branch = sop.branch_on(step.number)
    if branch is not None:
        answered = branch.variable.rsplit(".", 1)[-1]
        value = submission.decision if answered == "decision" else submission.values.get(answered)
        told = branch.yes_text if value == branch.value else branch.no_text
        sent_to = branch.sent_to(submission.values.get(sop.KEMBALIKAN_KE))
        if value != branch.value and sent_to is not None:
            told = sent_to.text
        if told:
            return told
    nxt = sop.step(step.number + 1)
    return f"Dilanjutkan ke langkah {nxt.code}: {nxt.activity} ({ROLE_TITLES[nxt.actor]})."
