"""Delegation (Plh/Plt) and the Kasi's pool (issue #14), on the in-memory store: the rules
(who may act and name for whom, the dates in hari kerja), a task issued during a
delegation going to the delegate, the delegate's decision and the "Plh." on the letter it
signs, the /meja forms (session + CSRF), and claiming a task from the pool."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from izin import delegation, pool, sessions, workspace
from izin.calendar import HolidayCalendar
from izin.documents.context import build_context
from izin.documents.model import Jenis
from izin.pages import history
from izin.roster import Officer, Role
from izin.tasks import Request
from izin.tasks.page import HISTORY_ACTIONS
from izin.tickets import Status, ticket_hash
from izin_local import samples
from izin_local.testing import local_auth

from tests.unit.test_documents import APPROVAL, DINAS, Desk, plain
from tests.unit.test_workflow_logic import BASE, ID, NOW, ROSTER, FakeMailer, World

CALENDAR = HolidayCalendar.load()
TODAY = date(2026, 12, 1)  # a Tuesday; NOW is 09.00 WIB on it
OPERATOR = ROSTER.first(Role.OPERATOR)
KASI = ROSTER.first(Role.KASI)
KABID = ROSTER.first(Role.KEPALA_BIDANG)
KADIS = ROSTER.first(Role.KEPALA_DINAS)
BUDI, YULIANA, AGUS = ROSTER.holders(Role.TIM_TEKNIS)


@pytest.fixture
def world() -> World:
    """An application received (the Operator's step 4 issued), on the in-memory store."""
    w = World()
    assert w.event("oss", "permohonan.diajukan", samples.permohonan(ID), "evt-1") == "started"
    return w


def refused(**changes: Any) -> str:
    """The reason `check` gives for the delegation `changes` make of a valid one."""
    given: dict[str, Any] = {
        "by": KABID,
        "officer": KABID,
        "delegate": KASI,
        "mulai": TODAY,
        "selesai": TODAY + timedelta(days=3),
        "alasan": "Cuti tahunan",
        "calendar": CALENDAR,
        "now": NOW,
    } | changes
    with pytest.raises(delegation.DelegationRefused) as error:
        delegation.check(**given)
    return str(error.value)


# -- the rules -------------------------------------------------------------------------------


def test_a_plh_holds_the_same_role_or_is_the_structural_official_one_level_below() -> None:
    assert delegation.may_act_for(YULIANA, BUDI)  # Tim Teknis for Tim Teknis
    assert delegation.may_act_for(KASI, KABID)  # the Kasi as Plh. Kepala Bidang
    assert delegation.may_act_for(KABID, KADIS)  # the Kepala Bidang as Plh. Kepala Dinas
    assert not delegation.may_act_for(OPERATOR, KASI)  # staff is not one level below
    assert not delegation.may_act_for(KASI, KADIS)  # two levels below
    assert not delegation.may_act_for(BUDI, BUDI)  # not oneself


def test_a_delegate_of_another_role_is_refused_with_a_clear_reason() -> None:
    reason = refused(by=KASI, officer=KASI, delegate=OPERATOR)
    assert reason == (
        f"{OPERATOR.nama} (Operator) tidak dapat menjadi Plh/Plt Kasi: Plh/Plt harus Kasi."
    )
    reason = refused(by=KADIS, officer=KADIS, delegate=BUDI)
    assert "Plh/Plt harus Kepala Dinas atau Kepala Bidang" in reason


def test_an_officer_names_for_themself_the_kasi_for_their_team_nobody_else() -> None:
    assert delegation.may_delegate_for(KABID, KABID)
    assert delegation.may_delegate_for(KASI, OPERATOR) and delegation.may_delegate_for(KASI, BUDI)
    assert not delegation.may_delegate_for(KASI, KABID)  # not the Kasi's team
    assert not delegation.may_delegate_for(OPERATOR, BUDI)
    assert not delegation.may_delegate_for(KABID, KASI)  # only the Kasi has a pool/team
    assert "hanya petugas itu sendiri atau Kasi" in refused(by=BUDI, officer=YULIANA)
    assert [o.nip for o in delegation.team(KASI, ROSTER)] == [
        OPERATOR.nip,
        KASI.nip,
        BUDI.nip,
        YULIANA.nip,
        AGUS.nip,
    ]


def test_the_range_is_counted_in_hari_kerja_and_must_hold_one() -> None:
    # Tuesday 1 to Monday 7 December 2026: the weekend of 5-6 December does not count.
    assert delegation.working_days(TODAY, date(2026, 12, 7), CALENDAR) == 5
    assert "tidak memuat satu hari kerja" in refused(
        mulai=date(2026, 12, 5), selesai=date(2026, 12, 6)
    )
    assert "sebelum hari ini" in refused(mulai=TODAY - timedelta(days=1))
    assert "tanggal selesai tidak boleh" in refused(selesai=TODAY - timedelta(days=1)).lower()
    assert "Paling lama" in refused(selesai=TODAY + timedelta(days=120))
    assert "alasan" in refused(alasan="  ").lower()
    days = delegation.check(
        by=KABID,
        officer=KABID,
        delegate=KASI,
        mulai=TODAY,
        selesai=TODAY,
        alasan="Dinas luar",
        calendar=CALENDAR,
        now=NOW,
    )
    assert days == 1


def test_the_wib_date_decides_today() -> None:
    # 17.30 UTC on 1 December is 00.30 WIB on the 2nd (Asia/Pontianak, UTC+7).
    assert delegation.today(NOW.replace(hour=17, minute=30)) == date(2026, 12, 2)


def named(world: World, officer: Officer, delegate: Officer, **given: Any) -> Any:
    return delegation.name_delegate(
        store=world.store,
        roster=ROSTER,
        calendar=CALENDAR,
        by=given.pop("by", officer),
        officer_nip=officer.nip,
        delegate_nip=delegate.nip,
        mulai=given.pop("mulai", TODAY),
        selesai=given.pop("selesai", TODAY + timedelta(days=2)),
        alasan=given.pop("alasan", "Cuti tahunan"),
        now=world.now,
        **given,
    )


def test_overlapping_delegations_and_an_away_delegate_are_refused(world: World) -> None:
    named(world, KABID, KASI)
    with pytest.raises(delegation.DelegationRefused, match="sudah mempunyai Plh/Plt"):
        named(world, KABID, KASI, mulai=TODAY + timedelta(days=1))
    named(world, BUDI, YULIANA)
    with pytest.raises(delegation.DelegationRefused, match="sendiri berhalangan"):
        named(world, AGUS, BUDI)
    trail = world.store.officer_audit(KABID.nip)
    assert [e["action"] for e in trail] == ["delegation.named"]
    assert trail[0]["delegate_nip"] == KASI.nip and trail[0]["alasan"] == "Cuti tahunan"


# -- a task during the delegation --------------------------------------------------------------


def test_a_task_issued_during_the_delegation_goes_to_the_plh_who_signs_as_plh(
    world: World,
) -> None:
    named(world, KABID, KASI)
    ticket = world.issue(6)
    item = world.store.ticket(ticket_hash(ticket))
    assert item is not None and item["assignee"]["nip"] == KASI.nip
    assert item["atas_nama"]["nip"] == KABID.nip and item["atas_nama"]["jenis"] == "Plh"
    email = world.mailer.sent[-1]
    assert email.to == (str(KASI.email),)
    assert f"sebagai Plh. {KABID.jabatan} ({KABID.nama})" in email.text
    application = world.store.application(ID) or {}
    assert application["holder"]["nip"] == KASI.nip
    assert application["holder"]["atas_nama_nip"] == KABID.nip
    issued = [e for e in world.store.audit(ID) if e["action"] == "task.issued"][-1]
    assert (issued["nip"], issued["atas_nama_nip"]) == (KASI.nip, KABID.nip)

    # The Kabid's own NIP and code no longer decide it: the task is the Plh's.
    assert world.post(ticket, decision="done", disposisi="x", nip=KABID.nip).status == 403
    decided = world.post(ticket, decision="done", disposisi="Segera tugaskan.", nip=KASI.nip)
    assert decided.status == 200
    entry = [e for e in world.store.audit(ID) if e["action"] == "task.decided"][-1]
    assert (entry["nip"], entry["atas_nama_nip"]) == (KASI.nip, KABID.nip)
    assert entry["sebagai"] == f"Plh. {KABID.jabatan}"

    steps = world.store.steps(ID)
    nota = build_context(
        Jenis.NOTA_DINAS,
        application=world.store.application(ID) or {},
        steps=steps,
        roster=ROSTER,
        dinas=DINAS,
        nomor="N/1",
        now=NOW,
    )
    signer = nota["penandatangan"]
    assert signer["jabatan"] == "Plh. Kepala Bidang Perindustrian"
    assert signer["nama"] == KASI.nama and signer["pangkat"] == KASI.pangkat_golongan()


def test_outside_the_range_the_task_stays_with_the_officer(world: World) -> None:
    named(world, KABID, KASI, mulai=TODAY + timedelta(days=1))
    ticket = world.issue(6)
    item = world.store.ticket(ticket_hash(ticket)) or {}
    assert item["assignee"]["nip"] == KABID.nip and "atas_nama" not in item


# -- the index of who may be away ------------------------------------------------------------


def queried(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The officers whose delegations are Queried from now on."""
    asked: list[str] = []
    original = world.store.delegations

    def delegations(nip: str) -> list[dict[str, Any]]:
        asked.append(nip)
        return original(nip)

    monkeypatch.setattr(world.store, "delegations", delegations)
    return asked


def test_a_task_for_an_officer_with_no_plh_reaches_today_reads_no_delegation(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    named(world, KABID, KASI)
    named(world, BUDI, YULIANA, selesai=TODAY)
    asked = queried(world, monkeypatch)
    for nip in (OPERATOR.nip, KASI.nip, YULIANA.nip):  # never named away
        assert delegation.in_force_for(world.store, ROSTER, nip, world.now) is None
    assert asked == []
    assert delegation.in_force_for(world.store, ROSTER, KABID.nip, world.now) is not None
    assert asked == [KABID.nip]
    # The day after BUDI's last day, the index alone says he is back.
    assert (
        delegation.in_force_for(world.store, ROSTER, BUDI.nip, world.now + timedelta(days=1))
        is None
    )
    assert asked == [KABID.nip]


def test_a_table_kept_before_the_index_gets_it_from_its_first_reader_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = named(world, KABID, KASI, selesai=TODAY + timedelta(days=5))
    ended = named(world, BUDI, YULIANA)
    delegation.end_delegation(
        store=world.store,
        roster=ROSTER,
        by=BUDI,
        officer_nip=BUDI.nip,
        delegation_id=ended.id,
        now=world.now,
    )
    world.store.items.pop(("DELEGATIONS", "AWAY"))  # a table from before the index
    asked = queried(world, monkeypatch)
    found = delegation.in_force_for(world.store, ROSTER, KABID.nip, world.now)
    assert found is not None and found.id == earlier.id
    assert sorted(asked) == sorted([o.nip for o in ROSTER.officers] + [KABID.nip])
    index = world.store.away_index() or {}  # built: only what is not ended
    assert index["sampai"] == {KABID.nip: (TODAY + timedelta(days=5)).isoformat()}
    asked.clear()
    assert delegation.in_force_for(world.store, ROSTER, OPERATOR.nip, world.now) is None
    assert asked == []


def test_the_index_keeps_an_officer_s_latest_day_and_forgets_the_days_past(
    world: World,
) -> None:
    named(world, KABID, KASI, mulai=TODAY + timedelta(days=10), selesai=TODAY + timedelta(days=12))
    named(world, KABID, KASI, selesai=TODAY + timedelta(days=1))  # an earlier one, later named
    named(world, BUDI, YULIANA, selesai=TODAY)
    sampai = (world.store.away_index() or {})["sampai"]
    assert sampai[KABID.nip] == (TODAY + timedelta(days=12)).isoformat()
    world.now += timedelta(days=3)  # BUDI's day is past: the next write forgets it
    named(world, AGUS, YULIANA, mulai=TODAY + timedelta(days=3), selesai=TODAY + timedelta(days=3))
    assert BUDI.nip not in (world.store.away_index() or {})["sampai"]


def test_two_delegations_named_at_once_are_both_in_the_index(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = world.store.replace_away_index
    raced: list[bool] = []

    def replace(fields: dict[str, Any], *, version: int | None) -> Any:
        if not raced:  # another naming writes the index between this one's read and write
            raced.append(True)
            original({"sampai": {BUDI.nip: TODAY.isoformat()}}, version=version)
        return original(fields, version=version)

    monkeypatch.setattr(world.store, "replace_away_index", replace)
    named(world, KABID, KASI)
    sampai = (world.store.away_index() or {})["sampai"]
    assert set(sampai) == {KABID.nip, BUDI.nip}


# -- /meja's forms -----------------------------------------------------------------------------


def meja(
    world: World, officer: Officer, form: dict[str, str] | None = None, purpose: str = ""
) -> Any:
    """GET /meja as `officer`, or POST `form` with the session's token for `purpose`
    (unless the form brings its own)."""
    auth = local_auth(world.store, ROSTER, world.now)
    signed, cookie = sessions.start_session(auth, officer)
    cookies = (cookie.split(";", 1)[0],)
    desk = workspace.Desk(lambda: CALENDAR, world.mailer, BASE, same_site=True)
    if form is None:
        return workspace.meja_page(Request("", cookies=cookies), auth, method="GET", desk=desk)
    sent = {
        k: [v] for k, v in ({"csrf": sessions.form_token(auth, signed, purpose)} | form).items()
    }
    request = Request("", form=sent, cookies=cookies)
    return workspace.meja_page(request, auth, method="POST", desk=desk)


def test_naming_a_plh_in_force_on_meja_moves_the_open_task_and_ending_returns_it(
    world: World,
) -> None:
    first = world.issue(6)
    form = {
        "aksi": "delegasi",
        "untuk": KABID.nip,
        "plh": KASI.nip,
        "mulai": TODAY.isoformat(),
        "selesai": TODAY.isoformat(),
        "alasan": "Dinas luar ke Jakarta",
    }
    assert meja(world, KABID, form | {"csrf": "forged"}).status == 403
    assert delegation.of(world.store, KABID.nip) == []
    page = meja(world, KABID, form, "delegasi")
    assert (page.status, page.headers["location"]) == (303, "/meja?selesai=delegasi")
    assert world.store.ticket(ticket_hash(first))["status"] == Status.SUPERSEDED  # type: ignore[index]
    holder = (world.store.application(ID) or {})["holder"]
    assert (holder["nip"], holder["atas_nama_nip"]) == (KASI.nip, KABID.nip)
    moved = [e for e in world.store.audit(ID) if e["action"] == "task.delegated"]
    assert [(e["from_nip"], e["to_nip"], e["nip"]) for e in moved] == [
        (KABID.nip, KASI.nip, KABID.nip)
    ]
    shown = history(world.store.audit(ID), HISTORY_ACTIONS)
    assert any("dialihkan kepada" in h["text"] and "Plh selama" in h["text"] for h in shown)
    kasi_page = meja(world, KASI)
    assert f"Sebagai Plh/Plt untuk {KABID.nama}" in kasi_page.html
    assert "Plh. Kepala Bidang Perindustrian: " + KASI.nama in kasi_page.html

    (d,) = delegation.of(world.store, KABID.nip)
    end = {"aksi": "akhiri", "untuk": KABID.nip, "id": d.id}
    assert meja(world, OPERATOR, end, f"akhiri:{d.id}").status == 422
    ended = meja(world, KABID, end, f"akhiri:{d.id}")
    assert ended.status == 303
    holder = (world.store.application(ID) or {})["holder"]
    assert holder["nip"] == KABID.nip and "atas_nama_nip" not in holder
    assert [e["action"] for e in world.store.officer_audit(KABID.nip)] == [
        "delegation.named",
        "delegation.ended",
    ]


def test_meja_refuses_a_delegate_of_another_role_and_says_why(world: World) -> None:
    form = {
        "aksi": "delegasi",
        "untuk": KASI.nip,
        "plh": OPERATOR.nip,
        "mulai": TODAY.isoformat(),
        "selesai": TODAY.isoformat(),
        "alasan": "Sakit",
    }
    page = meja(world, KASI, form, "delegasi")
    assert page.status == 422
    assert "tidak dapat menjadi Plh/Plt Kasi: Plh/Plt harus Kasi." in page.html
    assert delegation.of(world.store, KASI.nip) == []


# -- the pool ----------------------------------------------------------------------------------


def test_a_task_of_an_away_member_is_in_the_pool_and_one_member_claims_it(
    world: World,
) -> None:
    world.store.save_step(ID, 7, {"ketua": BUDI.nip, "anggota": [YULIANA.nip]})
    ticket = world.issue(8)  # Budi's, issued before his leave began
    assert not pool.in_pool(world.store.application(ID) or {}, world.store, ROSTER, NOW)
    named(world, BUDI, AGUS, by=KASI)  # the Kasi names a Plh for Budi, in force today
    application = world.store.application(ID) or {}
    assert pool.in_pool(application, world.store, ROSTER, NOW)
    assert pool.may_claim(YULIANA, application) and not pool.may_claim(BUDI, application)
    assert not pool.may_claim(OPERATOR, application)  # another role of the team
    assert f'data-id-izin="{ID}"' in meja(world, YULIANA).html.split('id="pool"')[1]

    claim = {
        "aksi": "ambil",
        "id_izin": ID,
    }
    assert meja(world, YULIANA, claim, f"ambil:{ID}").status == 303
    assert world.store.ticket(ticket_hash(ticket))["status"] == Status.SUPERSEDED  # type: ignore[index]
    application = world.store.application(ID) or {}
    assert application["holder"]["nip"] == YULIANA.nip
    assert not pool.in_pool(application, world.store, ROSTER, NOW)
    claimed = [e for e in world.store.audit(ID) if e["action"] == "task.claimed"]
    assert [(e["from_nip"], e["to_nip"]) for e in claimed] == [(BUDI.nip, YULIANA.nip)]
    again = {
        "aksi": "ambil",
        "id_izin": ID,
    }
    assert meja(world, AGUS, again, f"ambil:{ID}").status == 409


def test_two_claims_of_one_task_one_wins(world: World) -> None:
    world.store.save_step(ID, 7, {"ketua": BUDI.nip, "anggota": [YULIANA.nip]})
    world.issue(8)
    named(world, BUDI, AGUS, by=KASI)
    stale = world.store.application(ID) or {}
    given: dict[str, Any] = {
        "store": world.store,
        "mailer": FakeMailer(),
        "roster": ROSTER,
        "public_base_url": BASE,
        "now": NOW,
    }
    pool.claim(ID, YULIANA, **given)
    # A second claim that read the record before the first moved the task loses.
    world.store.update_application(
        ID, {"holder": stale["holder"], "open_ticket": stale["open_ticket"]}
    )
    with pytest.raises(pool.NotClaimable):
        pool.claim(ID, AGUS, **given)
    open_tickets = [
        t
        for (_, sk), t in world.store.items.items()
        if sk.startswith("TICKET") and t.get("status") == Status.OPEN and t.get("step") == 8
    ]
    assert [t["assignee"]["nip"] for t in open_tickets] == [YULIANA.nip]


def test_no_secret_in_the_delegation_kept_on_a_ticket(world: World) -> None:
    named(world, KABID, KASI)
    item = world.store.ticket(ticket_hash(world.issue(6))) or {}
    assert set(item["atas_nama"]) == {"jenis", "delegation", "nama", "nip", "role", "jabatan"}
    assert not re.search(r"totp|secret", str(item["atas_nama"]))


def test_the_bap_approved_by_a_plh_kepala_dinas_is_sealed_as_plh() -> None:
    desk = Desk()
    desk.render_all()
    behalf = {"jenis": "Plh", "nama": KADIS.nama, "nip": KADIS.nip, "jabatan": KADIS.jabatan}
    approval = APPROVAL | {"oleh": KABID.nama, "nip": KABID.nip, "plh_untuk": behalf}
    for ref in desk.seal(approval):
        words = plain(desk.bucket.text(ref.key))
        signed = words.split("Ditandatangani secara elektronik", 1)[1]
        assert f"Plh. {KADIS.jabatan}" in words and KABID.nama in signed
        assert KADIS.nama not in signed


def test_a_late_task_of_a_plh_is_reported_to_the_supervisor_of_the_steps_role(
    world: World,
) -> None:
    named(world, KABID, KASI)
    first = len(world.mailer.sent)
    world.issue(6, token="token-6", reminders=1)
    reminder, overdue = world.mailer.sent[first:]
    assert reminder.to == (str(KASI.email),) and reminder.subject.startswith("PENGINGAT 1")
    # The Kepala Bidang is away: the Kepala Dinas, her supervisor, is told, not she.
    assert overdue.to == (str(KADIS.email),)
