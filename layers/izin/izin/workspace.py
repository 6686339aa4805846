"""The officers' workspace (issue #14): /meja (my tasks, my decisions, search) and
/permohonan/{id_izin} (one application's page), behind a session (izin.sessions).

Everything is read through `store.applications(limit)` (GSI1, newest first; no Scan) and
per-application queries, bounded by `LISTED`. Who sees what: every role but the Tim
Teknis sees every application; a Tim Teknis member sees those whose step 7 names them
(ketua or anggota) or that they hold now.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from izin import sessions, signin, swimlane
from izin.auth import Auth
from izin.formats import tanggal_waktu
from izin.observability import logger
from izin.pages import TITLES, history
from izin.roster import Officer
from izin.sop import ROLE_TITLES, Role
from izin.store import Store
from izin.tasks.context import Page, Request
from izin.tasks.page import HISTORY_ACTIONS
from izin.templating import render

# How many applications (newest first) the workspace looks through on one page.
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
    if sees_all(officer):
        return True
    if (application.get("holder") or {}).get("nip") == officer.nip:
        return True
    team = store.step_data(str(application["id_izin"]), TEAM_STEP)
    anggota = team.get("anggota") or []
    return team.get("ketua") == officer.nip or officer.nip in anggota


def visible(store: Store, officer: Officer, limit: int = LISTED) -> list[dict[str, Any]]:
    """The applications the officer may see, newest first."""
    return [a for a in store.applications(limit) if may_see(store, officer, a)]


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


def meja_page(request: Request, auth: Auth, *, method: str) -> Page:
    """/meja: Tugas saya, Cari (?q=), Riwayat saya."""
    signed = signin.gate(request, auth, method=method)
    if isinstance(signed, Page):
        return signed
    officer = signed.officer
    applications = visible(auth.store, officer)
    query = str(request.query.get("q", "")).strip()
    error = f"Kata kunci paling panjang {MAX_QUERY} karakter." if len(query) > MAX_QUERY else ""
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
    )
    return Page(400 if error else 200, html)


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
