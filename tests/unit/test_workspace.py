"""The officers' workspace (issue #14) on the in-memory store: my tasks, my decisions, search,
who sees which application, and the session's way into a task (/meja/tugas/{id_izin})."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from izin import progress, sessions, workspace
from izin.memory_store import MemoryStore
from izin.roster import Officer, Role, load_roster
from izin.tasks import Request
from izin.tickets import Status, ticket_hash
from izin_local import samples
from izin_local.testing import ROSTER as ROSTER_FILE
from izin_local.testing import local_auth

from tests.unit.conftest import DOOR_ID

ROSTER = load_roster(ROSTER_FILE)
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
TEAM = ROSTER.holders(Role.TIM_TEKNIS)


def application(
    store: MemoryStore,
    id_izin: str,
    *,
    holder: Officer | None = None,
    status: str = "PROSES",
    deadline: datetime | None = None,
    nama: str = "PT Sawit Kapuas Lestari",
    nib: str = "9120301234567",
    kbli: str = "10431",
    received: datetime = NOW,
) -> None:
    data = samples.permohonan(id_izin)
    data["perusahaan"]["nama"], data["nib"], data["kbli"] = nama, nib, kbli
    fields: dict[str, Any] = {
        "id_izin": id_izin,
        "data": data,
        "status": status,
        "created_at": received.isoformat(),
        "current_step": 6,
        "step_name": "Disposisi",
    }
    if holder is not None:
        fields["holder"] = {"role": holder.role.value, "nama": holder.nama, "nip": holder.nip}
        fields["open_ticket"] = "h-" + id_izin
    if deadline is not None:
        fields["deadline"] = deadline.isoformat()
    store.create_application(id_izin, fields)


def test_my_tasks_are_mine_in_proses_overdue_first() -> None:
    store, kasi, kabid = MemoryStore(), ROSTER.first(Role.KASI), ROSTER.first(Role.KEPALA_BIDANG)
    application(store, "IP-LATER", holder=kasi, deadline=NOW + timedelta(days=2, hours=3))
    application(store, "IP-LATE", holder=kasi, deadline=NOW - timedelta(hours=5))
    application(store, "IP-NONE", holder=kasi)
    application(store, "IP-OTHER", holder=kabid, deadline=NOW)
    application(store, "IP-DONE", holder=kasi, status="SELESAI", deadline=NOW)
    rows = workspace.my_tasks(store.applications(), kasi, NOW)
    assert [r["id_izin"] for r in rows] == ["IP-LATE", "IP-LATER", "IP-NONE"]
    assert rows[0]["overdue"] and rows[0]["sla"] == "terlambat 5 jam"
    assert not rows[1]["overdue"] and rows[1]["sla"] == "sisa 2 hari 3 jam"
    assert rows[2]["sla"] == "tanpa batas waktu"


def test_my_decisions_are_the_trails_decisions_with_my_nip_newest_first() -> None:
    store, kasi, kabid = MemoryStore(), ROSTER.first(Role.KASI), ROSTER.first(Role.KEPALA_BIDANG)
    application(store, "IP-A")
    application(store, "IP-B", nama="CV Lain")
    for id_izin, nip, at in (
        ("IP-A", kasi.nip, NOW),
        ("IP-B", kasi.nip, NOW + timedelta(hours=1)),
        ("IP-B", kabid.nip, NOW + timedelta(hours=2)),
    ):
        entry = {"action": "task.decided", "step": 7, "nip": nip, "decision": "done"}
        store.append_audit(id_izin, entry, now=at)
    store.append_audit("IP-A", {"action": "task.viewed", "step": 7, "nip": kasi.nip}, now=NOW)
    rows = workspace.my_decisions(store, store.applications(), kasi)
    assert [(r["id_izin"], r["company"]) for r in rows] == [
        ("IP-B", "CV Lain"),
        ("IP-A", "PT Sawit Kapuas Lestari"),
    ]
    assert rows[0]["text"] == "selesai"
    assert len(workspace.my_decisions(store, store.applications(), kasi, limit=1)) == 1


def test_search_by_id_company_nib_or_kbli() -> None:
    store = MemoryStore()
    application(store, "IP-2026-0001", nama="PT Sawit Kapuas", nib="1111111111111", kbli="10431")
    application(store, "IP-2026-0002", nama="CV Karet Landak", nib="2222222222222", kbli="22121")
    listed = store.applications()

    def ids(query: str) -> list[str]:
        return sorted(str(a["id_izin"]) for a in workspace.search(listed, query))

    assert ids("0002") == ["IP-2026-0002"]
    assert ids("karet landak") == ["IP-2026-0002"]
    assert ids("1111111111111") == ["IP-2026-0001"]
    assert ids("10431") == ["IP-2026-0001"]
    assert ids("ip-2026") == ["IP-2026-0001", "IP-2026-0002"]
    assert ids("  ") == [] and ids("tidak ada") == []


def test_an_old_open_application_is_listed_however_many_came_after_it() -> None:
    store, kasi = MemoryStore(), ROSTER.first(Role.KASI)
    application(store, "IP-OLD-OPEN", holder=kasi, received=NOW - timedelta(days=90))
    application(store, "IP-OLD-DONE", holder=kasi, received=NOW - timedelta(days=80))
    progress.record_step(store, ROSTER, "IP-OLD-DONE", 20, now=NOW, status="efektif")
    for n in range(3):
        application(store, f"IP-NEW-{n}", received=NOW - timedelta(days=n))
    listed = [str(a["id_izin"]) for a in workspace.worked_on(store, limit=3)]
    assert listed == ["IP-NEW-0", "IP-NEW-1", "IP-NEW-2", "IP-OLD-OPEN"]
    tasks = workspace.my_tasks(workspace.worked_on(store, limit=3), kasi, NOW)
    assert [t["id_izin"] for t in tasks] == ["IP-OLD-OPEN"]
    # Fewer applications than the page looks through: the one Query of the newest.
    assert len(workspace.worked_on(store, limit=10)) == 5


def test_the_tim_teknis_sees_only_what_it_is_assigned_to_other_roles_see_all() -> None:
    store = MemoryStore()
    ketua, anggota, other = TEAM[0], TEAM[1], TEAM[2]
    application(store, "IP-TEAM")
    application(store, "IP-ELSE")
    application(store, "IP-HELD", holder=other)
    store.save_step("IP-TEAM", 7, {"ketua": ketua.nip, "anggota": [anggota.nip]})
    store.save_step("IP-ELSE", 7, {"ketua": other.nip, "anggota": [other.nip]})

    def seen(officer: Officer) -> list[str]:
        return sorted(
            str(a["id_izin"]) for a in workspace.visible(store, officer, store.applications())
        )

    assert seen(ketua) == ["IP-TEAM"] and seen(anggota) == ["IP-TEAM"]
    assert seen(other) == ["IP-ELSE", "IP-HELD"]
    for role in (Role.OPERATOR, Role.KASI, Role.KEPALA_BIDANG, Role.KEPALA_DINAS):
        assert seen(ROSTER.first(role)) == ["IP-ELSE", "IP-HELD", "IP-TEAM"]
    store.calls.clear()
    seen(ketua)  # the team step of every application, read together: not one read each
    assert store.calls["get_many"] == 1 and store.calls["get"] == 0
    assert all(
        workspace.may_see(store, ketua, a) == (a["id_izin"] == "IP-TEAM")
        for a in store.applications()
    )


def _signed_in(store: MemoryStore, officer: Officer) -> tuple[Any, tuple[str, ...]]:
    auth = local_auth(store, ROSTER, NOW)
    _, cookie = sessions.start_session(auth, officer)
    return auth, (cookie.split(";", 1)[0],)


def test_the_application_page_shows_position_history_documents_holder_or_403() -> None:
    store, kasi = MemoryStore(), ROSTER.first(Role.KASI)
    application(store, "IP-PAGE", holder=kasi, deadline=NOW)
    store.append_audit(
        "IP-PAGE",
        {"action": "task.decided", "step": 6, "actor": "Kabid", "nip": "1", "decision": "done"},
        now=NOW,
    )
    for versi in (1, 2):
        store.put_document_version(
            "IP-PAGE",
            "nota_dinas",
            versi,
            {"jenis": "nota_dinas", "versi": versi, "key": f"k/v{versi}.html", "nomor": "N/1"},
        )
    auth, cookies = _signed_in(store, kasi)
    page = workspace.application_page(
        Request("", cookies=cookies), auth, "IP-PAGE", lambda key: f"https://s3/{key}", method="GET"
    )
    assert page.status == 200
    assert "<svg" in page.html and kasi.nama in page.html and "Kabid" in page.html
    assert page.html.index("https://s3/k/v2.html") < page.html.index("https://s3/k/v1.html")
    assert 'href="/meja/tugas/IP-PAGE"' in page.html  # the holder's way to the task
    member_auth, member = _signed_in(store, TEAM[0])
    refused = workspace.application_page(
        Request("", cookies=member), member_auth, "IP-PAGE", str, method="GET"
    )
    assert refused.status == 403 and "IP-PAGE" not in refused.html
    missing = workspace.application_page(Request("", cookies=cookies), auth, "X", str, method="GET")
    assert missing.status == 404
    away = workspace.application_page(Request(""), auth, "IP-PAGE", str, method="GET")
    assert (away.status, away.headers["location"]) == (303, "/masuk")


def test_meja_lists_my_task_search_and_refuses_a_long_query() -> None:
    store, kasi = MemoryStore(), ROSTER.first(Role.KASI)
    application(store, "IP-MEJA", holder=kasi, deadline=NOW + timedelta(hours=3), nama="PT Meja")
    auth, cookies = _signed_in(store, kasi)
    page = workspace.meja_page(Request("", cookies=cookies), auth, method="GET")
    assert page.status == 200 and 'href="/meja/tugas/IP-MEJA"' in page.html
    found = workspace.meja_page(
        Request("", cookies=cookies, query={"q": "pt meja"}), auth, method="GET"
    )
    assert 'href="/permohonan/IP-MEJA"' in found.html
    asked = Request("", cookies=cookies, query={"q": "x" * 101})
    long = workspace.meja_page(asked, auth, method="GET")
    assert long.status == 400 and "paling panjang 100" in long.html


# -- the session's way into a task: functions/task_page on GET/POST /meja/tugas/{id_izin} ----


def own(door: Any, method: str, id_izin: str, body: str = "", **headers: str) -> dict[str, Any]:
    path = f"/meja/tugas/{id_izin}"
    event = {
        "routeKey": f"{method} /meja/tugas/{{id_izin}}",
        "requestContext": {
            "http": {"method": method, "path": path, "sourceIp": "127.0.0.1", "userAgent": "t"}
        },
        "pathParameters": {"id_izin": id_izin},
        "headers": {"content-type": "application/x-www-form-urlencoded", **headers},
        "body": body,
        "isBase64Encoded": False,
        "cookies": door.cookies,
    }
    return dict(door.handler(event))


def test_the_assignee_opens_and_decides_the_task_with_the_session_only(task_door: Any) -> None:
    ticket, officer = task_door.ticket(6)
    digest = ticket_hash(ticket)
    task_door.store.update_application(DOOR_ID, {"open_ticket": digest})
    assert own(task_door, "GET", DOOR_ID)["statusCode"] == 303  # no session: to /masuk
    task_door.proof(ticket, officer)
    page = own(task_door, "GET", DOOR_ID)
    assert page["statusCode"] == 200 and 'id="masuk-sebagai"' in page["body"]
    assert ticket not in page["body"]  # the link's secret is nowhere in the page
    token = re.search(r'name="csrf" value="([^"]+)"', page["body"]).group(1)  # type: ignore[union-attr]
    forged = own(task_door, "POST", DOOR_ID, urlencode({"csrf": "x", "decision": "done"}))
    assert forged["statusCode"] == 403 and task_door.recorder.outputs == []
    body = urlencode({"csrf": token, "decision": "done"})
    decided = own(task_door, "POST", DOOR_ID, body, origin="https://izin.example")
    assert decided["statusCode"] == 200
    assert [token for token, _ in task_door.recorder.outputs] == ["token-6"]
    entry = next(e for e in task_door.store.audit(DOOR_ID) if e["action"] == "task.decided")
    assert entry["via"].startswith("session:")
    assert task_door.store.ticket(digest)["status"] == Status.DECIDED
    assert own(task_door, "POST", DOOR_ID, body)["statusCode"] == 404  # decided once: none open


def test_another_officers_session_is_refused_403(task_door: Any) -> None:
    ticket, _ = task_door.ticket(6)  # the Kepala Bidang's
    task_door.store.update_application(DOOR_ID, {"open_ticket": ticket_hash(ticket)})
    task_door.proof(ticket, ROSTER.first(Role.OPERATOR))
    assert own(task_door, "GET", DOOR_ID)["statusCode"] == 403
    token = task_door.store.ticket(ticket_hash(ticket))["csrf"]
    body = urlencode({"csrf": token, "decision": "done"})
    assert own(task_door, "POST", DOOR_ID, body)["statusCode"] == 403
    assert task_door.recorder.outputs == []
    assert task_door.store.ticket(ticket_hash(ticket))["status"] == Status.OPEN
