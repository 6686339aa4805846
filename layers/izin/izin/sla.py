"""A human step's SLA: its deadline in hari kerja, and what happens when it passes.

The state waits `timeout_seconds` (TimeoutSecondsPath). When that passes, the state
machine comes back here: the breach is recorded, the reminder counted, and the step waits
again with a fresh link (the request-task function reminds the officer and copies the
supervisor). Nothing is ever decided by time; after the last reminder the application is
parked for an administrator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from izin import sop
from izin.calendar import HolidayCalendar, working_deadline
from izin.models import Deadline, EventBudget
from izin.settings import Settings
from izin.store import Store


class SlaExhausted(Exception):
    """An officer let every reminder pass: the application waits for an administrator."""


def sla_days(step: int, settings: Settings) -> int:
    """The step's SLA in hari kerja: configured, else the SOP's, else the default."""
    return settings.sla_days.get(step) or sop.step(step).sla_days or settings.default_sla_days


def plan_deadline(
    step: int,
    previous: Mapping[str, Any],
    *,
    now: datetime,
    calendar: HolidayCalendar,
    settings: Settings,
) -> Deadline:
    """The step's deadline from now; a re-entry of the same step counts one more reminder."""
    reminders = int(previous.get("reminders", 0)) + 1 if previous.get("step") == step else 0
    if reminders > settings.max_reminders:
        raise SlaExhausted(
            f"langkah {step}: batas waktu terlampaui {reminders - 1} kali tanpa keputusan"
        )
    days = sla_days(step, settings)
    deadline = working_deadline(now, days, calendar)
    if settings.workday_seconds:
        timeout = days * settings.workday_seconds
    else:
        timeout = (deadline - now).total_seconds()
    return Deadline(
        step=step,
        deadline=deadline,
        timeout_seconds=max(1, math.ceil(timeout)),
        reminders=reminders,
    )


def event_budget(
    step: int, started: datetime, *, now: datetime, budget_seconds: int
) -> EventBudget:
    """How long a wait on OSS or SIINAS may last in this execution: until `budget_seconds`
    after the execution's start, well before Step Functions' one-year cap. Once that is
    spent, one second: the wait times out at once and continues in a new execution."""
    left = budget_seconds - (now - started).total_seconds()
    return EventBudget(step=step, timeout_seconds=max(1, math.floor(left)))


def record_breach(store: Store, id_izin: str, deadline: Deadline, *, now: datetime) -> None:
    """Keep the missed SLA in the application's trail."""
    store.append_audit(
        id_izin,
        {
            "action": "sla.breached",
            "step": deadline.step,
            "actor": "sistem",
            "reminders": deadline.reminders,
            "note": f"batas waktu terlampaui; pengingat ke-{deadline.reminders}",
        },
        now=now,
    )
    store.update_application(id_izin, {"updated_at": now.isoformat()}, add={"sla_breaches": 1})
