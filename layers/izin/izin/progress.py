"""Automatic steps and endings: what the application record and its trail say about them.

Steps 1, 15, 16 and 20 need no officer's click: step 15's order is given by the Kepala
Dinas's approval at step 14, step 16's assignment goes to the Operator on duty, and step 20
records OSS's verdict. A step that fails for good parks the application (TERHENTI): the
Operator is told which step, the error's name, its one-line reason and how to resume; the
full cause (a stack trace with the server's paths) goes to the log only. At the end, every
officer who acted on the application hears the outcome (notify_outcome).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from izin import sop
from izin.mail import Mailer
from izin.models import execution_name
from izin.observability import logger
from izin.roster import Officer, Roster, RosterError
from izin.sop import ROLE_TITLES, Role
from izin.store import Store
from izin.templating import render_email

OUTCOMES = {"efektif": "BERLAKU_EFEKTIF", "belum_efektif": "BELUM_EFEKTIF"}


def record_step(
    store: Store, roster: Roster, id_izin: str, step: int, *, now: datetime, status: str = ""
) -> dict[str, Any]:
    """Record an automatic step on the application and its audit trail."""
    s = sop.step(step)
    fields: dict[str, Any] = {
        "current_step": step,
        "step_name": s.state_name,
        "updated_at": now.isoformat(),
    }
    actor = _actor(roster, s.actor)
    note = sop.record_note(s)
    if s is sop.STEPS[-1]:  # OSS's verdict ends the SOP
        outcome = OUTCOMES[status]
        fields |= {"status": "SELESAI", "outcome": outcome, "finished_at": now.isoformat()}
        note = (
            "Izin Perluasan berlaku efektif"
            if outcome == "BERLAKU_EFEKTIF"
            else "Izin Perluasan masih belum berlaku efektif; perluasan belum boleh dilakukan"
        )
    with store.together() as batch:  # the record and the trail's entry, or neither
        batch.update_application(id_izin, fields, remove=("deadline", "open_ticket"))
        if "outcome" in fields:
            batch.close_application(id_izin, now=now)
        batch.append_audit(
            id_izin,
            {"action": "step.recorded", "step": step, "actor": actor, "note": note},
            now=now,
        )
    return {"step": step, "outcome": fields.get("outcome", "")}


# The trail's entries of an officer acting on the application (tasks/page.py, tasks/complete.py).
ACTED = (
    "task.decided",
    "bap.uploaded",
    "task.reassigned",
    "task.delegated",
    "task.returned",
    "task.claimed",
)


def officers_who_acted(store: Store, roster: Roster, id_izin: str) -> list[Officer]:
    """Every officer the audit trail shows deciding, uploading or reassigning, once each,
    in the order they first acted; an officer no longer in the roster is left out."""
    found: dict[str, Officer] = {}
    for entry in store.audit(id_izin):
        nip = str(entry.get("nip") or "")
        if entry.get("action") in ACTED and nip and nip not in found:
            try:
                found[nip] = roster.by_nip(nip)
            except RosterError:
                continue
    return list(found.values())


def notify_outcome(
    store: Store, roster: Roster, mailer: Mailer, id_izin: str, *, now: datetime
) -> list[str]:
    """Step 20's outcome (efektif or belum efektif), emailed to each officer who acted on the
    application, once; audited. Returns the addresses written to."""
    application = store.application(id_izin) or {}
    outcome = str(application.get("outcome") or "")
    if outcome not in OUTCOMES.values():
        raise ValueError(f"{id_izin} has no outcome yet")
    if any(e.get("action") == "outcome.notified" for e in store.audit(id_izin)):
        return []  # a retry of the step after the emails went out
    data = application.get("data", {})
    efektif = outcome == OUTCOMES["efektif"]
    officers = officers_who_acted(store, roster, id_izin)
    for officer in officers:
        context = {"officer": officer, "data": data, "efektif": efektif, "application": application}
        mailer.send(
            render_email(
                "outcome",
                context,
                to=(str(officer.email),),
                subject=f"[Izin Perluasan] {data.get('perusahaan', {}).get('nama', id_izin)}: "
                + ("berlaku efektif" if efektif else "belum berlaku efektif"),
                id_izin=id_izin,
            )
        )
    to = [str(o.email) for o in officers]
    store.append_audit(
        id_izin,
        {
            "action": "outcome.notified",
            "step": sop.STEPS[-1].number,
            "actor": "sistem",
            "to": to,
            "note": f"hasil akhir dikirim kepada {len(to)} petugas",
        },
        now=now,
    )
    return to


def _actor(roster: Roster, role: Role) -> str:
    holders = roster.holders(role)
    return holders[0].nama if holders else ROLE_TITLES[role]


def park(
    store: Store,
    roster: Roster,
    mailer: Mailer,
    id_izin: str,
    failure: Mapping[str, Any],
    *,
    now: datetime,
    public_base_url: str,
    parked_in: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A step failed for good: the application is TERHENTI, the reason kept, the Operator told.

    What is kept and mailed is the error's name and a one-line reason; the whole cause is
    logged, with the execution's name to find it by. `parked_in` (izin.resume.where_parked:
    the execution and the state that failed) is kept for resuming.
    """
    error = _one_line(str(failure.get("Error") or "Error"))[:200] or "Error"
    cause = str(failure.get("Cause") or "")
    reason = failure_reason(cause)
    execution = (parked_in or {}).get("execution") or _execution(store, id_izin)
    logger.error(
        "the cause of a parked application",
        extra={"error": error, "cause": cause, "execution": execution},
    )
    application = store.update_application(
        id_izin,
        {
            "status": "TERHENTI",
            "reason": {"error": error, "cause": reason},
            "parked_at": now.isoformat(),
            "updated_at": now.isoformat(),
            **({"parked_in": dict(parked_in)} if parked_in else {}),
        },
        remove=("open_ticket",),
    )
    step = int(application.get("current_step", 0))
    store.append_audit(
        id_izin,
        {
            "action": "application.parked",
            "step": step,
            "actor": "sistem",
            "error": error,
            "note": f"permohonan TERHENTI: {error}",
        },
        now=now,
    )
    operator = roster.first(Role.OPERATOR)
    context = {
        "application": application,
        "data": application.get("data", {}),
        "error": error,
        "reason": reason,
        "execution": execution,
        "step": sop.step(step) if step else None,
        "operator": operator,
        "status_url": public_base_url,
    }
    mailer.send(
        render_email(
            "parked",
            context,
            to=(str(operator.email),),
            subject=f"[Izin Perluasan] TERHENTI: {id_izin} - {error}",
            id_izin=id_izin,
        )
    )
    return {"status": "TERHENTI", "error": error}


# An absolute path's folders ("/var/task/izin/documents/"), not a URL's ("https://host/...").
_FOLDERS = re.compile(r"(?<![\w/:.])/(?:[\w.@+-]+/)+")


def failure_reason(cause: str) -> str:
    """One line an administrator can act on, from a Catch's Cause: the error's own message
    (a Lambda error's errorMessage), one line of it, without the server's folders."""
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    message = parsed.get("errorMessage") if isinstance(parsed, dict) else cause
    lines = [line.strip() for line in str(message or "").splitlines() if line.strip()]
    # A Python traceback as text ends with what was raised; anything else says it first.
    line = (lines[-1] if lines[0].startswith("Traceback") else lines[0]) if lines else ""
    return _one_line(_FOLDERS.sub("", line))[:300] or "tanpa keterangan"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _execution(store: Store, id_izin: str) -> str:
    """The name of the application's latest execution, as its trail recorded it."""
    named = [str(entry["execution"]) for entry in store.audit(id_izin) if entry.get("execution")]
    return named[-1] if named else execution_name(id_izin)
