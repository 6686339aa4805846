"""The Kepala Bidang's morning digest (issue #15): each working morning, one email listing
the open applications that are overdue at their step, due today, or at risk of fiktif
positif, with a link to each one's page (behind sign-in; no ticket in it).

Run by DigestFunction on a weekday schedule (template.yaml); on a day off (libur nasional,
cuti bersama, the Dinas's own) it sends nothing. No email when nothing is at risk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from izin.calendar import HolidayCalendar, to_wib
from izin.mail import Mailer
from izin.risk import Assessed, Risk, StepState
from izin.roster import Roster
from izin.sop import Role
from izin.store import Item
from izin.templating import render_email


class AtRisk(Assessed):
    """One application in the digest, and why it is there."""

    @property
    def why(self) -> str:
        reasons = []
        if self.risk.step_state == StepState.TERLAMBAT:
            reasons.append("langkah terlambat")
        elif self.risk.step_state == StepState.HARI_INI:
            reasons.append("jatuh tempo hari ini")
        if self.risk.fiktif:
            reasons.append(f"berisiko fiktif positif (sisa {self.risk.days_left} hari kerja)")
        return "; ".join(reasons)


def at_risk(
    applications: Iterable[Item], assess: Callable[[Mapping[str, Any]], Risk]
) -> list[AtRisk]:
    """The open applications overdue, due today or at risk of fiktif positif; the fewest
    hari kerja left first."""
    found = []
    for application in applications:
        if application.get("status") == "SELESAI":
            continue
        risk = assess(application)
        if risk.fiktif or risk.step_state in (StepState.TERLAMBAT, StepState.HARI_INI):
            found.append(AtRisk(application, risk))
    found.sort(key=lambda r: r.risk.days_left)
    return found


def send_digest(
    applications: Iterable[Item],
    *,
    assess: Callable[[Mapping[str, Any]], Risk],
    roster: Roster,
    mailer: Mailer,
    calendar: HolidayCalendar,
    public_base_url: str,
    now: datetime,
) -> dict[str, Any]:
    """Email the Kepala Bidang today's digest; nothing on a day off or with nothing at risk."""
    today = to_wib(now).date()
    if not calendar.is_working_day(today):
        return {"sent": False, "reason": "hari libur"}
    rows = at_risk(applications, assess)
    if not rows:
        return {"sent": False, "reason": "tidak ada yang berisiko", "count": 0}
    kepala_bidang = roster.first(Role.KEPALA_BIDANG)
    context = {
        "officer": kepala_bidang,
        "rows": rows,
        "today": today,
        "base": public_base_url.rstrip("/"),
    }
    mailer.send(
        render_email(
            "digest",
            context,
            to=(str(kepala_bidang.email),),
            subject=f"[Izin Perluasan] Ringkasan pagi: {len(rows)} permohonan perlu perhatian",
            # About many applications, none alone: a bounce goes to the log, as enrollment's.
            id_izin="",
        )
    )
    return {"sent": True, "count": len(rows)}
