"""The Dinas's console, /konsol (izin.console): who may see it, the filters, the counts per
step, and the pages read from the GSI1 index with a cursor, on the in-memory store."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from izin import console, sessions, wiring
from izin.calendar import WIB, HolidayCalendar
from izin.memory_store import MemoryStore
from izin.resume import resume_parked
from izin.risk import Risk, assess
from izin.roster import Officer, Roster, load_roster
from izin.sop import Role
from izin.tasks.context import Page, Request
from izin.workflow import PARK_STATE
from izin_local import samples
from izin_local.testing import ROSTER as ROSTER_FILE
from izin_local.testing import local_auth

ROSTER = load_roster(ROSTER_FILE)
NOW = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)  # Monday 09.00 WIB
CAL = HolidayCalendar.load()
KABID = ROSTER.first(Role.KEPALA_BIDANG)
KASI = ROSTER.first(Role.KASI)


def risk_at(application: Mapping[str, Any]) -> Risk:
    return assess(application, now=NOW, calendar=CAL, service_level_days=5, warn_days=2)


def add(store: MemoryStore, id_izin: str, created: datetime, **fields: object) -> None:
    holder = fields.pop("holder", KASI)
    assert isinstance(holder, Officer)
    store.create_application(
        id_izin,
        {
            "id_izin": id_izin,
            "status": "PROSES",
            "current_step": 5,
            "step_name": "Langkah5",
            "holder": {"role": holder.role.value, "nama": holder.nama, "nip": holder.nip},
            "data": {"perusahaan": {"nama": f"PT {id_izin}"}},
            "created_at": created.isoformat(),
            **fields,
        },
    )


def get(
    store: MemoryStore, officer: Officer | None, query: str = "", roster: Roster = ROSTER
) -> Page:
    auth = local_auth(store, roster, NOW)
    cookies: tuple[str, ...] = ()
    if officer is not None:
        _, cookie = sessions.start_session(auth, officer)
        cookies = (cookie.split(";", 1)[0],)
    request = Request("", query=dict(parse_qsl(query)), cookies=cookies)
    return console.console_page(request, auth, method="GET", assess=risk_at)


def ids(page: Page) -> list[str]:
    return re.findall(r'<li class="row" data-id="([^"]+)"', page.html)


def test_the_console_is_for_the_kepala_bidang_the_kepala_dinas_and_an_admin() -> None:
    store = MemoryStore()
    assert get(store, None).status == 303
    forbidden = get(store, KASI)
    assert (
        forbidden.status == 403 and "untuk Kepala Bidang, Kepala Dinas, dan admin" in forbidden.html
    )
    assert get(store, KABID).status == 200
    assert get(store, ROSTER.first(Role.KEPALA_DINAS)).status == 200
    admin = Officer(
        role=Role.ADMIN,
        nama="Admin Sistem",
        nip="199001012020011001",
        jabatan="Pranata Komputer",
        email="admin@disperindag.kalbar.example",
        totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    )
    with_admin = Roster(officers=(*ROSTER.officers, admin), dpmptsp_email=ROSTER.dpmptsp_email)
    assert get(store, admin, roster=with_admin).status == 200
    page = get(store, KABID)
    post = console.console_page(
        Request("", cookies=()), local_auth(store, ROSTER, NOW), method="POST", assess=risk_at
    )
    assert post.status == 401 and page.status == 200


def test_the_list_filters_to_an_overdue_application_and_by_status_step_holder_and_date() -> None:
    store = MemoryStore()
    monday = datetime(2026, 12, 21, 1, 0, tzinfo=UTC)  # 08.00 WIB
    add(store, "IP-TERLAMBAT", monday, deadline=datetime(2026, 12, 23, 16, tzinfo=WIB).isoformat())
    add(
        store,
        "IP-HARI-INI",
        monday + timedelta(days=2),
        deadline=datetime(2026, 12, 28, 16, tzinfo=WIB).isoformat(),
    )
    add(
        store,
        "IP-TEPAT",
        monday + timedelta(days=7),
        deadline=datetime(2026, 12, 30, 16, tzinfo=WIB).isoformat(),
        current_step=8,
        holder=KABID,
    )
    add(
        store,
        "IP-SELESAI",
        monday - timedelta(days=30),
        status="SELESAI",
        current_step=20,
        finished_at=monday.isoformat(),
    )
    page = get(store, KABID)
    # Sorted by the step's due date; finished applications (no deadline) last.
    assert ids(page) == ["IP-TERLAMBAT", "IP-HARI-INI", "IP-TEPAT", "IP-SELESAI"]
    assert 'href="/permohonan/IP-TERLAMBAT"' in page.html
    assert ids(get(store, KABID, "sla=terlambat")) == ["IP-TERLAMBAT"]
    assert ids(get(store, KABID, "sla=hari_ini")) == ["IP-HARI-INI"]
    assert ids(get(store, KABID, "sla=tepat_waktu")) == ["IP-TEPAT"]
    # Received Mon 21 08.00: by Mon 28 09.00, 3.1 hari kerja of 5 used, < 2 left: flagged.
    assert ids(get(store, KABID, "sla=fiktif_positif")) == ["IP-TERLAMBAT"]
    assert ids(get(store, KABID, "status=SELESAI")) == ["IP-SELESAI"]
    assert ids(get(store, KABID, "langkah=8")) == ["IP-TEPAT"]
    assert ids(get(store, KABID, f"pemegang={KABID.nip}")) == ["IP-TEPAT"]
    assert ids(get(store, KABID, "dari=2026-12-23&sampai=2026-12-23")) == ["IP-HARI-INI"]
    assert ids(get(store, KABID, "dari=2026-12-22")) == ["IP-HARI-INI", "IP-TEPAT"]


def test_counts_per_step_count_the_applications_in_process() -> None:
    store = MemoryStore()
    start = datetime(2026, 12, 1, 1, tzinfo=UTC)
    for n in range(3):
        add(store, f"IP-A{n}", start + timedelta(hours=n))
    add(store, "IP-B", start, current_step=8, status="TERHENTI")
    add(store, "IP-C", start, current_step=20, status="SELESAI")
    page = get(store, KABID)
    counts = dict(re.findall(r'langkah=(\d+)">[^<]*</a>: <strong>(\d+)</strong>', page.html))
    assert counts == {"5": "3", "8": "1"}


def test_the_pages_follow_the_index_with_a_cursor_each_application_once() -> None:
    store = MemoryStore()
    start = datetime(2026, 11, 2, 1, tzinfo=UTC)
    for n in range(130):
        status = "SELESAI" if n % 3 == 0 else "PROSES"
        add(store, f"IP-{n:03d}", start + timedelta(minutes=n), status=status)
    for query, expected in (("", 130), ("status=PROSES", 86)):
        seen: list[str] = []
        page = get(store, KABID, query)
        while True:
            assert page.status == 200
            seen += ids(page)
            found = re.search(r'id="berikutnya" href="([^"]+)"', page.html)
            if not found:
                break
            assert len(ids(page)) == console.PAGE_ROWS
            page = get(store, KABID, urlsplit(found.group(1).replace("&amp;", "&")).query)
        assert len(seen) == len(set(seen)) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("langkah=99", "Langkah harus angka 1 sampai 20."),
        ("status=BATAL", "Status tidak dikenal."),
        ("pemegang=123", "Pemegang tidak ada dalam daftar petugas."),
        ("sla=entah", "Keadaan SLA tidak dikenal."),
        ("dari=kemarin", "harus berbentuk TTTT-BB-HH"),
        ("dari=2026-12-05&sampai=2026-12-01", "sesudah tanggal"),
        ("lanjut=bukan-kursor", "Tautan halaman berikutnya rusak"),
        ("lanjut=eyJQSyI6IlRJQ0tFVCMxIn0", "Tautan halaman berikutnya rusak"),
    ],
)
def test_a_bad_filter_is_a_clear_error_and_keeps_the_form(query: str, message: str) -> None:
    page = get(MemoryStore(), KABID, query)
    assert page.status == 400 and message in page.html and 'role="alert"' in page.html


def test_the_store_pages_applications_by_date_range_from_a_cursor() -> None:
    store = MemoryStore()
    start = datetime(2026, 12, 1, tzinfo=UTC)
    for n in range(7):
        add(store, f"IP-{n}", start + timedelta(days=n))
    since = (start + timedelta(days=1)).isoformat()
    until = (start + timedelta(days=5)).isoformat()
    first, after = store.applications_page(3, since=since, until=until)
    second, last = store.applications_page(3, after=after, since=since, until=until)
    assert [a["id_izin"] for a in first + second] == ["IP-5", "IP-4", "IP-3", "IP-2", "IP-1"]
    assert last is None and after is not None and set(after) == {"PK", "SK", "GSI1PK", "GSI1SK"}


def test_the_workspace_door_routes_konsol_to_the_console(
    monkeypatch: pytest.MonkeyPatch, handler: Callable[[str], Callable[..., dict[str, Any]]]
) -> None:
    store = MemoryStore()
    monday = datetime(2026, 12, 21, 1, 0, tzinfo=UTC)
    add(store, "IP-TERLAMBAT", monday, deadline=datetime(2026, 12, 23, 16, tzinfo=WIB).isoformat())
    add(store, "IP-TEPAT", monday, deadline=datetime(2026, 12, 30, 16, tzinfo=WIB).isoformat())
    auth = local_auth(store, ROSTER, NOW)
    _, cookie = sessions.start_session(auth, KABID)
    monkeypatch.setattr(wiring, "store", lambda: store)
    # The door's Auth reads through the view the handler gives it, as wiring.auth does.
    monkeypatch.setattr(wiring, "auth", lambda now, table: replace(auth, store=table))
    monkeypatch.setattr(wiring, "calendar", lambda: CAL)
    door = handler("workspace")
    store.calls.clear()
    http = {"method": "GET", "path": "/konsol", "sourceIp": "127.0.0.1", "userAgent": "pytest"}
    answer = door(
        {
            "routeKey": "ANY /konsol",
            "requestContext": {"http": http},
            "queryStringParameters": {"sla": "terlambat"},
            "headers": {},
            "cookies": [cookie.split(";", 1)[0]],
        }
    )
    assert answer["statusCode"] == 200
    assert re.findall(r'<li class="row" data-id="([^"]+)"', answer["body"]) == ["IP-TERLAMBAT"]
    # The session, the officer's second factor and the roster: one batch, nothing read twice.
    assert store.calls["get_many"] == 1 and store.calls["get"] == 0, store.calls


DEFINITION = (Path(__file__).parents[2] / "statemachine" / "izin_perluasan.asl.json").read_text()
FAILED_AT = "05 Dokumen - Surat Pengantar Kepala Bidang"


@dataclass
class Machine:
    """The state machine as resuming reads and starts it (izin.resume.History, Executions)."""

    names: list[str]
    started: dict[str, dict[str, Any]] = field(default_factory=dict)

    def executions(self, base: str) -> list[str]:
        return [n for n in self.names if n == base or n.startswith(f"{base}-lanjut-")]

    def entered(self, name: str) -> list[str]:
        return ["Mulai", "01 Pemohon - Mengajukan Izin Perluasan", FAILED_AT, PARK_STATE]

    def definition(self) -> str:
        return DEFINITION

    def start(self, name: str, state: dict[str, Any]) -> bool:
        if name in self.names:
            return False
        self.names.append(name)
        self.started[name] = state
        return True


def resume_form(page: Page, id_izin: str) -> dict[str, list[str]]:
    form = re.search(
        rf'name="id_izin" value="{id_izin}">\s*<input type="hidden" name="csrf" value="([^"]+)"',
        page.html,
    )
    assert form is not None, page.html
    return {"id_izin": [id_izin], "csrf": [form.group(1)]}


def test_a_parked_application_is_shown_with_its_error_and_resumed_from_the_page() -> None:
    store = MemoryStore()
    add(
        store,
        "IP-PARKIR",
        NOW - timedelta(days=3),
        status="TERHENTI",
        step_name=FAILED_AT,
        data=samples.permohonan("IP-PARKIR"),
        reason={"error": "DocumentError", "cause": "templat surat pengantar tidak terbaca"},
        parked_at=(NOW - timedelta(hours=1)).isoformat(),
    )
    add(store, "IP-JALAN", NOW - timedelta(days=2))
    machine = Machine(names=["IP-PARKIR"])
    auth = local_auth(store, ROSTER, NOW)
    signed, cookie = sessions.start_session(auth, KABID)
    cookies = (cookie.split(";", 1)[0],)

    def resume(id_izin: str, by: str) -> str:
        return resume_parked(
            id_izin, store=store, history=machine, executions=machine, by=by, now=NOW
        )

    def call(method: str, form: dict[str, list[str]], *, same_site: bool = True) -> Page:
        request = Request("", form=form, cookies=cookies)
        return console.console_page(
            request, auth, method=method, assess=risk_at, resume=resume, same_site=same_site
        )

    page = call("GET", {})
    incidents = re.findall(r'class="note incident" data-id="([^"]+)"', page.html)
    assert incidents == ["IP-PARKIR"]
    assert "DocumentError" in page.html and "templat surat pengantar tidak terbaca" in page.html
    form = resume_form(page, "IP-PARKIR")
    # A forged token, another application's token, or a cross-site POST changes nothing.
    for bad, site in (
        ({**form, "csrf": ["x"]}, True),
        ({**form, "id_izin": ["IP-JALAN"]}, True),
        (form, False),
    ):
        refused = call("POST", bad, same_site=site)
        assert refused.status == 403 and "Formulir kedaluwarsa" in refused.html
    assert machine.started == {} and store.application("IP-PARKIR")["status"] == "TERHENTI"  # type: ignore[index]

    done = call("POST", form)
    assert (done.status, done.headers["location"]) == (303, "/konsol?dilanjutkan=IP-PARKIR")
    assert list(machine.started) == ["IP-PARKIR-lanjut-1"]
    assert machine.started["IP-PARKIR-lanjut-1"]["lanjut_dari"] == FAILED_AT
    application = store.application("IP-PARKIR") or {}
    assert application["status"] == "PROSES" and "reason" not in application
    [entry] = [e for e in store.audit("IP-PARKIR") if e["action"] == "application.resumed"]
    assert KABID.nip in entry["actor"] and signed.via in entry["actor"]
    assert entry["previous_reason"]["error"] == "DocumentError"
    # Twice (a double click, or another officer meanwhile): refused, nothing started again.
    again = call("POST", form)
    assert again.status == 409 and "tidak dapat dilanjutkan" in again.html
    assert list(machine.started) == ["IP-PARKIR-lanjut-1"]
    after = call("GET", {})
    assert "Tidak ada permohonan yang terhenti." in after.html


def test_only_the_console_roles_may_resume() -> None:
    store = MemoryStore()
    auth = local_auth(store, ROSTER, NOW)
    _, cookie = sessions.start_session(auth, KASI)
    request = Request(
        "", form={"id_izin": ["IP-1"], "csrf": ["x"]}, cookies=(cookie.split(";", 1)[0],)
    )

    def resume(id_izin: str, by: str) -> str:
        raise AssertionError("a Kasi cannot resume")

    page = console.console_page(
        request, auth, method="POST", assess=risk_at, resume=resume, same_site=True
    )
    assert page.status == 403
