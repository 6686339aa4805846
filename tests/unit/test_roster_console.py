"""The roster in the table and its page, /konsol/petugas (izin.roster, izin.roster_console),
on the in-memory store: who may use the page, what a bad field says, what a save writes
and audits, and what an inactive officer no longer does."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest
from izin import pool, roster_console, sessions, wiring
from izin import settings as settings_module
from izin.auth import Auth
from izin.mail import MemoryMailer
from izin.memory_store import MemoryStore
from izin.roster import Officer, Roster, in_force, listed, load_roster
from izin.sop import STEPS, Role
from izin.tasks.context import Page, Request
from izin.tasks.issue import assignee_for
from izin_local.testing import ROSTER as ROSTER_FILE
from izin_local.testing import local_auth

SEED = load_roster(ROSTER_FILE)
NOW = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)
KABID = SEED.first(Role.KEPALA_BIDANG)
KASI = SEED.first(Role.KASI)
OPERATOR = SEED.first(Role.OPERATOR)
KADIS = SEED.first(Role.KEPALA_DINAS)
NEW_KASI = {
    "role": "kasi",
    "nama": "Siti Aminah, S.T.",
    "nip": "198601012010012001",
    "jabatan": "Kepala Seksi Kerjasama, Pengawasan, dan Promosi Investasi Industri",
    "email": "siti.aminah@disperindag.kalbar.example",
    "pangkat": "Penata Tingkat I",
    "golongan": "III/d",
    "aktif": "ya",
}


class Console:
    """The page as one signed-in officer uses it, on one store."""

    def __init__(self, store: MemoryStore, officer: Officer | None = KABID) -> None:
        self.store = store
        self.mailer = MemoryMailer()
        self.cookies: tuple[str, ...] = ()
        if officer is not None:
            auth = local_auth(store, SEED, NOW)
            self.signed, cookie = sessions.start_session(auth, officer)
            self.cookies = (cookie.split(";", 1)[0],)

    def auth(self) -> Auth:
        # As the handler does: the roster in force read from the table at each request.
        return local_auth(self.store, in_force(self.store.roster_record(), SEED), NOW, seed=False)

    def get(self, query: str = "") -> Page:
        request = Request("", query=dict(parse_qsl(query)), cookies=self.cookies)
        return self._page(request, "GET")

    def post(
        self, fields: dict[str, str], *, csrf: str | None = None, same_site: bool = True
    ) -> Page:
        auth = self.auth()
        token = csrf if csrf is not None else sessions.form_token(auth, self.signed, "petugas")
        form = {k: [v] for k, v in {**fields, "csrf": token}.items()}
        return self._page(Request("", form=form, cookies=self.cookies), "POST", same_site)

    def _page(self, request: Request, method: str, same_site: bool = True) -> Page:
        return roster_console.roster_page(
            request,
            self.auth(),
            method=method,
            seed=SEED,
            enroll=roster_console.Enroll(mailer=self.mailer),
            same_site=same_site,
        )


def edit(officer: Officer, **changes: str) -> dict[str, str]:
    fields = {k: str(v) for k, v in officer.model_dump().items() if k in NEW_KASI}
    return {**fields, "aktif": "ya", "nip_asal": officer.nip, "aksi": "simpan", **changes}


def error_by(page: Page, name: str) -> str:
    found = re.search(rf'<div class="error" id="e-{name}">([^<]*)</div>', page.html)
    return html.unescape(found.group(1)) if found else ""


def test_the_page_is_the_console_s_signed_in_roles_only() -> None:
    store = MemoryStore()
    assert Console(store, None).get().status == 303
    anonymous = Request("", form={k: [v] for k, v in NEW_KASI.items()})
    assert Console(store, None)._page(anonymous, "POST").status == 401
    assert store.roster_record() is None
    assert Console(store, KASI).get().status == 403
    page = Console(store, KABID).get()
    assert page.status == 200
    assert all(f'data-nip="{o.nip}"' in page.html for o in SEED.officers)
    assert "totp_secret" not in page.html and KADIS.nik not in page.html


def test_bad_fields_are_named_in_indonesian_and_what_was_typed_is_kept() -> None:
    store = MemoryStore()
    console = Console(store)
    typed = {**NEW_KASI, "nip": "12345", "email": "bukan-email", "golongan": "5/z", "nama": "Siti"}
    page = console.post({**typed, "role": "bupati", "jabatan": "", "aksi": "simpan"})
    assert page.status == 422
    assert error_by(page, "nip") == "NIP harus 18 angka, tanpa spasi."
    assert error_by(page, "email").startswith("Alamat email tidak valid")
    assert error_by(page, "golongan") == "Tulis golongan seperti III/a atau IV/c."
    assert error_by(page, "role") == "Pilih peran petugas."
    assert error_by(page, "jabatan") == "Jabatan wajib diisi."
    assert 'value="12345"' in page.html and 'value="bukan-email"' in page.html
    assert 'value="Siti"' in page.html
    assert store.roster_record() is None and not console.mailer.sent
    taken = console.post({**NEW_KASI, "nip": KASI.nip, "aksi": "simpan"})
    assert taken.status == 422 and KASI.nama in error_by(taken, "nip")
    shared = console.post({**NEW_KASI, "email": str(KASI.email).upper(), "aksi": "simpan"})
    assert shared.status == 422 and KASI.nama in error_by(shared, "email")


def test_a_form_from_elsewhere_or_without_the_token_writes_nothing() -> None:
    store = MemoryStore()
    console = Console(store)
    assert console.post({**NEW_KASI, "aksi": "simpan"}, csrf="x").status == 403
    assert console.post({**NEW_KASI, "aksi": "simpan"}, same_site=False).status == 403
    assert store.roster_record() is None and not console.mailer.sent


def test_adding_an_officer_seeds_the_table_audits_and_emails_the_enrollment_link() -> None:
    store = MemoryStore()
    console = Console(store)
    page = console.post({**NEW_KASI, "aksi": "simpan"})
    assert page.status == 303 and "ditambahkan=" in page.headers["location"]
    record = store.roster_record()
    assert record is not None and record["version"] == 1
    assert [o["nip"] for o in record["officers"]] == [
        *(o.nip for o in SEED.officers),
        NEW_KASI["nip"],
    ]
    # The table keeps only the page's fields: never a secret, a passphrase or the NIK.
    assert {k for o in record["officers"] for k in o} <= set(roster_console.TABLE_FIELDS)
    # …and the file still gives them, joined by NIP.
    assert in_force(record, SEED).by_nip(KADIS.nip).nik == KADIS.nik
    (mail,) = console.mailer.sent
    assert mail.to == (NEW_KASI["email"],) and "/daftar-kode/" in mail.text
    trail = store.officer_audit(NEW_KASI["nip"])
    assert trail[0]["action"] == "roster.officer_added" and trail[0]["nip"] == KABID.nip
    assert trail[0]["changes"]["golongan"] == {"before": None, "after": "III/d"}
    assert trail[1]["action"] == "enrollment.link_sent"


def test_a_change_reaches_the_next_assignment_and_is_audited_before_and_after() -> None:
    store = MemoryStore()
    console = Console(store)
    step7 = next(s for s in STEPS if s.actor == Role.KASI)
    application = {"id_izin": "IP-1"}
    before = in_force(store.roster_record(), SEED)
    assert assignee_for(step7, store, application, before).nip == KASI.nip
    # The only active Kasi cannot be made inactive: the Kasi's tasks would reach nobody.
    alone = console.post(edit(KASI, aktif="tidak"))
    assert alone.status == 422 and "satu-satunya Kasi aktif" in error_by(alone, "aktif")
    assert console.post({**NEW_KASI, "aksi": "simpan"}).status == 303
    assert console.post(edit(KASI, aktif="tidak", email="hendra@kalbarprov.example")).status == 303
    after = in_force(store.roster_record(), SEED)
    assert assignee_for(step7, store, application, after).nip == NEW_KASI["nip"]
    assert KASI.nip not in {o.nip for o in after.officers}
    assert not listed(store.roster_record(), SEED).by_nip(KASI.nip).aktif  # kept, inactive
    change = store.officer_audit(KASI.nip)[-1]
    assert change["action"] == "roster.officer_changed" and change["actor"] == KABID.nama
    assert change["changes"] == {
        "email": {"before": KASI.email, "after": "hendra@kalbarprov.example"},
        "aktif": {"before": True, "after": False},
    }
    page = console.get(f"nip={KASI.nip}")
    assert (
        "hendra@kalbarprov.example" in page.html
        and "aktif: <del>ya</del> &rarr; <ins>tidak</ins>" in page.html
    )


def test_an_inactive_officer_cannot_sign_in_and_their_team_task_is_in_the_pool() -> None:
    store = MemoryStore()
    console = Console(store)
    session = Console(store, OPERATOR).cookies
    assert sessions.signed_in(session, console.auth()) is not None
    second = {**NEW_KASI, "role": "operator", "nip": "199501012020012001", "email": "op2@x.example"}
    assert console.post({**second, "aksi": "simpan"}).status == 303
    assert console.post(edit(OPERATOR, aktif="tidak")).status == 303
    auth = console.auth()
    assert sessions.signed_in(session, auth) is None  # the session they had ends with it
    task = {
        "id_izin": "IP-2",
        "status": "PROSES",
        "open_ticket": "h",
        "holder": {"role": "operator", "nama": OPERATOR.nama, "nip": OPERATOR.nip},
    }
    assert pool.in_pool(task, store, auth.roster, NOW)
    assert pool.in_pool(task, store, in_force(None, SEED), NOW) is False  # while active


def test_an_admin_cannot_lock_themself_out() -> None:
    store = MemoryStore()
    page = Console(store).post(edit(KABID, aktif="tidak"))
    assert page.status == 422 and "diri sendiri" in error_by(page, "aktif")
    assert store.roster_record() is None


def test_a_save_that_lost_the_race_is_applied_to_the_newer_roster() -> None:
    store = MemoryStore()
    store.seed_roster(
        {
            "officers": [roster_console.table_fields(o) for o in SEED.officers],
            "dpmptsp_email": "t@x.example",
        }
    )
    real = store.replace_roster
    raced: list[object] = []

    def first_loses(fields: dict[str, object], *, version: int) -> dict[str, object]:
        if not raced:  # another admin saves in between
            raced.append(real({"dpmptsp_email": "baru@x.example"}, version=version))
        return real(fields, version=version)

    store.replace_roster = first_loses  # type: ignore[method-assign]
    officer = Officer.model_validate({**NEW_KASI, "aktif": True})
    saved = roster_console.save_officer(store, SEED, officer, editing=False, by=KABID, now=NOW)
    record = store.roster_record()
    assert saved.added and record is not None and record["version"] == 3
    assert (
        record["dpmptsp_email"] == "baru@x.example" and record["officers"][-1]["nip"] == officer.nip
    )


@pytest.mark.parametrize("field", ["totp_secret", "bsre_passphrase"])
def test_a_local_only_field_never_reaches_the_table(field: str) -> None:
    store = MemoryStore()
    officer = Officer.model_validate({**NEW_KASI, "aktif": True})
    roster_console.save_officer(store, SEED, officer, editing=False, by=KABID, now=NOW)
    record = store.roster_record()
    assert record is not None and all(field not in o for o in record["officers"])
    assert getattr(in_force(record, SEED).by_nip(KADIS.nip), field) == getattr(KADIS, field)


def test_without_a_table_roster_the_file_is_in_force_less_its_inactive() -> None:
    inactive = SEED.officers[0].model_copy(update={"aktif": False})
    file = Roster(officers=(inactive, *SEED.officers[1:]), dpmptsp_email=SEED.dpmptsp_email)
    assert in_force(None, file).officers == SEED.officers[1:]


def test_each_invocation_reads_the_table_s_roster_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "TABLE_NAME": "t",
        "BUCKET_NAME": "b",
        "PUBLIC_BASE_URL": "https://izin.example",
        "MAIL_FROM": "izin@example.go.id",
        "IZIN_LOCAL_ROSTER_SECRETS": "true",
        "IZIN_ROSTER_FILE": str(ROSTER_FILE),
    }.items():
        monkeypatch.setenv(name, value)
    store = MemoryStore()
    reads: list[str] = []
    real = store.roster_record

    def counted() -> dict[str, object] | None:
        reads.append("get")
        return real()

    monkeypatch.setattr(store, "roster_record", counted)
    monkeypatch.setattr(wiring, "store", lambda: store)
    settings_module.settings.cache_clear()
    try:
        assert wiring.roster().first(Role.KASI).nip == KASI.nip  # the file's, no table roster
        assert reads == ["get"]
        officer = Officer.model_validate({**NEW_KASI, "aktif": True})
        roster_console.save_officer(store, SEED, officer, editing=False, by=KABID, now=NOW)
        store.replace_roster(
            {"officers": [{**o, "aktif": o["nip"] != KASI.nip} for o in real()["officers"]]},  # type: ignore[index]
            version=1,
        )
        # No cache to expire: the next read is the table as it is now.
        reads.clear()
        assert wiring.roster().first(Role.KASI).nip == NEW_KASI["nip"]
        assert reads == ["get"]
    finally:
        settings_module.settings.cache_clear()


def test_an_admin_re_enrolls_an_active_officer_by_email_only() -> None:
    store = MemoryStore()
    console = Console(store)
    again = console.post({"aksi": "daftar_ulang", "nip_asal": KASI.nip})
    assert again.status == 303 and again.headers["location"].endswith(f"tautan={KASI.nip}")
    (mail,) = console.mailer.sent
    assert mail.to == (str(KASI.email),) and "/daftar-kode/" in mail.text
    assert store.officer_audit(KASI.nip)[-1]["action"] == "enrollment.link_sent"
    assert store.roster_record() is None  # the roster itself is not changed
    nobody = console.post({"aksi": "daftar_ulang", "nip_asal": "1" * 18})
    assert nobody.status == 409 and len(console.mailer.sent) == 1
