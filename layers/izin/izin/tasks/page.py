"""The task page: GET shows it (changing nothing but the trail), POST decides once, after
the CSRF check, the second factor (a session of the assignee, or their NIP and current
code: CONTRACT §3) and the form; five wrong NIPs or codes lock the task (the fifth count
and the lock are one conditional write, and taking the ticket checks the lock in its own)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import izin.tasks.tte_manual as tte_manual
from izin import evidence, forms, sessions, sop
from izin.auth import officer_by_nip
from izin.bsre import BsreUnavailable, WrongPassphrase
from izin.callbacks import TaskGone
from izin.documents import DocumentDataMissing, DocumentSealed, SignatureMissing
from izin.formats import tanggal_waktu
from izin.observability import logger
from izin.pages import document_hashes, history, returned_to, same_site, summary
from izin.sop import ROLE_TITLES, Step
from izin.store import ConditionFailed, ticket_hash_of
from izin.tasks.complete import COMPLETE, Claim, HolderMoved, TicketTaken
from izin.tasks.context import (
    Page,
    Request,
    TaskContext,
)
from izin.tasks.evidence import evidence_section, upload_headers
from izin.tasks.issue import (
    MAX_WRONG_NIPS,
    Issuer,
    _issue_reassign,
    form_of,
    reassigner_for,
    send_back_note,
    task_url,
)
from izin.tasks.signatures import check_signatures, signature_errors
from izin.tasks.tte import (
    BOTH_KEYS_TEXT,
    BSRE_TOTP,
    BY_HAND_TEXT,
    KEY_NEEDED_TEXT,
    PASSPHRASE,
    TTE,
    UNAVAILABLE_TEXT,
    WRONG_KEY_TEXT,
    TteRefused,
    sign_approval,
    signs_here,
)
from izin.templating import render, render_email
from izin.tickets import Kind, Status, count_wrong_answer, link_ticket_hash, ticket_hash

_UNREADABLE = (
    "Isian formulir tidak dapat dibaca (terlalu besar, terlalu banyak isian, atau bukan "
    "UTF-8). Muat ulang halaman lalu kirim lagi."
)


def show_task(request: Request, ctx: TaskContext) -> Page:
    """GET: the task's page; nothing changes but the trail's note that it was seen."""
    ticket = _ticket(request, ctx)
    if ticket is None:
        return _not_found()
    return _show(ticket, request, ctx, secret=request.ticket)


def show_own_task(request: Request, ctx: TaskContext, id_izin: str) -> Page:
    """GET /meja/tugas/{id_izin}: the application's open task, for its assignee signed in.

    The way in from the workspace when the email is lost: the ticket is found by the hash the
    application keeps (`open_ticket`), never by its secret, so the page carries no secret
    (and takes no evidence uploads: those ride on the link). Its form posts back here, and
    `decide_own_task` decides through the same path as the link, the session being the
    second factor and the ticket's CSRF token the form's."""
    found = _own_ticket(request, ctx, id_izin, post=False)
    if isinstance(found, Page):
        return found
    return _show(found, request, ctx, secret="")


def decide_own_task(request: Request, ctx: TaskContext, id_izin: str) -> Page:
    """POST /meja/tugas/{id_izin}: the decision, once, as `decide_task` takes it."""
    found = _own_ticket(request, ctx, id_izin, post=True)
    if isinstance(found, Page):
        return found
    return _decide(found, ticket_hash_of(found), request, ctx, secret="")


def _own_ticket(
    request: Request, ctx: TaskContext, id_izin: str, *, post: bool
) -> dict[str, Any] | Page:
    """The open ticket of the application, when the session's officer is its assignee."""
    signed = sessions.signed_in(request.cookies, ctx.auth)
    if signed is None:
        away = render("pages/redirect.html.j2", location="/masuk")
        return Page(401, away) if post else Page(303, away, {"location": "/masuk"})
    application = ctx.store.application(id_izin) or {}
    digest = application.get("open_ticket")
    ticket = ctx.store.ticket(str(digest)) if digest else None
    if ticket is None or ticket.get("kind") == Kind.ENROLL:
        return _not_found()
    if not _is_assignee(signed, ticket):
        logger.set_correlation_id(id_izin)
        _audit(ctx, ticket, request, "task.refused", {"reason": "bukan_penerima_tugas"})
        return Page(403, render("pages/not_yours.html.j2", ticket=ticket, signed=signed))
    return ticket


def _show(ticket: dict[str, Any], request: Request, ctx: TaskContext, *, secret: str) -> Page:
    logger.set_correlation_id(ticket["id_izin"])
    if ticket["status"] != Status.OPEN:
        return _closed(ticket)
    # Asked first: a session presumed unread (izin.sessions) is checked by the view's entry.
    signed = sessions.signed_in(request.cookies, ctx.auth)
    _audit(ctx, ticket, request, "task.viewed", {})
    return _form_page(
        200,
        ticket,
        ctx,
        values=None,
        errors={},
        secret=secret,
        signed=_is_assignee(signed, ticket),
    )


def decide_task(request: Request, ctx: TaskContext) -> Page:
    """POST: take the decision once, and hand it on."""
    ticket = _ticket(request, ctx)
    if ticket is None:
        return _not_found()
    return _decide(ticket, ticket_hash(request.ticket), request, ctx, secret=request.ticket)


def _decide(
    ticket: dict[str, Any], digest: str, request: Request, ctx: TaskContext, *, secret: str
) -> Page:
    logger.set_correlation_id(ticket["id_izin"])
    if ticket["status"] != Status.OPEN:
        return _closed(ticket)
    if request.unreadable:
        return _form_page(
            request.unreadable, ticket, ctx, values=None, errors={"form": _UNREADABLE}
        )
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
    allowed = _second_factor(digest, ticket, request, ctx)
    if isinstance(allowed, Page):
        return allowed
    via, cookies = allowed
    try:
        submission = forms.parse(
            form, request.form, _defaults(form, ticket, application, ctx), ctx.roster
        )
        check_signatures(form, submission, ticket, ctx)
    except forms.FormInvalid as invalid:
        errors = {**signature_errors(form, invalid.values, ticket, ctx), **invalid.errors}
        page = _form_page(
            422,
            ticket,
            ctx,
            values=invalid.values,
            errors=errors,
            secret=secret,
            signed=True,
        )
        page.cookies += cookies
        return page
    if ctx.tte is not None and signs_here(form, ticket, submission.decision):
        ctx.confirm_presumed()  # BSrE signs for the session's officer: read it first
        signed = _sign(digest, ticket, request, ctx, secret=secret)
        if isinstance(signed, Page):
            signed.cookies += cookies
            return signed
        by_hand = (
            {"tte_manual": True} if tte_manual.offered(ticket) and not any(_keys(request)) else {}
        )
        submission = replace(
            submission, values={**submission.values, "approval_id": signed, "tte": TTE, **by_hand}
        )
    officer = ticket["assignee"]
    earlier = ctx.store.step_data(ticket["id_izin"], form.number) if _reopened(ticket, form) else {}
    kind = ticket.get("kind", Kind.STEP)
    decided = {
        "kind": kind,
        "decision": submission.decision.value,
        "data": submission.values,
        "documents": document_hashes(ctx.store, ticket["id_izin"]),
        "via": via,
        "decision_id": secrets.token_hex(8),
    }
    claim = Claim(
        digest,
        {
            "status": Status.DECIDED,
            "decided_at": ctx.now.isoformat(),
            "decided_by": officer["nama"],
            "decision": submission.decision.value,
        },
        # A ticket locked meanwhile is no longer open; the count is checked too, so a
        # ticket that reached the limit decides nothing whatever its status says.
        {"expect": {"status": Status.OPEN}, "below": {"wrong_nips": MAX_WRONG_NIPS}},
        id_izin=ticket["id_izin"],
        decided=_entry(ctx, ticket, request, "task.decided", decided),
        # The application is the system's until the next task, which the decision starts
        # (a reassignment's new ticket holds it at once).
        frees=kind != Kind.REASSIGN and application.get("open_ticket") == digest,
    )
    try:
        next_text = _complete(ticket, form, submission, ctx, claim)
    except TicketTaken:
        return _closed(ctx.store.ticket(digest) or ticket)
    except TaskGone as gone:
        # The SDK retries a call whose answer was lost: its second try finds the token spent
        # by its first. The execution's history tells that from a state truly gone.
        if not (claim.made and _taken_all_the_same(ticket, ctx)):
            expired = {"status": Status.EXPIRED, "expired_reason": str(gone)}
            _undo(digest, expired, {}, ticket, request, ctx, claim, application, "task.too_late")
            return _closed({**ticket, "status": Status.EXPIRED})
        logger.warning("the decision was taken by an earlier try of its hand-over")
        next_text = TAKEN_ALL_THE_SAME
    except Exception:
        if not claim.made:
            raise
        if not _taken_all_the_same(ticket, ctx):
            # Not decided after all: the ticket open again so the officer can try again.
            reopened, expect = {"status": Status.OPEN}, {"status": Status.DECIDED}
            _undo(digest, reopened, expect, ticket, request, ctx, claim, application)
            raise
        logger.exception("the decision was taken though its answer was lost")
        next_text = TAKEN_ALL_THE_SAME
    return Page(
        200,
        render(
            "pages/decided.html.j2",
            step=form,
            data=application.get("data", {}),
            decision=submission.decision.value,
            next_text=next_text,
            officer=officer,
            corrections=_corrections(form, earlier, submission.values, ctx) if earlier else [],
            reopened=bool(earlier),
        ),
        cookies=cookies,
    )


TAKEN_ALL_THE_SAME = "Keputusan diterima; langkah berikutnya berjalan."
NOT_TAKEN = "keputusan tidak selesai diproses; tautan dibuka kembali"


def _complete(
    ticket: Mapping[str, Any],
    form: Step,
    submission: forms.Submission,
    ctx: TaskContext,
    claim: Claim,
) -> str:
    """What the decision does by its ticket's kind; the claim made again without the
    application's holder when it was refused with it (the holder moved meanwhile, or the
    ticket was taken: then it is refused again, for that)."""
    complete = COMPLETE[ticket.get("kind", Kind.STEP)]
    try:
        return complete(ticket, form, submission, ctx, claim)
    except HolderMoved:
        claim.frees = False
        claim.trail.clear()
        return complete(ticket, form, submission, ctx, claim)


def _retraction(
    ctx: TaskContext, ticket: Mapping[str, Any], request: Request, claim: Claim, action: str
) -> dict[str, Any]:
    """The entry saying Step Functions never took the decision: it retracts the claim's
    entries (when the claim was made), which the trail keeps and `Store.audit` leaves out."""
    retracts = {"retracts": claim.decided["decision_id"]} if claim.made else {}
    return _entry(ctx, ticket, request, action, {"decision": claim.fields["decision"], **retracts})


def _undo(
    digest: str,
    ticket_fields: dict[str, Any],
    expect: dict[str, Any],
    ticket: Mapping[str, Any],
    request: Request,
    ctx: TaskContext,
    claim: Claim,
    application: Mapping[str, Any],
    action: str = "task.not_taken",
) -> None:
    """A decision Step Functions did not take: the ticket changed (expired, or open again),
    the claim's entries retracted (`action`), and the holder the claim took from the officer
    given back (while nothing holds the application since: a park, the next task). Reopened,
    the ticket holds the application again."""
    entry = _retraction(ctx, ticket, request, claim, action)
    if action == "task.not_taken":
        entry["note"] = NOT_TAKEN
    reopened = ticket_fields.get("status") == Status.OPEN

    def write(holder: bool) -> None:
        with ctx.store.together() as batch:
            batch.update_ticket(digest, ticket_fields, expect=expect or None)
            batch.append_audit(ticket["id_izin"], entry, now=ctx.now)
            if holder:
                batch.update_application(
                    ticket["id_izin"],
                    {
                        "holder": application.get("holder"),
                        **({"open_ticket": digest} if reopened else {}),
                    },
                    # as the claim left it: nothing wrote the record since (a park, a task)
                    expect={"open_ticket": None, "updated_at": ctx.now.isoformat()},
                )

    try:
        write(claim.made and claim.frees and bool(application.get("holder")))
    except ConditionFailed:
        with contextlib.suppress(ConditionFailed):  # the ticket changed meanwhile: left so
            write(False)


def _taken_all_the_same(ticket: Mapping[str, Any], ctx: TaskContext) -> bool:
    """Whether the waiting state took the decision though the call failed (SendTaskSuccess
    went through and its answer was lost, or what came after it failed): its execution's
    history says. Reopened then, the ticket would only meet "too late", and a changed mind
    would be saved as the step's data beside the decision the execution went on with."""
    if not (ticket.get("task_token") and ticket.get("execution")):
        return False
    try:
        return ctx.callbacks.succeeded(str(ticket["execution"]), str(ticket["task_token"]))
    except Exception:  # the history unread: reopen, as before it was asked
        logger.exception("the execution's history could not be read")
        return False


def _sign(
    digest: str, ticket: Mapping[str, Any], request: Request, ctx: TaskContext, *, secret: str
) -> str | Page:
    """The approval's id once BSrE signed step 14's documents, or the page saying why not
    (the ticket still open). The passphrase or BSrE TOTP is read here and goes to BSrE only."""
    assert ctx.tte is not None
    passphrase, totp = _keys(request)

    def refused(code: int, errors: dict[str, str]) -> Page:
        kept = _kept(request.form)  # never the passphrase nor the BSrE TOTP
        return _form_page(code, ticket, ctx, values=kept, errors=errors, secret=secret, signed=True)

    if passphrase and totp:
        return refused(422, {PASSPHRASE: BOTH_KEYS_TEXT})
    if not (passphrase or totp):
        if ctx.tte.manual is not None and tte_manual.offered(ticket):  # BSrE's app, uploaded
            return _sign_by_hand(ticket, request, ctx, secret=secret)
        return refused(422, {PASSPHRASE: KEY_NEEDED_TEXT})
    try:
        return sign_approval(
            ticket,
            digest,
            passphrase,
            ctx.tte,
            store=ctx.store,
            roster=ctx.roster,
            now=ctx.now,
            public_base_url=ctx.public_base_url,
            totp=totp,
        )
    except WrongPassphrase:
        _audit(ctx, ticket, request, "task.tte_refused", {"reason": "passphrase_salah"})
        return refused(422, {PASSPHRASE: WRONG_KEY_TEXT})
    except BsreUnavailable:
        _audit(ctx, ticket, request, "task.tte_refused", {"reason": "bsre_tidak_tersedia"})
        fresh = _offer_by_hand(digest, ticket, ctx, secret=secret)
        text = UNAVAILABLE_TEXT + (" " + BY_HAND_TEXT if tte_manual.offered(fresh) else "")
        kept = _kept(request.form)
        return _form_page(
            503, fresh, ctx, values=kept, errors={"form": text}, secret=secret, signed=True
        )
    except TteRefused as why:
        _audit(ctx, ticket, request, "task.tte_refused", {"reason": "ditolak"})
        return refused(422, {"form": str(why)})


def _keys(request: Request) -> tuple[str, str]:
    """The BSrE passphrase (as typed: spaces may be part of it) and the BSrE TOTP code typed;
    either may be empty."""
    passphrase = (request.form.get(PASSPHRASE) or [""])[-1]
    totp = "".join((request.form.get(BSRE_TOTP) or [""])[-1].split())
    return passphrase, totp


def _offer_by_hand(
    digest: str, ticket: Mapping[str, Any], ctx: TaskContext, *, secret: str
) -> Mapping[str, Any]:
    """The ticket, offering step 14's PDFs to sign in BSrE's app when the page can take the
    signed ones back (the link's page: uploads ride on it); as it was when it cannot."""
    if ctx.tte is None or ctx.tte.manual is None or not secret or ctx.evidence is None:
        return ticket
    try:
        tte_manual.offer(
            ticket,
            digest,
            ctx.tte,
            store=ctx.store,
            roster=ctx.roster,
            now=ctx.now,
            public_base_url=ctx.public_base_url,
        )
    except (DocumentDataMissing, DocumentSealed, SignatureMissing, TteRefused) as why:
        logger.warning("no manual BSrE signing offered", extra={"error": type(why).__name__})
        return ticket
    return ctx.store.ticket(digest) or ticket


def _sign_by_hand(
    ticket: Mapping[str, Any], request: Request, ctx: TaskContext, *, secret: str
) -> str | Page:
    """The approval's id once the PDFs uploaded were recorded as the sealed versions (each
    the offered PDF, signed, verified by BSrE), or the page saying why not (nothing kept)."""
    assert ctx.tte is not None
    bucket = ctx.evidence
    step = int(ticket["step"])
    files = evidence.uploads(ctx.store, ticket["id_izin"], step) if bucket else []
    uploads = [
        tte_manual.Upload(str(u["nama"]), bucket.read(str(u["key"])))
        for u in files
        if bucket is not None and u["content_type"] == "application/pdf"
    ]
    try:
        approval_id = tte_manual.accept(
            ticket, uploads, ctx.tte, store=ctx.store, roster=ctx.roster
        )
    except (tte_manual.ManualRefused, TteRefused) as why:
        _audit(ctx, ticket, request, "task.tte_refused", {"reason": "unggahan_ditolak"})
        kept = _kept(request.form)
        return _form_page(
            422, ticket, ctx, values=kept, errors={"form": str(why)}, secret=secret, signed=True
        )
    _audit(
        ctx,
        ticket,
        request,
        "task.tte_manual",
        {"approval_id": approval_id, "note": "ditandatangani di aplikasi BSrE, diunggah"},
    )
    return approval_id


def record_upload(request: Request, ctx: TaskContext) -> Page:
    """GET /tasks/{ticket}/lampiran: S3's redirect after an upload. Records the file, then
    shows the task page again (303 to it); a refused file is named on the page (422)."""
    ticket = _ticket(request, ctx)
    if ticket is None or ctx.evidence is None:
        return _not_found()
    logger.set_correlation_id(ticket["id_izin"])
    if ticket["status"] != Status.OPEN:
        return _closed(ticket)
    try:
        evidence.record_upload(
            str(request.query.get("key", "")),
            ticket,
            bucket=ctx.evidence,
            store=ctx.store,
            now=ctx.now,
            before_deleting=ctx.confirm_presumed,
        )
    except evidence.UploadRefused as refused:
        return _form_page(
            422, ticket, ctx, values=None, errors={"lampiran": str(refused)}, secret=request.ticket
        )
    location = f"{ctx.public_base_url.rstrip('/')}/tasks/{request.ticket}"
    return Page(303, "", headers={"location": location})


def _second_factor(
    digest: str, ticket: Mapping[str, Any], request: Request, ctx: TaskContext
) -> tuple[str, list[str]] | Page:
    """What allows the decision ("session:…" or "totp", and a new session's cookie), or the
    page refusing it. NIP alone never decides; a wrong NIP or code counts towards the lock."""
    signed = sessions.signed_in(request.cookies, ctx.auth)
    if signed is not None and _is_assignee(signed, ticket):
        return signed.via, []
    nip = request.typed_nip
    code = (request.form.get("kode") or [""])[-1].strip().replace(" ", "")
    if not nip:  # nothing typed is no attempt: it is not counted towards the lock
        return _form_page(
            422, ticket, ctx, values=_kept(request.form), errors={"nip": "Isi NIP Anda."}
        )
    officer = officer_by_nip(ctx.roster, nip) if nip == ticket["assignee"]["nip"] else None
    if officer is None:
        return _wrong_answer(digest, ticket, request, ctx, "nip", _WRONG_NIP)
    if not code:  # NIPs are printed on letters: a NIP alone proves nothing (CONTRACT §3)
        _audit(ctx, ticket, request, "task.refused", {"reason": "tanpa_kode"})
        return _form_page(
            403, ticket, ctx, values=_kept(request.form), errors={"kode": _CODE_NEEDED}
        )
    started = sessions.sign_in_with_code(ctx.auth, officer, code)
    if started is None:
        return _wrong_answer(digest, ticket, request, ctx, "kode", _WRONG_CODE)
    return "totp", [started[1]]


def _is_assignee(signed: sessions.SignedIn | None, ticket: Mapping[str, Any]) -> bool:
    return signed is not None and signed.officer.nip == ticket["assignee"]["nip"]


_CODE_NEEDED = (
    "Isi kode 6 digit dari aplikasi autentikator Anda: NIP saja tidak cukup untuk memutuskan."
)
_WRONG_NIP = "NIP tidak sesuai dengan petugas yang ditugaskan."
_WRONG_CODE = "Kode tidak sesuai atau sudah dipakai; tunggu kode berikutnya lalu coba lagi."


def _ticket(request: Request, ctx: TaskContext) -> dict[str, Any] | None:
    """The ticket behind the link, or None."""
    digest = link_ticket_hash(request.ticket)
    if not digest:
        return None
    ticket = ctx.store.ticket(digest)
    if ticket is None or ticket.get("kind") == Kind.ENROLL:  # an enrollment link is no task
        return None
    return ticket


def _same_site(request: Request, ctx: TaskContext) -> bool:
    """A browser's POST from another site carries that site's Origin: refuse it."""
    return same_site(request.origin, ctx.public_base_url)


def _csrf_ok(request: Request, ticket: Mapping[str, Any]) -> bool:
    """The page's token must come with the form, and be this ticket's (sessions ride on
    cookies, so a form without it is refused whatever its Origin)."""
    import hmac

    sent = (request.form.get("csrf") or [""])[-1]
    return bool(sent) and hmac.compare_digest(sent, str(ticket.get("csrf", "")))


def _defaults(
    form: Step, ticket: Mapping[str, Any], application: Mapping[str, Any], ctx: TaskContext
) -> dict[str, Any]:
    values = forms.defaults(form, application, ctx.roster, forms.today_in_wib(ctx.now))
    if ticket.get("kind") == Kind.REPAIR or _reopened(ticket, form):
        # The values that failed, or the earlier answers a send-back asks to correct.
        stored = ctx.store.step_data(ticket["id_izin"], form.number)
        values |= {f.name: _shown(stored[f.name]) for f in form.fields if f.name in stored}
    if ticket.get("kind") == Kind.REASSIGN:
        task = ctx.store.ticket(ticket["task"]) or {}
        current = (task.get("assignee") or {}).get("nip")
        others = [o.nip for o in ctx.roster.holders(form.actor) if o.nip != current]
        values["petugas"] = others[0] if others else current or ""
    return values


def _reopened(ticket: Mapping[str, Any], form: Step) -> bool:
    """Whether this is a step's task asked again by a send-back (izin.sop)."""
    return ticket.get("kind", Kind.STEP) == Kind.STEP and sop.reopened_by_send_back(form.number)


def _corrections(
    form: Step, earlier: Mapping[str, Any], values: Mapping[str, Any], ctx: TaskContext
) -> list[dict[str, str]]:
    """What an officer asked again changed in their answer: label, sebelum, sesudah."""
    rows = []
    for f in form.fields:
        before = forms.field_text(f, earlier.get(f.name), ctx.roster)
        after = forms.field_text(f, values.get(f.name), ctx.roster)
        if before != after:
            rows.append({"label": f.label, "sebelum": before, "sesudah": after})
    return rows


def _shown(value: Any) -> Any:
    """A stored value as its form field shows it."""
    if value is None:
        return ""
    return value if isinstance(value, list | str) else str(value)


def _wrong_answer(
    digest: str,
    ticket: Mapping[str, Any],
    request: Request,
    ctx: TaskContext,
    field: str,
    error: str,
) -> Page:
    updated = count_wrong_answer(ctx.store, digest, limit=MAX_WRONG_NIPS, now=ctx.now)
    if updated is None:
        return _closed(ctx.store.ticket(digest) or ticket)
    action = "task.wrong_nip" if field == "nip" else "task.wrong_code"
    _audit(ctx, ticket, request, action, {"count": updated["wrong_nips"]})
    if updated["status"] == Status.LOCKED:
        _alert_lock(digest, ticket, ctx)
        return Page(403, render("pages/closed.html.j2", ticket=updated, status=Status.LOCKED))
    return _form_page(
        403,
        updated,
        ctx,
        values=_kept(request.form),
        errors={field: error},
    )


def _alert_lock(digest: str, ticket: Mapping[str, Any], ctx: TaskContext) -> None:
    """Tell the Kasi (or the role's supervisor) and give them the link to reassign the task."""
    form = form_of(ticket)
    application = ctx.store.application(ticket["id_izin"]) or {}
    reassigner = reassigner_for(form.actor, ctx.roster, application)
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
        render_email(
            "locked",
            context,
            to=(str(reassigner.email),),
            subject=f"[Izin Perluasan] Tautan langkah {form.code} dikunci - {ticket['id_izin']}",
            id_izin=str(ticket["id_izin"]),
        )
    )
    _audit_system(
        ctx,
        ticket,
        "task.locked",
        f"tautan langkah {form.code} dikunci; {reassigner.nama} diberi tahu",
    )


def _kept(form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    hidden = {"nip", "kode", "csrf", "decision", PASSPHRASE, BSRE_TOTP}
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
    """An officer's act on the trail, written at once."""
    ctx.store.append_audit(
        ticket["id_izin"], _entry(ctx, ticket, request, action, extra), now=ctx.now
    )


def _entry(
    ctx: TaskContext,
    ticket: Mapping[str, Any],
    request: Request,
    action: str,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """An officer's act as the trail keeps it: who, from where, on whose behalf."""
    assignee = ticket["assignee"]
    return {
        "action": action,
        "step": int(ticket["step"]),
        "actor": assignee["nama"],
        "role": assignee["role"],
        "nip": assignee["nip"],
        "ip": request.source_ip,
        "user_agent": request.user_agent[:300],
        **_acting_for(ticket),
        **extra,
    }


def _acting_for(ticket: Mapping[str, Any]) -> dict[str, str]:
    """A Plh/Plt's act names both: the delegate (actor, nip) and on whose behalf."""
    behalf = ticket.get("atas_nama")
    if not behalf:
        return {}
    return {
        "atas_nama": str(behalf["nama"]),
        "atas_nama_nip": str(behalf["nip"]),
        "sebagai": f"{behalf['jenis']}. {behalf['jabatan']}",
    }


def _audit_system(ctx: TaskContext, ticket: Mapping[str, Any], action: str, note: str) -> None:
    ctx.store.append_audit(
        ticket["id_izin"],
        {"action": action, "step": int(ticket["step"]), "actor": "sistem", "note": note},
        now=ctx.now,
    )


def _not_found() -> Page:
    return Page(404, render("pages/not_found.html.j2"))


def _closed(ticket: Mapping[str, Any]) -> Page:
    # Refused while still open: it was counted to the limit of wrong NIPs.
    status = Status.LOCKED if ticket["status"] == Status.OPEN else ticket["status"]
    code = {Status.DECIDED: 409, Status.LOCKED: 403}.get(status, 410)
    return Page(code, render("pages/closed.html.j2", ticket=ticket, status=status))


def _form_page(
    code: int,
    ticket: Mapping[str, Any],
    ctx: TaskContext,
    *,
    values: Mapping[str, Any] | None,
    errors: Mapping[str, str],
    secret: str = "",  # the link's ticket: with it, the page takes evidence uploads
    signed: bool = False,
) -> Page:
    form = form_of(ticket)
    uploads = evidence_section(ticket, form, ctx, secret) if secret else None
    application = ctx.store.application(ticket["id_izin"]) or {}
    shown = {**_defaults(form, ticket, application, ctx), **(values or {})}
    trail = history(ctx.store.audit(ticket["id_izin"]), HISTORY_ACTIONS)
    kind = ticket.get("kind", Kind.STEP)
    documents = ctx.documents(ticket["id_izin"])
    note = (
        send_back_note(ctx.store, form, ticket["id_izin"])
        if kind == Kind.STEP and sop.sent_back_by(form.number)
        else None
    )
    if note is not None:
        note["kepada"] = returned_to(note["step"], note.get("decision"), note)
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
            documents=documents,
            summary=summary(form.number, ctx.store.steps(ticket["id_izin"]), documents)
            if kind == Kind.STEP
            else [],
            history=trail,
            note_hint=(
                f"Wajib diisi bila memilih \u201c{form.no_label}\u201d."
                if sop.Decision.NO in form.decisions and form.no_needs_note
                else ""
            ),
            max_wrong_nips=MAX_WRONG_NIPS,
            note=note,
            prefilled=_reopened(ticket, form),
            deadline=tanggal_waktu(datetime.fromisoformat(ticket["deadline"]))
            if ticket.get("deadline")
            else "",
            role_titles=ROLE_TITLES,
            sop=sop,
            csrf=ticket.get("csrf", ""),
            evidence=uploads,
            signed_in=signed,
            # BSrE's passphrase, asked where the decision is the approval the Kepala Dinas signs
            tte=ctx.tte is not None and signs_here(form, ticket, sop.Decision.YES),
            by_hand=_by_hand(ticket, ctx) if secret else [],
        ),
        headers=upload_headers(uploads),
    )


def _by_hand(ticket: Mapping[str, Any], ctx: TaskContext) -> list[dict[str, str]]:
    """The PDFs offered to sign in BSrE's app, with their download links, while open."""
    if ctx.tte is None or ctx.tte.manual is None or ticket.get("status") != Status.OPEN:
        return []
    link = ctx.tte.manual.link
    return [
        {"judul": str(d["judul"]), "nomor": str(d["nomor"]), "url": link(str(d["pdf_key"]))}
        for d in tte_manual.offered(ticket)
    ]


HISTORY_ACTIONS = frozenset(
    {
        "application.received",
        "application.repaired",
        "task.decided",
        "task.reassigned",
        "task.delegated",  # to a Plh/Plt (izin.delegation)
        "task.returned",  # back from one
        "task.claimed",  # from the Kasi's pool (izin.pool)
        "task.tte_manual",  # step 14 signed in BSrE's app and uploaded (izin.tasks.tte_manual)
        "event.applied",
        "step.recorded",
        "document.rendered",
        "document.unchanged",
        "document.sealed",
        "bap.uploaded",
        "tembusan.sent",
        "sla.breached",
        "sla.clock",
        "sla.moved",
        "lampiran.uploaded",
    }
)
