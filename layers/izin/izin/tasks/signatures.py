"""Step 11's signatures, checked before the decision is taken: no BAP line left blank.

A member of the Tim Teknis who decided a step of this file in the system (08, 10, or this
one) signed electronically by that decision; every other member must be ticked as having
signed on paper, and a page signed on paper must be uploaded with the step (izin.evidence).
The company's representative is named on the form (a required field). So the seal at step
14 (izin.documents.seal_documents, SignatureMissing) finds every line filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from izin import evidence, forms, sop
from izin.documents.context import SIGNED_BY_DECISION, TTD_TIM
from izin.roster import RosterError
from izin.sop import Step
from izin.tasks.context import TaskContext
from izin.tickets import Kind


def check_signatures(
    form: Step, submission: forms.Submission, ticket: Mapping[str, Any], ctx: TaskContext
) -> None:
    """FormInvalid naming what is missing, when the form records the BAP's signatures."""
    errors = signature_errors(form, submission.values, ticket, ctx)
    if errors:
        raise forms.FormInvalid(errors, submission.values)


def signature_errors(
    form: Step, values: Mapping[str, Any], ticket: Mapping[str, Any], ctx: TaskContext
) -> dict[str, str]:
    """The signature lines still blank, by field ({} when none, or the form asks for none);
    also read for a form that failed otherwise, so every error shows at once."""
    if TTD_TIM not in {f.name for f in form.fields} or ticket.get("kind", Kind.STEP) != Kind.STEP:
        return {}
    id_izin = ticket["id_izin"]
    steps = ctx.store.steps(id_izin)
    team_step = steps.get(sop.step_of_field("ketua").number) or {}
    team = [str(team_step.get("ketua") or ""), *(str(n) for n in team_step.get("anggota") or [])]
    team = list(dict.fromkeys(n for n in team if n))
    acted = {str((steps.get(n) or {}).get("nip") or "") for n in SIGNED_BY_DECISION}
    acted.add(str(ticket["assignee"]["nip"]))
    ticked = values.get(TTD_TIM) or []
    paper = {str(n) for n in ([ticked] if isinstance(ticked, str) else ticked) if n}
    errors: dict[str, str] = {}
    outside = sorted(paper - set(team))
    blank = [n for n in team if n not in acted and n not in paper]
    if outside:
        errors[TTD_TIM] = f"Bukan anggota Tim Teknis berkas ini: {_names(ctx, outside)}."
    elif blank:
        errors[TTD_TIM] = (
            f"Tanda tangan BAP belum lengkap: {_names(ctx, blank)}. Centang bila telah "
            "menandatangani di atas kertas, dan unggah halaman yang ditandatangani."
        )
    elif paper - acted and not evidence.uploads(ctx.store, id_izin, form.number):
        errors["lampiran"] = (
            "Unggah halaman BAP yang ditandatangani di atas kertas sebelum mengirim keputusan."
        )
    return errors


def _names(ctx: TaskContext, nips: list[str]) -> str:
    names = []
    for nip in nips:
        try:
            names.append(ctx.roster.by_nip(nip).nama)
        except RosterError:
            names.append(nip)
    return ", ".join(names)
