"""Starting an application again in a new execution: after a failure (TERHENTI) once its
cause is fixed (`izin resume`), or when a wait on OSS or SIINAS outlasts its execution's year.

The state machine's first state, "Mulai", routes an execution whose input names
`lanjut_dari` to that state; its choices are the list of resumable states, so nothing here
repeats them. A failed officer's wait starts again at its Tenggat, which issues a fresh link;
a continued wait starts again at its Batas Tunggu. The executions of one application are
`{name}`, `{name}-lanjut-1`, `{name}-lanjut-2`, ….

Where to start again is read when the application parks (`where_parked`, kept on its
record as `parked_in`): Step Functions keeps a closed execution's history 90 days, and an
application may wait longer than that for its cause to be fixed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from izin import sop
from izin.models import ContinueRequest, execution_name
from izin.observability import logger
from izin.store import Store
from izin.workflow import PARK_STATE, ROUTER, tenggat_name


class NotResumable(Exception):
    """The application is not parked, or its execution did not end in the park state."""


def resumable_states(definition: str) -> set[str]:
    """The states the router can start an execution at, read from the ASL definition."""
    router = json.loads(definition)["States"][ROUTER]
    return {rule["Next"] for rule in router["Choices"]}


def failed_state(entered: Sequence[str]) -> str:
    """The state an execution entered just before its (last) park state."""
    if PARK_STATE not in entered[1:]:
        raise NotResumable("the execution was not parked")
    return entered[len(entered) - 1 - list(reversed(entered)).index(PARK_STATE) - 1]


def resume_point(entered: Sequence[str], resumable: set[str]) -> str:
    """Where to start again: at the state entered just before the park state."""
    return resume_at(failed_state(entered), resumable)


def resume_at(failed: str, resumable: set[str]) -> str:
    """Where to start again after `failed` failed: itself, or its officer's wait's Tenggat."""
    if failed in resumable:
        return failed
    waits = {step.state_name: step for step in sop.STEPS if step.is_task}
    if failed in waits and tenggat_name(waits[failed]) in resumable:
        return tenggat_name(waits[failed])
    raise NotResumable(f"no way back into {failed!r}")


def resume_input(store: Store, application: Mapping[str, Any], start_at: str) -> dict[str, Any]:
    """The new execution's input: the identity, the slots, and what later choices read."""
    data = application["data"]
    state: dict[str, Any] = {
        "id_izin": application["id_izin"],
        "nib": data["nib"],
        "perusahaan": data["perusahaan"]["nama"],
        "sla": {"step": 0, "reminders": 0},
        "batas": {"step": 0, "late": 0},
        "documents": {},
        "lanjut_dari": start_at,
    }
    applied = [
        e
        for e in store.events(application["id_izin"], "oss:izin.status")
        if e.get("status") == "applied"
    ]
    if applied:
        event = applied[-1]["data"]
        state["izin_status"] = {"kd_status": event["kd_status"], "status": event["status"]}
    return state


class Executions(Protocol):
    """Starts an execution (izin.stepfunctions.StepFunctionsExecutions)."""

    def start(self, name: str, state: dict[str, Any]) -> bool:
        """Start an execution with this name; False when one already has it."""


def next_execution_name(id_izin: str, current: str) -> str:
    """The name after `current` among an application's executions."""
    base = execution_name(id_izin)
    match = re.fullmatch(re.escape(base) + r"-lanjut-(\d+)", current)
    return f"{base}-lanjut-{int(match.group(1)) + 1 if match else 1}"


def continue_as_new(
    request: ContinueRequest, *, store: Store, executions: Executions, now: datetime
) -> str:
    """Start the application's next execution at the wait's Batas Tunggu; returns its name.

    Named after the current one, so a retried call finds its execution already started
    (and one already taken by `izin resume` meanwhile moves it one further)."""
    state = {k: v for k, v in request.state.items() if k not in ("gagal", "timeout")}
    # The wait's lateness goes on; its first wait in the new execution is not a new one.
    state["batas"] = {**request.state.get("batas", {}), "lanjut_baru": True}
    state["lanjut_dari"] = request.lanjut_dari
    name = next_execution_name(request.id_izin, request.execution)
    while not executions.start(name, state):
        if (store.application(request.id_izin) or {}).get("execution") == name:
            return name  # a retry of this very call: started already
        name = next_execution_name(request.id_izin, name)
    store.update_application(request.id_izin, {"execution": name, "updated_at": now.isoformat()})
    store.append_audit(
        request.id_izin,
        {
            "action": "execution.continued",
            "step": request.step,
            "actor": "sistem",
            "execution": name,
            "previous": request.execution,
            "note": f"menunggu lebih dari satu tahun eksekusi; dilanjutkan sebagai {name}",
        },
        now=now,
    )
    return name


def where_parked(execution_arn: str, entered: Callable[[str], Sequence[str]]) -> dict[str, str]:
    """What resuming will need, read while the parking execution's history is kept: its
    name and the state that failed (`entered`: its states, read by ARN). {} when the
    history cannot tell: parking goes on, and resuming reads the history as before."""
    if not execution_arn:  # an execution started before its ARN was passed to the park
        return {}
    try:
        state = failed_state(entered(execution_arn))
    except (BotoCoreError, ClientError, NotResumable) as error:
        logger.warning("where the application parked is unknown", extra={"error": str(error)})
        return {}
    return {"execution": execution_arn.rsplit(":", 1)[-1], "state": state}


class History(Protocol):
    """What resuming reads of the state machine (izin.stepfunctions.StepFunctionsHistory)."""

    def executions(self, base: str) -> list[str]:
        """The names of the application's executions (`base`, `base-lanjut-n`), oldest first."""

    def entered(self, name: str) -> list[str]:
        """The states an execution entered, in order."""

    def definition(self) -> str:
        """The state machine's ASL definition."""


def resume_parked(
    id_izin: str,
    *,
    store: Store,
    history: History,
    executions: Executions,
    by: str,
    now: datetime,
) -> str:
    """Start a TERHENTI application again at the state that failed (`izin resume`, the
    console's Resume button); returns the new execution's name, the resumption audited."""
    application = store.application(id_izin)
    if application is None or application.get("status") != "TERHENTI":
        raise NotResumable(f"{id_izin} is not TERHENTI")
    parked_in = application.get("parked_in") or {}
    if parked_in.get("execution") and parked_in.get("state"):
        parked, failed = str(parked_in["execution"]), str(parked_in["state"])
    else:  # parked before the record kept it: the history (kept 90 days) tells
        names = history.executions(execution_name(id_izin))
        if not names:
            raise NotResumable(f"{id_izin} has no execution")
        parked, failed = names[-1], failed_state(history.entered(names[-1]))
    start_at = resume_at(failed, resumable_states(history.definition()))
    name = next_execution_name(id_izin, parked)
    if not executions.start(name, resume_input(store, application, start_at)):
        raise NotResumable(f"{id_izin} was resumed already ({name})")
    store.update_application(
        id_izin,
        {"status": "PROSES", "execution": name, "updated_at": now.isoformat()},
        remove=("reason", "parked_in"),
    )
    store.append_audit(
        id_izin,
        {
            "action": "application.resumed",
            "actor": by,
            "execution": name,
            "previous_reason": application.get("reason", {}),
            "note": f"dilanjutkan dari {start_at}",
        },
        now=now,
    )
    return name
