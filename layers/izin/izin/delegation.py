"""Delegation (issue #14): an officer, or the Kasi for their team, names a Plh (pelaksana
harian) or Plt (pelaksana tugas) for a range of dates, with a reason.

While a delegation is in force (its dates in WIB, from `mulai` through `selesai`), the
tasks issued to the officer go to the delegate (izin.tasks.issue asks `acting_for`): the
delegate's email, their Tugas saya, their session or code decides, and the documents they
sign print "Plh." before the officer's jabatan (Permendagri 1/2023). Naming a delegation
that is in force at once moves the officer's open tasks to the delegate; ending it moves
the ones the delegate still holds for them back.

Who may act for whom. A Plh/Plt of the same role; or, as the Dinas's SOP allows and the
BKN's rule on Plh/Plt says (an official of the same level or one level below, in the same
unit), the structural official directly below: the Kasi for the Kepala Bidang, the Kepala
Bidang for the Kepala Dinas. Anyone else (an Operator for the Kasi, a Tim Teknis member
for the Kepala Bidang) is refused with the reason on the page.

Stored in the officer's partition (`OFFICER#{nip}`/`DELEGATION#{id}`), and indexed in one
item, who may be away (`DELEGATIONS`/`AWAY`: each officer's latest delegation's last day).
Whether an officer is away now reads the index (with the roster, in one batch) and Queries
the officer's delegations only while the index says one may be in force: a task is issued
with no Query for an officer who named no Plh/Plt, and never a Scan. A table kept before
the index gets it from its first reader (one Query per officer on the roster, once). Each
delegation named or ended is written to the officer's own trail (`append_officer_audit`) and
to the log.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from izin.calendar import HolidayCalendar, to_wib
from izin.errors import TransientError
from izin.roster import Officer, Roster, RosterError
from izin.sop import ROLE_TITLES, SUPERVISOR, Role
from izin.store import ConditionFailed, Store

# The structural official who may be Plh/Plt of a role besides its own holders.
ONE_LEVEL_BELOW: dict[Role, Role] = {
    Role.KEPALA_BIDANG: Role.KASI,
    Role.KEPALA_DINAS: Role.KEPALA_BIDANG,
}
# A Plh covers a short absence (leave, duty travel); a longer one is a Plt by decree, and
# still fits: at most this many working days.
MAX_WORKING_DAYS = 65
MAX_REASON = 300
ACTIVE: Literal["aktif"] = "aktif"
ENDED: Literal["diakhiri"] = "diakhiri"
Jenis = Literal["Plh", "Plt"]


class DelegationRefused(ValueError):
    """A delegation the rules do not allow; the message (Indonesian) is shown on the page."""


class Delegation(BaseModel):
    """One Plh/Plt named for an officer."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")

    id: str
    jenis: Jenis = "Plh"
    nip: str  # the officer away
    nama: str
    role: Role
    jabatan: str
    delegate_nip: str
    delegate_nama: str
    mulai: date
    selesai: date
    hari_kerja: int
    alasan: str
    by_nip: str
    by_nama: str
    created_at: datetime
    status: Literal["aktif", "diakhiri"] = ACTIVE
    ended_at: datetime | None = None
    ended_by: str = ""

    def in_force(self, day: date) -> bool:
        """Whether the delegate acts for the officer on this date (WIB)."""
        return self.status == ACTIVE and self.mulai <= day <= self.selesai

    def overlaps(self, mulai: date, selesai: date) -> bool:
        """Whether this (not ended) delegation covers any day of [mulai, selesai]."""
        return self.status == ACTIVE and self.mulai <= selesai and mulai <= self.selesai


def today(now: datetime) -> date:
    """The date in WIB: a delegation's dates are the Dinas's."""
    return to_wib(now).date()


def may_act_for(delegate: Officer, officer: Officer) -> bool:
    """Whether `delegate` may be Plh/Plt of `officer`: the same role, or one level below."""
    if delegate.nip == officer.nip:
        return False
    return delegate.role == officer.role or ONE_LEVEL_BELOW.get(officer.role) == delegate.role


def may_delegate_for(by: Officer, officer: Officer) -> bool:
    """Whether `by` may name a Plh/Plt for `officer`: themself, or the Kasi for their team."""
    return by.nip == officer.nip or (
        by.role == Role.KASI and SUPERVISOR.get(officer.role) == Role.KASI
    )


def working_days(mulai: date, selesai: date, calendar: HolidayCalendar) -> int:
    """The hari kerja from `mulai` through `selesai`."""
    days = (selesai - mulai).days + 1
    return sum(calendar.is_working_day(mulai + timedelta(n)) for n in range(max(days, 0)))


def team(by: Officer, roster: Roster) -> tuple[Officer, ...]:
    """Whom `by` may name a delegate for: themself, and for the Kasi their team."""
    return tuple(o for o in roster.officers if may_delegate_for(by, o))


def candidates(officer: Officer, roster: Roster) -> tuple[Officer, ...]:
    """Who may be Plh/Plt of `officer`."""
    return tuple(o for o in roster.officers if may_act_for(o, officer))


def of(store: Store, nip: str) -> list[Delegation]:
    """The delegations named for an officer (one Query)."""
    return [Delegation.model_validate(item) for item in store.delegations(nip)]


def in_force(delegations: Iterable[Delegation], day: date) -> Delegation | None:
    """The delegation in force on `day`, if any (the newest, should two be)."""
    found = [d for d in delegations if d.in_force(day)]
    return max(found, key=lambda d: d.created_at) if found else None


def away_until(store: Store, roster: Roster) -> dict[str, str]:
    """Each officer's latest delegation's last day (ISO), as the index of who may be away
    keeps it; a table without the index yet gets it built from the delegations kept (one
    Query per officer on the roster, once per table)."""
    index = store.away_index()
    if index is not None:
        return {str(nip): str(day) for nip, day in index.get("sampai", {}).items()}
    sampai = _kept(store, roster)
    with contextlib.suppress(ConditionFailed):  # built meanwhile by another invocation
        store.replace_away_index({"sampai": sampai}, version=None)
    return sampai


def _kept(store: Store, roster: Roster) -> dict[str, str]:
    """The latest last day of each officer's delegations not ended, read one by one."""
    return {
        o.nip: max(d.selesai for d in kept).isoformat()
        for o in roster.officers
        if (kept := [d for d in of(store, o.nip) if d.status == ACTIVE])
    }


def may_be_away(store: Store, roster: Roster, nip: str, day: date) -> bool:
    """Whether a delegation of the officer may cover `day` or a later one (the index)."""
    return away_until(store, roster).get(nip, "") >= day.isoformat()


def in_force_for(store: Store, roster: Roster, nip: str, now: datetime) -> Delegation | None:
    """The delegation in force for the officer now, if any: one Query, and none while the
    index says no delegation of theirs reaches today."""
    day = today(now)
    return in_force(of(store, nip), day) if may_be_away(store, roster, nip, day) else None


# A conditional write of the index that lost to another one is tried again this many times.
INDEX_TRIES = 5


def _index_away(store: Store, roster: Roster, nip: str, selesai: date, now: datetime) -> None:
    """Note in the index that the officer may be away until `selesai`, before the delegation
    is kept (a delegation not kept after all only costs a Query until that day). The index
    only moves an officer's day later, and forgets the days past."""
    day = today(now).isoformat()
    for _ in range(INDEX_TRIES):
        index = store.away_index()
        sampai = _kept(store, roster) if index is None else dict(index.get("sampai", {}))
        sampai[nip] = max(str(sampai.get(nip, "")), selesai.isoformat())
        try:
            store.replace_away_index(
                {"sampai": {n: d for n, d in sampai.items() if d >= day}},
                version=None if index is None else int(index["version"]),
            )
            return
        except ConditionFailed:
            continue  # another delegation named meanwhile: read it again and add to it
    raise TransientError("the index of who may be away kept changing; try again")


def acting_for(
    officer: Officer, store: Store, roster: Roster, now: datetime
) -> tuple[Officer, dict[str, Any] | None]:
    """Who acts on a task meant for `officer` now: while a delegation is in force and its
    delegate is on the roster, the delegate and on whose behalf (`on_behalf`); else the
    officer and None."""
    found = in_force_for(store, roster, officer.nip, now)
    if found is None:
        return officer, None
    try:
        delegate = roster.by_nip(found.delegate_nip)
    except RosterError:
        return officer, None
    return delegate, on_behalf(officer, found)


def check(
    *,
    by: Officer,
    officer: Officer,
    delegate: Officer,
    mulai: date,
    selesai: date,
    alasan: str,
    calendar: HolidayCalendar,
    now: datetime,
    existing: Iterable[Delegation] = (),
    delegate_away: Iterable[Delegation] = (),
) -> int:
    """The hari kerja of a delegation the rules allow; DelegationRefused says why not."""
    if not may_delegate_for(by, officer):
        raise DelegationRefused(
            f"{by.nama} tidak dapat menunjuk Plh/Plt untuk {officer.nama}: hanya petugas itu "
            "sendiri atau Kasi bagi timnya."
        )
    if delegate.nip == officer.nip:
        raise DelegationRefused("Plh/Plt harus petugas lain.")
    if not may_act_for(delegate, officer):
        below = ONE_LEVEL_BELOW.get(officer.role)
        allowed = ROLE_TITLES[officer.role] + (f" atau {ROLE_TITLES[below]}" if below else "")
        raise DelegationRefused(
            f"{delegate.nama} ({ROLE_TITLES[delegate.role]}) tidak dapat menjadi Plh/Plt "
            f"{ROLE_TITLES[officer.role]}: Plh/Plt harus {allowed}."
        )
    if not alasan.strip():
        raise DelegationRefused("Tuliskan alasannya (cuti, dinas luar, sakit, …).")
    if len(alasan) > MAX_REASON:
        raise DelegationRefused(f"Alasan paling panjang {MAX_REASON} karakter.")
    if mulai < today(now):
        raise DelegationRefused("Tanggal mulai tidak boleh sebelum hari ini.")
    if selesai < mulai:
        raise DelegationRefused("Tanggal selesai tidak boleh sebelum tanggal mulai.")
    days = working_days(mulai, selesai, calendar)
    if days == 0:
        raise DelegationRefused("Rentang tanggal itu tidak memuat satu hari kerja pun.")
    if days > MAX_WORKING_DAYS:
        raise DelegationRefused(f"Paling lama {MAX_WORKING_DAYS} hari kerja.")
    if any(d.overlaps(mulai, selesai) for d in existing):
        raise DelegationRefused(f"{officer.nama} sudah mempunyai Plh/Plt pada tanggal itu.")
    if any(d.overlaps(mulai, selesai) for d in delegate_away):
        raise DelegationRefused(
            f"{delegate.nama} sendiri berhalangan (mempunyai Plh/Plt) pada tanggal itu."
        )
    return days


def name_delegate(
    *,
    store: Store,
    roster: Roster,
    calendar: HolidayCalendar,
    by: Officer,
    officer_nip: str,
    delegate_nip: str,
    mulai: date,
    selesai: date,
    alasan: str,
    now: datetime,
    jenis: Jenis = "Plh",
) -> Delegation:
    """Keep a delegation the rules allow, and note it in the officer's trail."""
    try:
        officer = roster.by_nip(officer_nip)
        delegate = roster.by_nip(delegate_nip)
    except RosterError:
        raise DelegationRefused("Petugas itu tidak ada di daftar petugas.") from None
    days = check(
        by=by,
        officer=officer,
        delegate=delegate,
        mulai=mulai,
        selesai=selesai,
        alasan=alasan,
        calendar=calendar,
        now=now,
        existing=of(store, officer.nip),
        delegate_away=of(store, delegate.nip),
    )
    delegation = Delegation(
        id=f"{mulai.isoformat()}-{secrets.token_hex(4)}",
        jenis=jenis,
        nip=officer.nip,
        nama=officer.nama,
        role=officer.role,
        jabatan=officer.jabatan,
        delegate_nip=delegate.nip,
        delegate_nama=delegate.nama,
        mulai=mulai,
        selesai=selesai,
        hari_kerja=days,
        alasan=alasan.strip(),
        by_nip=by.nip,
        by_nama=by.nama,
        created_at=now,
    )
    _index_away(store, roster, officer.nip, selesai, now)
    if not store.put_delegation(officer.nip, delegation.id, delegation.model_dump(mode="json")):
        raise ConditionFailed(f"delegation {delegation.id} exists")
    store.append_officer_audit(
        officer.nip,
        {
            "action": "delegation.named",
            "delegation": delegation.id,
            "actor": by.nama,
            "nip": by.nip,
            "delegate": delegate.nama,
            "delegate_nip": delegate.nip,
            "mulai": mulai.isoformat(),
            "selesai": selesai.isoformat(),
            "alasan": delegation.alasan,
        },
        now=now,
    )
    return delegation


def end_delegation(
    *,
    store: Store,
    roster: Roster,
    by: Officer,
    officer_nip: str,
    delegation_id: str,
    now: datetime,
) -> Delegation:
    """End (or cancel, before it starts) a delegation: by the officer, the Kasi for their
    team, or the delegate themself."""
    found = next((d for d in of(store, officer_nip) if d.id == delegation_id), None)
    if found is None or found.status != ACTIVE:
        raise DelegationRefused("Delegasi itu tidak ada atau sudah diakhiri.")
    try:
        allowed = may_delegate_for(by, roster.by_nip(officer_nip))
    except RosterError:
        allowed = False
    if not allowed and by.nip != found.delegate_nip:
        raise DelegationRefused(f"{by.nama} tidak dapat mengakhiri delegasi itu.")
    try:
        item = store.update_delegation(
            officer_nip,
            delegation_id,
            {"status": ENDED, "ended_at": now.isoformat(), "ended_by": by.nama},
            expect={"status": ACTIVE},
        )
    except ConditionFailed:
        raise DelegationRefused("Delegasi itu sudah diakhiri.") from None
    store.append_officer_audit(
        officer_nip,
        {
            "action": "delegation.ended",
            "delegation": delegation_id,
            "actor": by.nama,
            "nip": by.nip,
            "delegate_nip": found.delegate_nip,
        },
        now=now,
    )
    return Delegation.model_validate(item)


def on_behalf(officer: Officer, delegation: Delegation) -> dict[str, Any]:
    """What a ticket keeps of the officer a delegate acts for (no secret, no email)."""
    return {
        "jenis": delegation.jenis,
        "delegation": delegation.id,
        "nama": officer.nama,
        "nip": officer.nip,
        "role": officer.role.value,
        "jabatan": officer.jabatan,
    }


def plh_jabatan(jenis: str, jabatan: str) -> str:
    """The jabatan line a Plh/Plt signs under: "Plh. Kepala Bidang Perindustrian"."""
    return f"{jenis}. {jabatan}"


def acted_for(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """What a Plh/Plt's decision keeps of on whose behalf it was taken: its documents and
    seal say so (`plh_untuk`); nothing for an officer's own."""
    behalf = ticket.get("atas_nama")
    return {"plh_untuk": dict(behalf)} if behalf else {}
