"""The officers' workspace (issue #14): /meja (my tasks, my decisions, search) and
/permohonan/{id_izin} (one application's page), behind a session (izin.sessions).

A page looks through the newest `LISTED` applications and every older one still open
(`worked_on`: GSI1 Queries, newest first; no Scan), with per-application queries: a task
on an old, stalled application is listed however many came after it. Who sees what: every
role but the Tim Teknis sees every application; a Tim Teknis member sees those whose step
7 names them (ketua or anggota) or that they hold now.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from izin import delegation, pool, sessions, signin, swimlane
from izin.auth import Auth
from izin.calendar import HolidayCalendar
from izin.formats import tanggal, tanggal_waktu
from izin.mail import Mailer
from izin.observability import logger
from izin.pages import TITLES, history
from izin.roster import Officer
from izin.sop import ROLE_TITLES, Role
from izin.store import EVERY_APPLICATION, Store
from izin.tasks.context import Page, Request
from izin.tasks.issue import move_open_tasks
from izin.tasks.page import HISTORY_ACTIONS
from izin.templating import render

# How many of the newest applications the workspace looks through on one page (besides
# every older one still open): what search and Riwayat saya reach.
LISTED = 100
# How many of my decisions /meja shows, read from the trails of how many applications (one
# query each: the newest, so a page stays quick).
RIWAYAT = 20
RIWAYAT_LISTED = 40
# Who may download an application's audit ZIP (izin.audit_export): the console's roles.
EXPORT_ROLES = frozenset({Role.KEPALA_BIDANG, Role.KEPALA_DINAS, Role.ADMIN})
# The step whose answer names the Tim Teknis (ketua, anggota).
TEAM_STEP = 7


def sees_all(officer: Officer) -> bool:
    """Operator, Kasi, Kepala Bidang, Kepala Dinas (and any role added later, e.g. an
    admin) see every application; only the Tim Teknis is limited to its assignments."""
    return officer.role != Role.TIM_TEKNIS


def may_see(store: Store, officer: Officer, application: Mapping[str, Any]) -> bool:
    """Whether the officer may open this application's page."""
    if sees_all(officer) or _holds(officer, application):
        return True
    return _in_team(store.step_data(str(application["id_izin"]), TEAM_STEP), officer)


def worked_on(store: Store, limit: int = LISTED) -> list[dict[str, Any]]:
    """The newest `limit` applications, then every older one not yet at its outcome, newest
    first (one Query when there are fewer than `limit`)."""
    newest = store.applications(limit)
    if len(newest) < limit:
        return newest
    listed = {str(a["id_izin"]) for a in newest}
    older = store.open_applications(until=str(newest[-1]["created_at"]))
    return newest + [a for a in older if str(a["id_izin"]) not in listed]


def mark_open_applications(store: Store) -> list[str]:
    """Give every application not at its outcome that has no open marker its marker (those
    received before the markers existed): once, after the deploy that brought them, so the
    workspace lists them whatever their age (`izin backfill-open`). The ones marked."""
    return [
        str(a["id_izin"])
        for a in store.applications(EVERY_APPLICATION)
        if a.get("status") != "SELESAI" and store.mark_open(str(a["id_izin"]), a["created_at"])
    ]


def visible(
    store: Store, officer: Officer, applications: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Those of `applications` the officer may see, in their order (a Tim Teknis member's:
    the team step of every one read together)."""
    if sees_all(officer):
        return [dict(a) for a in applications]
    teams = store.step_data_of((str(a["id_izin"]) for a in applications), TEAM_STEP)
    return [
        dict(a)
        for a in applications
        if _holds(officer, a) or _in_team(teams.get(str(a["id_izin"])) or {}, officer)
    ]


def _holds(officer: Officer, application: Mapping[str, Any]) -> bool:
    return (application.get("holder") or {}).get("nip") == officer.nip


def _in_team(team: Mapping[str, Any], officer: Officer) -> bool:
    return team.get("ketua") == officer.nip or officer.nip in (team.get("anggota") or [])


def company(application: Mapping[str, Any]) -> str:
    """The applicant company's name."""
    data = application.get("data") or {}
    return str((data.get("perusahaan") or {}).get("nama", ""))


def my_tasks(
    applications: Sequence[Mapping[str, Any]], officer: Officer, now: datetime
) -> list[dict[str, Any]]:
    """The officer's open tasks: applications in PROSES that they hold, with an open ticket;
    overdue first, then by deadline (none last)."""
    rows = []
    for a in applications:
        holder = a.get("holder") or {}
        if a.get("status") != "PROSES" or holder.get("nip") != officer.nip:
            continue
        if not a.get("open_ticket"):
            continue
        deadline = datetime.fromisoformat(str(a["deadline"])) if a.get("deadline") else None
        rows.append(
            {
                "id_izin": a["id_izin"],
                "step": a.get("current_step") or "",
                "step_name": a.get("step_name", ""),
                "company": company(a),
                "atas_nama": holder.get("atas_nama", ""),
                "deadline": tanggal_waktu(deadline) if deadline else "",
                "overdue": deadline is not None and deadline < now,
                "sla": _sla_text(deadline, now),
                "_sort": (deadline is None, deadline or now),
            }
        )
    rows.sort(key=lambda r: r.pop("_sort"))
    return rows


def _sla_text(deadline: datetime | None, now: datetime) -> str:
    if deadline is None:
        return "tanpa batas waktu"
    hours = int(abs((deadline - now).total_seconds()) // 3600)
    span = f"{hours // 24} hari {hours % 24} jam" if hours >= 24 else f"{hours} jam"
    return f"terlambat {span}" if deadline < now else f"sisa {span}"


def my_decisions(
    store: Store, applications: Sequence[Mapping[str, Any]], officer: Officer, limit: int = RIWAYAT
) -> list[dict[str, Any]]:
    """What the officer decided (the trail's task.decided with their NIP), newest first."""
    rows = []
    for a in applications:
        for entry in store.audit(str(a["id_izin"])):
            if entry.get("action") == "task.decided" and entry.get("nip") == officer.nip:
                shown = history([entry], HISTORY_ACTIONS)[0]
                rows.append(
                    {
                        "id_izin": a["id_izin"],
                        "company": company(a),
                        "step": entry.get("step") or "",
                        "at": str(entry.get("at", "")),
                        "text": shown["text"],
                    }
                )
    rows.sort(key=lambda r: r["at"], reverse=True)
    return rows[:limit]


def search(applications: Sequence[Mapping[str, Any]], query: str) -> list[Mapping[str, Any]]:
    """The applications whose id, company, NIB or KBLI contain `query` (case-insensitive)."""
    wanted = query.strip().casefold()
    if not wanted:
        return []
    found = []
    for a in applications:
        data = a.get("data") or {}
        haystack = (str(a.get("id_izin", "")), company(a), str(data.get("nib", "")))
        kbli = data.get("kbli", "")
        kblis = [str(k) for k in kbli] if isinstance(kbli, list) else [str(kbli)]
        if any(wanted in text.casefold() for text in (*haystack, *kblis)):
            found.append(a)
    return found


def documents(store: Store, id_izin: str, presign: Callable[[str], str]) -> list[dict[str, Any]]:
    """Each document in SOP order, its versions newest first, each with a short-lived link."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in store.document_versions(id_izin):
        by_kind.setdefault(str(item["jenis"]), []).append(dict(item))
    shown = []
    for jenis, title in TITLES.items():
        versions = sorted(by_kind.get(jenis, []), key=lambda i: int(i["versi"]), reverse=True)
        if versions:
            shown.append(
                {
                    "judul": title,
                    "versions": [
                        {
                            "versi": int(v["versi"]),
                            "nomor": v.get("nomor", ""),
                            "sealed": bool(v.get("sealed")),
                            "created_at": str(v.get("created_at", "")),
                            "url": presign(str(v["key"])),
                            "pdf_url": presign(str(v["pdf_key"])) if v.get("pdf_key") else "",
                        }
                        for v in versions
                    ],
                }
            )
    return shown


def application_view(
    store: Store, application: Mapping[str, Any], presign: Callable[[str], str]
) -> dict[str, Any]:
    """What /permohonan/{id_izin} shows: the SOP position, history, documents, holder."""
    id_izin = str(application["id_izin"])
    trail = store.audit(id_izin)
    holder = application.get("holder") or {}
    role = holder.get("role", "")
    try:
        role_title = ROLE_TITLES[Role(role)]
    except ValueError:  # "sistem": the workflow holds it between officers
        role_title = ""
    deadline = application.get("deadline")
    return {
        "application": application,
        "company": company(application),
        "svg": swimlane.svg(swimlane.progress_of(application, trail), title=f"Posisi {id_izin}"),
        "history": history(trail, HISTORY_ACTIONS),
        "documents": documents(store, id_izin, presign),
        "holder": {**holder, "role_title": role_title},
        "deadline": tanggal_waktu(datetime.fromisoformat(str(deadline))) if deadline else "",
    }


# -- the pages ---------------------------------------------------------------------------------

MAX_QUERY = 100


@dataclass(frozen=True)
class Desk:
    """What /meja's forms need besides the session: the hari kerja calendar (read only
    when a delegation is named), the mail and the links' base (a task moved)."""

    calendar: Callable[[], HolidayCalendar]
    mailer: Mailer
    public_base_url: str
    same_site: bool

    def issuing(self, auth: Auth) -> dict[str, Any]:
        """What moving a task takes: the table, the mail, the roster, the links' base, now."""
        return {
            "store": auth.store,
            "mailer": self.mailer,
            "roster": auth.roster,
            "public_base_url": self.public_base_url,
            "now": auth.now,
        }


def meja_page(request: Request, auth: Auth, *, method: str, desk: Desk | None = None) -> Page:
    """/meja: Tugas saya, Plh/Plt, the team's pool, Cari (?q=), Riwayat saya; POST: name or
    end a delegation, claim a task from the pool."""
    if method == "POST" and desk is not None:
        signed_in = sessions.signed_in(request.cookies, auth)
        if signed_in is None:
            return Page(401, render("pages/redirect.html.j2", location="/masuk"))
        return _act(request, auth, signed_in, desk)
    signed = signin.gate(request, auth, method=method)
    if isinstance(signed, Page):
        return signed
    return _meja(request, auth, signed)


def _meja(
    request: Request,
    auth: Auth,
    signed: sessions.SignedIn,
    *,
    status: int = 200,
    action_error: str = "",
    form: Mapping[str, str] | None = None,
) -> Page:
    officer = signed.officer
    current = worked_on(auth.store)
    applications = visible(auth.store, officer, current)
    query = str(request.query.get("q", "")).strip()
    error = f"Kata kunci paling panjang {MAX_QUERY} karakter." if len(query) > MAX_QUERY else ""
    pooled = (
        pool.pool(current, auth.store, auth.roster, auth.now)
        if officer.role in pool.team_roles() or officer.role == Role.KASI
        else []
    )
    html = render(
        "pages/meja.html.j2",
        signed=signed,
        csrf=sessions.form_token(auth, signed, "keluar"),
        error=False,
        tasks=my_tasks(applications, officer, auth.now),
        decided=my_decisions(auth.store, applications[:RIWAYAT_LISTED], officer),
        query=query[:MAX_QUERY],
        query_error=error,
        found=[] if error else search(applications, query),
        company=company,
        delegations=delegations_shown(auth, officer),
        delegation_form={
            "for": delegation.team(officer, auth.roster),
            "delegates": [o for o in auth.roster.officers if o.role in ACTING_ROLES],
            "csrf": sessions.form_token(auth, signed, "delegasi"),
            "today": delegation.today(auth.now).isoformat(),
            "values": dict(form or {}),
        },
        end_token=lambda d: sessions.form_token(auth, signed, f"akhiri:{d['id']}"),
        pooled=[{**a, "claimable": pool.may_claim(officer, a)} for a in pooled],
        claim_token=lambda id_izin: sessions.form_token(auth, signed, f"ambil:{id_izin}"),
        role_titles={r.value: t for r, t in ROLE_TITLES.items()},
        notice=NOTICES.get(str(request.query.get("selesai", "")), ""),
        action_error=action_error,
    )
    return Page(status if not error else 400, html)


# Roles that act on SOP steps: the ones a Plh/Plt is named among.
ACTING_ROLES = frozenset(
    {Role.OPERATOR, Role.KASI, Role.KEPALA_BIDANG, Role.TIM_TEKNIS, Role.KEPALA_DINAS}
)
NOTICES = {
    "delegasi": "Plh/Plt tercatat.",
    "akhiri": "Delegasi diakhiri.",
    "ambil": "Tugas diambil dari pool dan kini ada di Tugas saya.",
}
EXPIRED = "Formulir kedaluwarsa; muat ulang halaman lalu coba lagi."


def delegations_shown(auth: Auth, officer: Officer) -> list[dict[str, Any]]:
    """The delegations /meja lists, not ended and not past: those named for the officer
    (and, for the Kasi, their team) and those naming them Plh/Plt, with who may end them."""
    today = delegation.today(auth.now)
    mine = {o.nip for o in delegation.team(officer, auth.roster)}
    acted_for = {o.nip for o in auth.roster.officers if delegation.may_act_for(officer, o)}
    rows = []
    for nip in sorted(mine | acted_for):
        if not delegation.may_be_away(auth.store, auth.roster, nip, today):
            continue  # no delegation of theirs reaches today: none to list
        for d in delegation.of(auth.store, nip):
            if d.status != delegation.ACTIVE or d.selesai < today:
                continue
            if nip not in mine and d.delegate_nip != officer.nip:
                continue
            rows.append(
                {
                    **d.model_dump(mode="json"),
                    "role_title": ROLE_TITLES[d.role],
                    "mulai_text": tanggal(d.mulai),
                    "selesai_text": tanggal(d.selesai),
                    "in_force": d.in_force(today),
                }
            )
    rows.sort(key=lambda r: (r["mulai"], r["nama"]))
    return rows


def _act(request: Request, auth: Auth, signed: sessions.SignedIn, desk: Desk) -> Page:
    """POST /meja: the form's `aksi` (delegasi, akhiri, ambil), with its CSRF token."""
    form = {k: (v or [""])[-1].strip() for k, v in request.form.items()}
    aksi = form.get("aksi", "")
    purpose = {
        "delegasi": "delegasi",
        "akhiri": f"akhiri:{form.get('id', '')}",
        "ambil": f"ambil:{form.get('id_izin', '')}",
    }.get(aksi)
    if purpose is None or not desk.same_site:
        return _meja(Request(""), auth, signed, status=403, action_error=EXPIRED)
    if not sessions.form_token_ok(auth, signed, purpose, form.get("csrf", "")):
        return _meja(Request(""), auth, signed, status=403, action_error=EXPIRED)
    try:
        if aksi == "delegasi":
            _name(form, auth, signed.officer, desk)
        elif aksi == "akhiri":
            _end(form, auth, signed.officer, desk)
        else:
            _claim(form, auth, signed.officer, desk)
    except delegation.DelegationRefused as refused:
        logger.info("workspace form refused", extra={"aksi": aksi, "nip": signed.officer.nip})
        shown_form = form if aksi == "delegasi" else None
        return _meja(
            Request(""), auth, signed, status=422, action_error=str(refused), form=shown_form
        )
    except pool.NotClaimable:
        return _meja(
            Request(""),
            auth,
            signed,
            status=409,
            action_error="Tugas itu tidak ada lagi di pool (sudah diambil atau diputuskan).",
        )
    location = f"/meja?selesai={aksi}"
    return Page(303, render("pages/redirect.html.j2", location=location), {"location": location})


def _name(form: Mapping[str, str], auth: Auth, by: Officer, desk: Desk) -> None:
    try:
        mulai = date.fromisoformat(form.get("mulai", ""))
        selesai = date.fromisoformat(form.get("selesai", ""))
    except ValueError:
        raise delegation.DelegationRefused("Isi tanggal mulai dan selesai.") from None
    jenis: delegation.Jenis = "Plt" if form.get("jenis") == "Plt" else "Plh"
    named = delegation.name_delegate(
        store=auth.store,
        roster=auth.roster,
        calendar=desk.calendar(),
        by=by,
        officer_nip=form.get("untuk", ""),
        delegate_nip=form.get("plh", ""),
        mulai=mulai,
        selesai=selesai,
        alasan=form.get("alasan", ""),
        now=auth.now,
        jenis=jenis,
    )
    logger.info("delegation named", extra={"nip": named.nip, "delegation": named.id})
    if named.in_force(delegation.today(auth.now)):
        # In force today: what the officer holds now goes to the delegate at once.
        officer = auth.roster.by_nip(named.nip)
        _move(
            auth,
            desk,
            lambda h: h.get("nip") == named.nip and not h.get("atas_nama_nip"),
            named.delegate_nip,
            by=by,
            behalf=delegation.on_behalf(officer, named),
            action="task.delegated",
            reason=f"{named.jenis} selama {named.nama} berhalangan: {named.alasan}",
        )


def _end(form: Mapping[str, str], auth: Auth, by: Officer, desk: Desk) -> None:
    ended = delegation.end_delegation(
        store=auth.store,
        roster=auth.roster,
        by=by,
        officer_nip=form.get("untuk", ""),
        delegation_id=form.get("id", ""),
        now=auth.now,
    )
    logger.info("delegation ended", extra={"nip": ended.nip, "delegation": ended.id})
    if ended.nip in {o.nip for o in auth.roster.officers}:
        # What the delegate still holds for the officer goes back to them.
        _move(
            auth,
            desk,
            lambda h: h.get("nip") == ended.delegate_nip and h.get("atas_nama_nip") == ended.nip,
            ended.nip,
            by=by,
            behalf=None,
            action="task.returned",
            reason=f"{ended.jenis} {ended.delegate_nama} berakhir",
        )


def _move(
    auth: Auth,
    desk: Desk,
    holds: Callable[[Mapping[str, Any]], bool],
    to_nip: str,
    *,
    by: Officer,
    behalf: Mapping[str, Any] | None,
    action: str,
    reason: str,
) -> None:
    move_open_tasks(
        holds,
        to_nip,
        **desk.issuing(auth),
        by={"nama": by.nama, "nip": by.nip},
        reason=reason,
        behalf=behalf,
        action=action,
    )


def _claim(form: Mapping[str, str], auth: Auth, officer: Officer, desk: Desk) -> None:
    id_izin = form.get("id_izin", "")
    pool.claim(id_izin, officer, **desk.issuing(auth))
    logger.info("task claimed from the pool", extra={"id_izin": id_izin, "nip": officer.nip})


def application_page(
    request: Request, auth: Auth, id_izin: str, presign: Callable[[str], str], *, method: str
) -> Page:
    """/permohonan/{id_izin}: one application, to an officer who may see it (else 403)."""
    signed = signin.gate(request, auth, method=method)
    if isinstance(signed, Page):
        return signed
    application = auth.store.application(id_izin)
    if application is None:
        return Page(404, render("pages/not_found.html.j2"))
    if not may_see(auth.store, signed.officer, application):
        logger.warning("application page refused", extra={"nip": signed.officer.nip})
        return Page(403, render("pages/forbidden.html.j2", signed=signed))
    mine = (application.get("holder") or {}).get("nip") == signed.officer.nip and bool(
        application.get("open_ticket")
    )
    view = application_view(auth.store, application, presign)
    may_export = signed.officer.role in EXPORT_ROLES
    return Page(200, render("pages/permohonan.html.j2", mine=mine, may_export=may_export, **view))
