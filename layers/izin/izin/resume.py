"""Resuming a parked (TERHENTI) application from the state that failed, once its cause is fixed.

The state machine's first state, "Mulai", routes an execution whose input names
`lanjut_dari` to that state; its choices are the list of resumable states, so nothing here
repeats them. A failed officer's wait starts again at its Tenggat, which issues a fresh link.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from izin import sop
from izin.store import Store
from izin.workflow import PARK_STATE, ROUTER, tenggat_name


class NotResumable(Exception):
    """The application is not parked, or its execution did not end in the park state."""


def resumable_states(definition: str) -> set[str]:
    """The states the router can start an execution at, read from the ASL definition."""
    router = json.loads(definition)["States"][ROUTER]
    return {rule["Next"] for rule in router["Choices"]}


def resume_point(entered: Sequence[str], resumable: set[str]) -> str:
    """Where to start again: the state entered just before the park state."""
    if PARK_STATE not in entered:
        raise NotResumable("the execution was not parked")
    failed = entered[len(entered) - 1 - list(reversed(entered)).index(PARK_STATE) - 1]
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
