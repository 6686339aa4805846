"""A human step's SLA: its deadline in hari kerja, and what happens when it passes.

The state waits `timeout_seconds` (TimeoutSecondsPath). When that passes, the state
machine comes back here: the breach is recorded, the reminder counted, and the step waits
again with a fresh link (the request-task function reminds the officer and copies the
supervisor). Nothing is ever decided by time; after the last reminder the application is
parked for an administrator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from izin import sop
from izin.calendar import (
    HolidayCalendar,
    add_working_seconds,
    working_deadline,
    working_seconds_between,
)
from izin.models import Deadline, EventBudget
from izin.settings import Settings
from izin.store import ConditionFailed, Store


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
    clock: Sequence[Mapping[str, Any]] = (),
) -> Deadline:
    """The step's deadline from now; a re-entry of the same step counts one more reminder,
    unless OSS stopped or restarted the SLA's clock (`clock`, kd_status 41-44) meanwhile:
    then the deadline moves by the time stopped, and the step waits on without a breach."""
    if previous.get("step") == step and previous.get("planned_at") and clock:
        moved = _moved(
            step, previous, stopped(clock), now=now, calendar=calendar, settings=settings
        )
        if moved is not None:
            return moved
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
        planned_at=now,
    )


# OSS's statuses that move the SLA's clock (PIA Lampiran 10), and what each does to it.
CLOCK = {
    "41": ("berhenti", "Konfirmasi Persyaratan: SLA berhenti sementara"),
    "42": ("lanjut", "Konfirmasi Persyaratan selesai: SLA berjalan lagi"),
    "43": ("berhenti", "Perbaikan persyaratan: SLA berhenti sementara"),
    "44": ("ulang", "Persyaratan diperbaiki: SLA dimulai dari awal"),
}


@dataclass(frozen=True)
class Stopped:
    """The SLA clock's stops (closed intervals), the stop still open, the last restart."""

    intervals: tuple[tuple[datetime, datetime], ...] = ()
    open_since: datetime | None = None
    restarts: tuple[datetime, ...] = field(default=())

    def during(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The stopped spans within [start, end]."""
        spans = [*self.intervals, *([(self.open_since, end)] if self.open_since else [])]
        return [(max(a, start), min(b, end)) for a, b in spans if min(b, end) > max(a, start)]


def stopped(clock: Sequence[Mapping[str, Any]]) -> Stopped:
    """What OSS's 41-44 statuses, in the order they happened, did to the clock."""
    intervals: list[tuple[datetime, datetime]] = []
    restarts: list[datetime] = []
    since: datetime | None = None
    for entry in sorted(clock, key=lambda e: str(e["at"])):
        at, effect = datetime.fromisoformat(str(entry["at"])), CLOCK[str(entry["kd_status"])][0]
        if effect == "berhenti":
            since = since or at
            continue
        if since is not None:
            intervals.append((since, at))
            since = None
        if effect == "ulang":
            restarts.append(at)
    return Stopped(tuple(intervals), since, tuple(restarts))


def _moved(
    step: int,
    previous: Mapping[str, Any],
    clock: Stopped,
    *,
    now: datetime,
    calendar: HolidayCalendar,
    settings: Settings,
) -> Deadline | None:
    """The deadline that OSS's clock moved, or None when it is simply passed."""
    planned_at = datetime.fromisoformat(str(previous["planned_at"]))
    restarted = [r for r in clock.restarts if planned_at < r <= now]
    start = restarted[-1] if restarted else planned_at
    days = sla_days(step, settings)
    spans = clock.during(start, now)
    if settings.workday_seconds:
        paused = sum((b - a).total_seconds() for a, b in spans)
        due = start + timedelta(seconds=days * settings.workday_seconds + paused)
        look_again = settings.workday_seconds
    else:
        paused = sum(working_seconds_between(a, b, calendar) for a, b in spans)
        due = add_working_seconds(working_deadline(start, days, calendar), paused, calendar)
        look_again = (working_deadline(now, 1, calendar) - now).total_seconds()
    if not restarted and not paused:
        return None
    if clock.open_since is None and due <= now:
        return None
    why = "; ".join(
        [f"SLA dimulai dari awal {start.isoformat()} (OSS 44)"] * bool(restarted)
        + [f"SLA berhenti {math.ceil(paused)} detik (OSS 41/43)"] * bool(paused)
    )
    waits = look_again if clock.open_since is not None else (due - now).total_seconds()
    return Deadline(
        step=step,
        deadline=due,
        timeout_seconds=max(1, math.ceil(waits)),
        reminders=int(previous.get("reminders", 0)),
        planned_at=start,
        moved=why,
    )


class ApplicationNotYet(Exception):
    """An OSS clock status for an application not received yet: its message is left on the
    queue, to come again (and reach the DLQ if the application never comes)."""


# Another clock status written between this one's read and its write: read again, this
# many times at most.
CLOCK_TRIES = 5


def record_clock(
    store: Store, id_izin: str, kd_status: str, event_id: str, *, at: datetime, now: datetime
) -> bool:
    """Keep one of OSS's 41-44 on the application (once per event) and in its trail, as
    one write; False when the event was kept before. ApplicationNotYet when the application
    does not exist yet. Two statuses kept at once both stay: the write holds only if the
    record is as read (its `updated_at`), else it is read again."""
    for _ in range(CLOCK_TRIES):
        application = store.application(id_izin)
        if application is None:
            raise ApplicationNotYet(f"{id_izin}: OSS status {kd_status} before the application")
        clock = list(application.get("sla_jam") or [])
        if any(e.get("event_id") == event_id for e in clock):
            return False
        clock.append({"kd_status": kd_status, "at": at.isoformat(), "event_id": event_id})
        try:
            with store.together() as batch:
                batch.update_application(
                    id_izin,
                    {"sla_jam": clock, "updated_at": now.isoformat()},
                    expect={"updated_at": application.get("updated_at")},
                )
                batch.append_audit(
                    id_izin,
                    {
                        "action": "sla.clock",
                        "step": application.get("current_step", 0),
                        "actor": "OSS",
                        "kd_status": kd_status,
                        "note": f"status OSS {kd_status}: {CLOCK[kd_status][1]}",
                    },
                    now=now,
                )
        except ConditionFailed:
            continue
        return True
    raise ConditionFailed(f"{id_izin}: the record kept changing while OSS {kd_status} was kept")


def record_moved(store: Store, id_izin: str, deadline: Deadline, *, now: datetime) -> None:
    """Keep in the trail that the step's deadline moved, and why."""
    store.append_audit(
        id_izin,
        {
            "action": "sla.moved",
            "step": deadline.step,
            "actor": "sistem",
            "note": f"batas waktu menjadi {deadline.deadline.isoformat()}: {deadline.moved}",
        },
        now=now,
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
