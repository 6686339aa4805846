"""Step 14's TTE through BSrE (#16), with a fake BSrE: what is signed, what is kept, and
what the page shows when BSrE says no or does not answer."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from izin import wiring
from izin.bsre import MIN_IMAGE, BsreError, BsreUnavailable, Placement, Signer, WrongPassphrase
from izin.documents import SEALED_AT_APPROVAL
from izin.roster import Officer, Roster
from izin.sop import Role
from izin.tasks.tte import (
    BOTH_KEYS_TEXT,
    KEY_NEEDED_TEXT,
    TTE,
    UNAVAILABLE_TEXT,
    WRONG_KEY_TEXT,
    Tte,
    TteRefused,
    approval_id_for,
    sign_approval,
)
from izin.tickets import Status, ticket_hash
from PIL import Image

from tests.unit.conftest import DOOR_ID, TaskDoor
from tests.unit.test_documents import DINAS, ID_IZIN, KADIS, ROSTER, Desk

SIGNED_AT = datetime(2026, 12, 7, 7, 16, tzinfo=UTC)
PASSPHRASE = "passphrase-uji"
MARK = b"\n%BSrE-signed\n"

# Step 14 seals the same BAP and Surat Pengantar in most tests: lay each out once.
pytestmark = pytest.mark.usefixtures("rendered_once")


@dataclass
class FakeBsre:
    """BSrE as the client sees it: signs by appending a mark, or fails as told."""

    failures: list[Exception] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def sign_pdf(
        self,
        pdf: bytes,
        signer: Signer,
        *,
        image_png: bytes,
        placement: Placement,
        location: str,
        reason: str,
    ) -> bytes:
        self.calls.append({"signer": signer, "image": image_png, "placement": placement})
        if self.failures:
            raise self.failures.pop(0)
        return pdf + MARK


@dataclass
class Sleeps:
    seconds: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def tte_of(desk: Desk, bsre: FakeBsre, sleeps: Sleeps | None = None) -> Tte:
    return Tte(
        client=lambda: bsre,  # type: ignore[arg-type, return-value]
        bucket="izin-documents",
        put_object=desk.bucket.put_object,
        pause_seconds=0.5,
        sleep=sleeps or Sleeps(),
        clock=lambda: 0.0,
        dinas=desk.dinas,
    )


TICKET = {"id_izin": ID_IZIN, "kind": "step", "step": 14, "assignee": {"nip": KADIS}}
DIGEST = "d" * 64


def sign(desk: Desk, bsre: FakeBsre, *, roster: Roster = ROSTER, **kw: Any) -> str:
    return sign_approval(
        TICKET,
        DIGEST,
        PASSPHRASE,
        tte_of(desk, bsre, **kw),
        store=desk.store,
        roster=roster,
        now=SIGNED_AT,
        public_base_url="https://izin.example.go.id/",
    )


def sealed_items(desk: Desk) -> list[dict[str, Any]]:
    return [
        dict(item)
        for jenis in SEALED_AT_APPROVAL
        if (item := desk.store.get(f"APP#{ID_IZIN}", f"DOC#{jenis}#002")) is not None
    ]


def test_the_approval_seals_both_documents_with_pdfs_bsre_signed() -> None:
    desk, bsre = Desk(), FakeBsre()
    desk.render_all()
    approval_id = sign(desk, bsre)
    assert approval_id == approval_id_for(ID_IZIN, DIGEST)
    items = sealed_items(desk)
    assert [i["jenis"] for i in items] == list(SEALED_AT_APPROVAL)
    kadis = ROSTER.by_nip(KADIS)
    for item in items:
        pdf = desk.bucket.objects[item["pdf_key"]][0]
        assert pdf.endswith(MARK) and item["tte"] == TTE and item["approval_id"] == approval_id
    for call in bsre.calls:
        assert call["signer"].nik == kadis.nik and call["signer"].passphrase == PASSPHRASE
        assert call["placement"].page >= 1
        with Image.open(io.BytesIO(call["image"])) as image:
            assert image.size[0] >= MIN_IMAGE[0] and image.size[1] >= MIN_IMAGE[1]
    sealings = [e for e in desk.store.trail if e["action"] == "document.sealed"]
    assert [e.get("tte") for e in sealings] == [TTE, TTE]


def test_the_seal_state_keeps_what_the_page_signed() -> None:
    desk, bsre = Desk(), FakeBsre()
    desk.render_all()
    approval_id = sign(desk, bsre)
    before = {k: dict(v) for k, v in desk.store.items.items()}
    objects = dict(desk.bucket.objects)
    stored_approval = {
        "oleh": ROSTER.by_nip(KADIS).nama,
        "nip": KADIS,
        "pada": "2026-12-07T07:16:30+00:00",  # the step's own time: the id decides
        "approval_id": approval_id,
    }
    refs = desk.seal(stored_approval)
    assert [r.versi for r in refs] == [2, 2]
    assert desk.store.items == before and desk.bucket.objects == objects


def test_a_wrong_passphrase_seals_nothing() -> None:
    desk, bsre = Desk(), FakeBsre(failures=[WrongPassphrase("Passphrase anda salah")])
    desk.render_all()
    before = dict(desk.bucket.objects)
    with pytest.raises(WrongPassphrase):
        sign(desk, bsre)
    assert sealed_items(desk) == [] and desk.bucket.objects == before
    assert len(bsre.calls) == 1  # a wrong passphrase is never tried again


def test_bsre_down_is_tried_three_times_then_said() -> None:
    desk, sleeps = Desk(), Sleeps()
    bsre = FakeBsre(failures=[BsreUnavailable("refused")] * 3)
    desk.render_all()
    with pytest.raises(BsreUnavailable):
        sign(desk, bsre, sleeps=sleeps)
    assert len(bsre.calls) == 3 and sleeps.seconds == [0.5, 0.5]
    assert sealed_items(desk) == []


def test_bsre_back_within_the_retries_signs() -> None:
    desk = Desk()
    bsre = FakeBsre(failures=[BsreUnavailable("refused")])
    desk.render_all()
    sign(desk, bsre)
    assert len(sealed_items(desk)) == 2


def test_a_second_document_failing_leaves_the_first_unsealed_too() -> None:
    desk, bsre = Desk(), FakeBsre()
    desk.render_all()
    calls = 0

    def flaky(pdf: bytes, signer: Signer, **kw: Any) -> bytes:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise BsreUnavailable("down after the first")
        return pdf + MARK

    bsre.sign_pdf = flaky  # type: ignore[method-assign]
    with pytest.raises(BsreUnavailable):
        sign(desk, bsre)
    assert sealed_items(desk) == []


def test_bsre_refusing_otherwise_is_a_refusal_with_its_reason() -> None:
    desk = Desk()
    bsre = FakeBsre(failures=[BsreError("BSrE menolak (400): Sertifikat dicabut")])
    desk.render_all()
    with pytest.raises(TteRefused, match="Sertifikat dicabut"):
        sign(desk, bsre)


def test_a_signer_without_a_nik_is_refused_before_bsre_is_called() -> None:
    desk, bsre = Desk(), FakeBsre()
    desk.render_all()
    officers = tuple(o.model_copy(update={"nik": ""}) for o in ROSTER.officers)
    with pytest.raises(TteRefused, match="NIK"):
        sign(desk, bsre, roster=ROSTER.model_copy(update={"officers": officers}))
    assert bsre.calls == []


# -- the roster's NIK and passphrase ---------------------------------------------------------


def test_the_nik_the_passphrase_and_the_totp_secret_never_leave_the_officer() -> None:
    kadis = ROSTER.first(Role.KEPALA_DINAS)
    assert kadis.nik and kadis.bsre_passphrase and kadis.totp_secret
    dumped = str(kadis.model_dump(mode="json")) + repr(kadis) + str(kadis)
    for secret in (kadis.nik, kadis.bsre_passphrase, kadis.totp_secret):
        assert secret not in dumped  # a ticket keeps its assignee as dumped


@pytest.mark.parametrize(
    "secret",
    [
        {"bsre_passphrase": "uji-passphrase-lokal"},
        {"bsre_totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"},
    ],
)
def test_a_bsre_secret_alone_makes_a_local_roster(secret: dict[str, str]) -> None:
    kadis = ROSTER.first(Role.KEPALA_DINAS)
    officer = Officer.model_validate({**kadis.model_dump(), "totp_secret": "", **secret})
    roster = Roster(officers=(officer,), dpmptsp_email=ROSTER.dpmptsp_email)
    assert roster.carries_secrets()
    dumped = str(officer.model_dump(mode="json")) + repr(officer)
    assert next(iter(secret.values())) not in dumped


def test_a_bsre_totp_secret_must_be_base32() -> None:
    kadis = ROSTER.first(Role.KEPALA_DINAS).model_dump()
    with pytest.raises(ValueError, match="base32"):
        Officer.model_validate({**kadis, "bsre_totp_secret": "bukan base32!"})


# -- the task page ----------------------------------------------------------------------------


@dataclass
class Signing:
    """sign_approval as the page calls it, failing as told (the domain's own tests above)."""

    failure: Exception | None = None
    passphrases: list[str] = field(default_factory=list)
    totps: list[str] = field(default_factory=list)

    def __call__(
        self, ticket: Any, digest: str, passphrase: str, *_a: Any, totp: str = "", **_k: Any
    ) -> str:
        self.passphrases.append(passphrase)
        self.totps.append(totp)
        if self.failure is not None:
            raise self.failure
        return approval_id_for(ticket["id_izin"], digest)


@pytest.fixture
def bsre_door(task_door: TaskDoor, monkeypatch: pytest.MonkeyPatch) -> tuple[TaskDoor, Signing]:
    from izin.tasks import page

    signing = Signing()
    tte = Tte(
        client=FakeBsre,  # type: ignore[arg-type]
        bucket="izin-test-documents",
        put_object=lambda *_: None,
        dinas=DINAS,
    )
    monkeypatch.setattr(wiring, "tte", lambda: tte)
    monkeypatch.setattr(page, "sign_approval", signing)
    return task_door, signing


def test_step_14_asks_for_the_passphrase_and_never_shows_the_nik(
    bsre_door: tuple[TaskDoor, Signing],
) -> None:
    door, _ = bsre_door
    ticket, officer = door.ticket(14)
    page = door.get(ticket)
    assert page["statusCode"] == 200
    field = next(line for line in page["body"].splitlines() if 'name="passphrase"' in line)
    assert 'type="password"' in field and 'autocomplete="off"' in field
    kadis = door.roster.by_nip(officer.nip)
    assert kadis.nik not in page["body"] and kadis.bsre_passphrase not in page["body"]
    other, _ = door.ticket(13)
    assert 'name="passphrase"' not in door.get(other)["body"]


def test_without_bsre_step_14_asks_for_no_passphrase(task_door: TaskDoor) -> None:
    ticket, _ = task_door.ticket(14)
    assert 'name="passphrase"' not in task_door.get(ticket)["body"]


@pytest.mark.parametrize(
    ("passphrase", "failure", "status", "text"),
    [
        ("", None, 422, KEY_NEEDED_TEXT),
        ("salah-sekali", WrongPassphrase("Passphrase anda salah"), 422, WRONG_KEY_TEXT),
        ("benar-sekali", BsreUnavailable("refused"), 503, UNAVAILABLE_TEXT),
        ("benar-sekali", TteRefused("NIK penandatangan belum tercatat"), 422, "NIK penandatangan"),
    ],
)
def test_a_refused_signature_is_said_on_the_page_and_the_task_stays_open(
    bsre_door: tuple[TaskDoor, Signing],
    passphrase: str,
    failure: Exception | None,
    status: int,
    text: str,
) -> None:
    door, signing = bsre_door
    signing.failure = failure
    ticket, officer = door.ticket(14)
    body = urlencode({**door.proof(ticket, officer), "decision": "yes", "passphrase": passphrase})
    page = door.post(ticket, body)
    assert page["statusCode"] == status
    assert text in page["body"]
    if passphrase:
        assert signing.passphrases == [passphrase] and passphrase not in page["body"]
    assert (door.store.ticket(ticket_hash(ticket)) or {})["status"] == Status.OPEN
    assert door.recorder.outputs == []  # nothing handed to the waiting state


def test_a_signed_approval_hands_on_its_id_and_never_the_passphrase(
    bsre_door: tuple[TaskDoor, Signing],
) -> None:
    door, signing = bsre_door
    ticket, officer = door.ticket(14)
    body = urlencode({**door.proof(ticket, officer), "decision": "yes", "passphrase": "rahasia-1"})
    page = door.post(ticket, body)
    assert page["statusCode"] == 200, page["body"]
    assert signing.passphrases == ["rahasia-1"]
    stored = door.store.step_data(DOOR_ID, 14)
    assert stored["tte"] == TTE and stored["approval_id"] == approval_id_for(
        DOOR_ID, ticket_hash(ticket)
    )
    kept = str(door.store.items) + str(door.recorder.outputs) + str(door.store.trail)
    assert "rahasia-1" not in kept


def test_a_bsre_totp_signs_in_place_of_the_passphrase_and_is_kept_nowhere(
    bsre_door: tuple[TaskDoor, Signing],
) -> None:
    door, signing = bsre_door
    ticket, officer = door.ticket(14)
    page = door.get(ticket)["body"]
    field = next(line for line in page.splitlines() if 'name="bsre_totp"' in line)
    assert 'value=""' in field and 'name="kode"' not in field  # apart from our own code
    body = {**door.proof(ticket, officer), "decision": "yes", "bsre_totp": " 492 039 "}
    answer = door.post(ticket, urlencode(body))
    assert answer["statusCode"] == 200, answer["body"]
    assert signing.passphrases == [""] and signing.totps == ["492039"]
    kept = str(door.store.items) + str(door.recorder.outputs) + str(door.store.trail)
    assert "492039" not in kept and "492 039" not in kept


@pytest.mark.parametrize(
    ("keys", "text"),
    [
        ({"passphrase": "rahasia-1", "bsre_totp": "492039"}, BOTH_KEYS_TEXT),
        ({"passphrase": "", "bsre_totp": "  "}, KEY_NEEDED_TEXT),
    ],
)
def test_both_or_neither_bsre_secret_is_a_422_that_keeps_the_rest_and_no_secret(
    bsre_door: tuple[TaskDoor, Signing], keys: dict[str, str], text: str
) -> None:
    door, signing = bsre_door
    ticket, officer = door.ticket(14)
    note = "Catatan yang diketik tetap ada"
    body = {**door.proof(ticket, officer), "decision": "yes", "catatan": note, **keys}
    page = door.post(ticket, urlencode(body))
    assert page["statusCode"] == 422
    assert text in page["body"] and note in page["body"]
    assert "rahasia-1" not in page["body"] and "492039" not in page["body"]
    assert signing.passphrases == []  # BSrE was not asked
    assert (door.store.ticket(ticket_hash(ticket)) or {})["status"] == Status.OPEN


def test_a_no_at_step_14_signs_nothing(bsre_door: tuple[TaskDoor, Signing]) -> None:
    door, signing = bsre_door
    ticket, officer = door.ticket(14)
    fields = {"decision": "no", "catatan": "Perbaiki.", "kembalikan_ke": "bap"}
    page = door.post(ticket, urlencode({**door.proof(ticket, officer), **fields}))
    assert page["statusCode"] == 200, page["body"]
    assert signing.passphrases == []


def test_the_trail_says_a_document_was_signed_through_bsre() -> None:
    from izin.pages import describe

    entry = {"action": "document.sealed", "jenis": "bap", "nomor": "1/BAP", "versi": 2}
    assert "(BSrE)" not in describe(entry)
    assert "ditandatangani secara elektronik (BSrE)" in describe(entry | {"tte": TTE})


def test_the_verify_page_shows_bsre_unavailable_without_hiding_the_hash_check() -> None:
    from izin.verify import BsreCheck, VerifyContext, bsre_check

    def down(_pdf: bytes) -> Any:
        raise BsreUnavailable("refused")

    desk = Desk()
    ctx = VerifyContext(desk.store, desk.dinas, ROSTER, lambda _k: b"", bsre_verify=down)
    assert bsre_check(b"%PDF-1.7 ...", ctx) == BsreCheck(valid=False, summary="", unavailable=True)
    assert bsre_check(b"<html>", ctx) is None  # only a PDF goes to BSrE
    unconfigured = VerifyContext(desk.store, desk.dinas, ROSTER, lambda _k: b"")
    assert bsre_check(b"%PDF-1.7", unconfigured) is None


def test_bsre_unreachable_the_verify_page_checks_the_signatures_offline_where_configured() -> None:
    from izin.bsre import Verification
    from izin.verify import BsreCheck, VerifyContext, bsre_check

    def down(_pdf: bytes) -> Any:
        raise BsreUnavailable("refused")

    checked: list[bytes] = []

    def offline(pdf: bytes) -> Verification:
        checked.append(pdf)
        return Verification(pdf.endswith(b"%%EOF"), "VALID", ("Kadis",))

    desk = Desk()
    ctx = VerifyContext(
        desk.store, desk.dinas, ROSTER, lambda _k: b"", bsre_verify=down, offline_verify=offline
    )
    pdf = b"%PDF-1.7 ... %%EOF"
    assert bsre_check(pdf, ctx) == BsreCheck(True, "VALID", ("Kadis",), offline=True)
    assert bsre_check(b"%PDF-1.7 changed", ctx) == BsreCheck(
        False, "VALID", ("Kadis",), offline=True
    )
    up = VerifyContext(
        desk.store,
        desk.dinas,
        ROSTER,
        lambda _k: b"",
        bsre_verify=lambda _pdf: Verification(True, "VALID", ("BSrE",)),
        offline_verify=offline,
    )
    assert bsre_check(pdf, up) == BsreCheck(True, "VALID", ("BSrE",))  # BSrE's word first
    assert checked == [pdf, b"%PDF-1.7 changed"]
