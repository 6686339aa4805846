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


DEFAULT_EVENT_LATE_DAYS = 5


def late_after_seconds(
    step: int, *, now: datetime, calendar: HolidayCalendar, settings: Settings
) -> float:
    """How long a wait on OSS or SIINAS at this step lasts before it is late."""
    days = settings.event_late_days.get(step, DEFAULT_EVENT_LATE_DAYS)
    if settings.workday_seconds:
        return days * settings.workday_seconds
    return (working_deadline(now, math.ceil(days), calendar) - now).total_seconds()


def event_budget(
    step: int,
    started: datetime,
    previous: Mapping[str, Any],
    *,
    now: datetime,
    budget_seconds: int,
    late_after: float,
) -> EventBudget:
    """How long a wait on OSS or SIINAS may last before it is looked at again.

    Until it is late (`late_after` seconds), and never past `budget_seconds` after the
    execution's start, well before Step Functions' one-year cap. Back after the wait timed
    out (`habis`): late once more, or, with the year spent, `lanjut_baru` (continue in a
    new execution). A new execution's first wait is no new lateness; a new wait at the same
    step (step 2 again after a return from step 4) starts on time."""
    left = budget_seconds - (now - started).total_seconds()
    timed_out = "habis" in previous  # the wait's Catch put its timeout there
    goes_on = previous.get("step") == step and (timed_out or previous.get("lanjut_baru"))
    late = int(previous.get("late", 0)) if goes_on else 0
    if left < 1:
        return EventBudget(step=step, timeout_seconds=1, late=late, lanjut_baru=True)
    if goes_on and timed_out:
        late += 1
    timeout = min(left, late_after)
    return EventBudget(step=step, timeout_seconds=max(1, math.floor(timeout)), late=late)


def record_late_wait(store: Store, id_izin: str, budget: EventBudget, *, now: datetime) -> None:
    """Keep in the application's trail that OSS or SIINAS is late."""
    [event] = [f.event for f in sop.step(budget.step).flow if isinstance(f, sop.AwaitEvent)]
    source, kind = event.split(":", 1)
    store.append_audit(
        id_izin,
        {
            "action": "event.late",
            "step": budget.step,
            "actor": "sistem",
            "late": budget.late,
            "note": f"{source.upper()} belum mengirim {kind} (terlambat ke-{budget.late})",
        },
        now=now,
    )


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
