"""The Kasi's pool (issue #14): the team's tasks nobody can act on, which a member of the
team may claim from /meja (a candidate group, as Camunda's Tasklist has it).

The Kasi's team is the roles the Kasi supervises (izin.sop.SUPERVISOR): the Operator and
the Tim Teknis. A task is in the pool, unassigned, when it is open, of a team role, and
its holder cannot act on it:
- the holder is no longer on the roster (left the Dinas, moved, made inactive), or
- the holder is away today (a Plh/Plt is in force for them) yet still holds the task: it
  was issued before the delegation began, or the delegate left the roster.
A task a Plh/Plt holds for an absent officer is assigned, and is not in the pool.

A member of the task's role (not its holder) claims it: the task is moved to them as a
reassignment is (new ticket and email, the old link void, the role theirs for the
application's later steps), and the trail says "task.claimed".
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from izin import delegation
from izin.mail import Mailer
from izin.roster import Officer, Roster, RosterError
from izin.sop import SUPERVISOR, Role
from izin.store import Store
from izin.tasks.issue import TicketNotOpen, reassign_task


class NotClaimable(LookupError):
    """A claim for a task that is not (or no longer) in the pool, or not the claimer's role."""


def team_roles() -> frozenset[Role]:
    """The roles of the Kasi's team."""
    return frozenset(role for role, boss in SUPERVISOR.items() if boss == Role.KASI)


def in_pool(
    application: Mapping[str, Any],
    store: Store,
    roster: Roster,
    now: datetime,
    away: Callable[[str], bool] | None = None,
) -> bool:
    """Whether the application's open task is unassigned in the sense above (`away`, the
    officers away today by NIP: one Query each, asked once per page)."""
    holder = application.get("holder") or {}
    if application.get("status") != "PROSES" or not application.get("open_ticket"):
        return False
    if holder.get("role") not in {r.value for r in team_roles()} or holder.get("atas_nama_nip"):
        return False
    nip = str(holder.get("nip") or "")
    try:
        roster.by_nip(nip)
    except RosterError:
        return True
    return (away or _away(store, roster, now))(nip)


def _away(store: Store, roster: Roster, now: datetime) -> Callable[[str], bool]:
    @functools.cache
    def away(nip: str) -> bool:
        return delegation.in_force_for(store, roster, nip, now) is not None

    return away


def pool(
    applications: Sequence[Mapping[str, Any]], store: Store, roster: Roster, now: datetime
) -> list[Mapping[str, Any]]:
    """The applications whose open task is in the pool, newest first."""
    away = _away(store, roster, now)
    return [a for a in applications if in_pool(a, store, roster, now, away)]


def may_claim(officer: Officer, application: Mapping[str, Any]) -> bool:
    """Whether `officer` may claim the application's pooled task: a member of the team of
    the task's role, not its holder."""
    holder = application.get("holder") or {}
    return (
        officer.role in team_roles()
        and holder.get("role") == officer.role.value
        and holder.get("nip") != officer.nip
    )


def claim(
    id_izin: str,
    officer: Officer,
    *,
    store: Store,
    mailer: Mailer,
    roster: Roster,
    public_base_url: str,
    now: datetime,
) -> None:
    """Move the application's pooled task to `officer` (NotClaimable when it cannot be)."""
    application = store.application(id_izin)
    if application is None or not in_pool(application, store, roster, now):
        raise NotClaimable(id_izin)
    if not may_claim(officer, application):
        raise NotClaimable(id_izin)
    try:
        reassign_task(
            str(application["open_ticket"]),
            officer.nip,
            store=store,
            mailer=mailer,
            roster=roster,
            public_base_url=public_base_url,
            now=now,
            by={"nama": officer.nama, "nip": officer.nip},
            reason="diambil dari pool tim Kasi",
            action="task.claimed",
        )
    except TicketNotOpen:  # decided, or claimed by another member, meanwhile
        raise NotClaimable(id_izin) from None
