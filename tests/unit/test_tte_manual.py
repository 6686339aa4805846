"""Step 14 signed by hand when BSrE's API stays down (#16): the PDFs offered are the same
every time, and only those PDFs, validly signed by the step's signer, are recorded."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from izin import evidence, wiring
from izin.bsre import BsreUnavailable, Verification
from izin.tasks.tte import TTE, UNAVAILABLE_TEXT, ManualTte, Tte, approval_id_for
from izin.tasks.tte_manual import (
    MANUAL,
    ManualRefused,
    Upload,
    accept,
    offer,
)
from izin.tickets import Status, ticket_hash

from tests.unit.conftest import DOOR_ID, TaskDoor
from tests.unit.test_documents import DINAS, ID_IZIN, KADIS, ROSTER, Desk
from tests.unit.test_evidence import Bucket as EvidenceBucket
from tests.unit.test_tte import (
    DIGEST,
    MARK,
    SIGNED_AT,
    FakeBsre,
    Signing,
    sealed_items,
    tte_of,
)

Verify = Callable[[bytes], Verification]

TICKET: dict[str, Any] = {"id_izin": ID_IZIN, "kind": "step", "step": 14, "status": "open"}
TICKET |= {"assignee": {"nip": KADIS, "nama": ROSTER.by_nip(KADIS).nama}}

# Step 14 seals the same BAP and Surat Pengantar in most tests: lay each out once.
pytestmark = pytest.mark.usefixtures("rendered_once")


def verdict(pdf: bytes) -> Verification:
    """BSrE's verify, faked: a PDF ending with the mark is signed by the Kepala Dinas."""
    if pdf.endswith(MARK):
        return Verification(True, "VALID", (ROSTER.by_nip(KADIS).nama,))
    return Verification(False, "INVALID")


def manual_of(desk: Desk, verify: Verify = verdict) -> ManualTte:
    return ManualTte(
        read_object=lambda key: desk.bucket.objects[key][0],
        verify=verify,
        link=lambda key: f"https://s3.example/{key}",
    )


def offer_at(desk: Desk, ticket: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """The page's offer after BSrE stayed down, made at `now` from the ticket as read."""
    return offer(
        ticket,
        DIGEST,
        tte_of(desk, FakeBsre()),
        store=desk.store,
        roster=ROSTER,
        now=now,
        public_base_url="https://izin.example.go.id/",
    )


def offered_desk() -> tuple[Desk, dict[str, Any], list[dict[str, Any]]]:
    desk = Desk()
    desk.render_all()
    desk.store.put_ticket(DIGEST, dict(TICKET))
    drafts = offer_at(desk, TICKET, SIGNED_AT)
    ticket = desk.store.ticket(DIGEST)
    assert ticket is not None
    return desk, ticket, drafts


def unsigned(desk: Desk, drafts: list[dict[str, Any]]) -> list[bytes]:
    return [desk.bucket.objects[d["pdf_key"]][0] for d in drafts]


def take(
    desk: Desk, ticket: dict[str, Any], uploads: list[Upload], verify: Verify = verdict
) -> str:
    return accept(
        ticket,
        uploads,
        replace(tte_of(desk, FakeBsre()), manual=manual_of(desk, verify)),
        store=desk.store,
        roster=ROSTER,
    )


def test_the_offer_is_made_once_and_the_same_bytes_are_offered_again() -> None:
    desk, ticket, drafts = offered_desk()
    assert [d["jenis"] for d in drafts] and all(d["pdf_key"] in desk.bucket.objects for d in drafts)
    assert ticket[MANUAL]["approval_id"] == approval_id_for(ID_IZIN, DIGEST)
    pdfs = unsigned(desk, drafts)
    again = offer_at(desk, ticket, SIGNED_AT.replace(hour=9))
    assert again == drafts and unsigned(desk, again) == pdfs
    assert sealed_items(desk) == []  # offering records no version


def test_two_racing_offers_keep_one_and_both_pages_offer_its_pdfs_unchanged() -> None:
    """Two 503s at once: each read the ticket before either kept an offer (TICKET, stale),
    each renders (at its own moment, so other bytes); one offer is kept, both answer it."""
    desk, _, first = offered_desk()
    kept = {key: body for key, (body, *_rest) in desk.bucket.objects.items()}
    second = offer_at(desk, TICKET, SIGNED_AT.replace(day=8))  # TICKET: as read before
    assert second == first
    assert (desk.store.ticket(DIGEST) or {})[MANUAL]["drafts"] == first
    rendered_again = set(desk.bucket.objects) - set(kept)
    assert rendered_again, "the second request rendered other files (the race was real)"
    for draft in first:  # the kept offer's files, byte for byte as its record says
        for key in (draft["pdf_key"], draft["html_key"]):
            assert desk.bucket.objects[key][0] == kept[key]
        pdf = desk.bucket.objects[draft["pdf_key"]][0]
        assert hashlib.sha256(pdf).hexdigest() == draft["pdf_sha256"]
        assert draft["pdf_key"].startswith(
            f"applications/{ID_IZIN}/tte-manual/{approval_id_for(ID_IZIN, DIGEST)}/"
        )


def test_signed_uploads_are_recorded_as_the_sealed_versions_by_hand() -> None:
    desk, ticket, drafts = offered_desk()
    uploads = [
        Upload(f"{d['jenis']}.pdf", pdf + MARK)
        for d, pdf in zip(drafts, unsigned(desk, drafts), strict=True)
    ]
    approval_id = take(desk, ticket, uploads)
    assert approval_id == ticket[MANUAL]["approval_id"]
    items = sealed_items(desk)
    assert [i["jenis"] for i in items] == [d["jenis"] for d in drafts]
    for item, draft, upload in zip(items, drafts, uploads, strict=True):
        assert desk.bucket.objects[item["pdf_key"]][0] == upload.content
        assert item["tte"] == TTE and item["tte_manual"] is True
        assert item["approval_id"] == approval_id and item["document_id"] == draft["document_id"]
    # The Seal state finds them sealed by this approval and keeps them.
    before = dict(desk.bucket.objects)
    refs = desk.seal({"oleh": "x", "nip": KADIS, "pada": SIGNED_AT, "approval_id": approval_id})
    assert [r.document_id for r in refs] == [i["document_id"] for i in items]
    assert desk.bucket.objects == before
    sealings = [e for e in desk.store.trail if e["action"] == "document.sealed"]
    assert all(e.get("tte_manual") for e in sealings)


def test_an_upload_that_is_not_the_offered_pdf_is_refused() -> None:
    desk, ticket, drafts = offered_desk()
    pdfs = unsigned(desk, drafts)
    changed = pdfs[0].replace(b"/Type", b"/Tipe", 1) + MARK  # edited, then signed
    uploads = [Upload("bap.pdf", changed), Upload("surat.pdf", pdfs[1] + MARK)]
    with pytest.raises(ManualRefused, match=r"bap\.pdf bukan dokumen yang ditawarkan"):
        take(desk, ticket, uploads)
    assert sealed_items(desk) == []


def test_an_unsigned_or_invalid_upload_is_refused() -> None:
    desk, ticket, drafts = offered_desk()
    pdfs = unsigned(desk, drafts)
    with pytest.raises(ManualRefused, match="belum ditandatangani"):
        take(desk, ticket, [Upload("a.pdf", pdfs[0]), Upload("b.pdf", pdfs[1] + MARK)])
    forged = [Upload("a.pdf", pdfs[0] + b"\n%forged\n"), Upload("b.pdf", pdfs[1] + MARK)]
    with pytest.raises(ManualRefused, match="tidak sah menurut BSrE"):
        take(desk, ticket, forged)
    assert sealed_items(desk) == []


def test_a_signature_by_someone_else_is_refused() -> None:
    desk, ticket, drafts = offered_desk()
    uploads = [Upload(f"{i}.pdf", pdf + MARK) for i, pdf in enumerate(unsigned(desk, drafts))]
    with pytest.raises(ManualRefused, match="tidak ditandatangani oleh"):
        take(desk, ticket, uploads, verify=lambda _: Verification(True, "VALID", ("Orang Lain",)))
    assert sealed_items(desk) == []


def test_a_missing_document_or_bsre_verify_down_records_nothing() -> None:
    desk, ticket, drafts = offered_desk()
    pdfs = unsigned(desk, drafts)
    with pytest.raises(ManualRefused, match="belum diunggah"):
        take(desk, ticket, [Upload("a.pdf", pdfs[0] + MARK)])
    with pytest.raises(ManualRefused, match="Belum ada PDF"):
        take(desk, ticket, [])

    def down(_: bytes) -> Verification:
        raise BsreUnavailable("no answer")

    uploads = [Upload(f"{i}.pdf", pdf + MARK) for i, pdf in enumerate(pdfs)]
    with pytest.raises(ManualRefused, match="memeriksa tanda tangan"):
        take(desk, ticket, uploads, verify=down)
    assert sealed_items(desk) == []


def test_a_later_good_upload_corrects_an_earlier_wrong_one() -> None:
    desk, ticket, drafts = offered_desk()
    pdfs = unsigned(desk, drafts)
    uploads = [
        Upload("salah.pdf", b"%PDF-1.7 other"),
        *(Upload(f"{i}.pdf", p + MARK) for i, p in enumerate(pdfs)),
    ]
    take(desk, ticket, uploads)
    assert len(sealed_items(desk)) == 2


# -- through the task page's door ---------------------------------------------------------


@dataclass
class ByHand:
    """tte_manual as the page calls it: offers fixed drafts, accepts or refuses as told."""

    refusal: Exception | None = None
    accepted: list[list[Upload]] = field(default_factory=list)

    def offer(self, ticket: Any, digest: str, *_a: Any, store: Any, **_k: Any) -> list[Any]:
        drafts = [{"jenis": "bap", "judul": "BAP", "nomor": "1/BAP", "pdf_key": "k/bap.pdf"}]
        store.update_ticket(digest, {MANUAL: {"approval_id": "PSTJ-X", "drafts": drafts}})
        return drafts

    def accept(self, ticket: Any, uploads: list[Upload], *_a: Any, **_k: Any) -> str:
        self.accepted.append(list(uploads))
        if self.refusal is not None:
            raise self.refusal
        return "PSTJ-X"


@pytest.fixture
def manual_door(
    task_door: TaskDoor, monkeypatch: pytest.MonkeyPatch
) -> tuple[TaskDoor, ByHand, EvidenceBucket]:
    from izin.tasks import page, tte_manual

    by_hand, bucket = ByHand(), EvidenceBucket()
    manual = ManualTte(read_object=bucket.read, verify=verdict, link=lambda k: f"https://dl/{k}")
    tte = Tte(
        client=FakeBsre,  # type: ignore[arg-type]
        bucket="izin-test-documents",
        put_object=lambda *_: None,
        dinas=DINAS,
    )
    monkeypatch.setattr(wiring, "tte", lambda: replace(tte, manual=manual))
    monkeypatch.setattr(wiring, "evidence", lambda: bucket)
    monkeypatch.setattr(page, "sign_approval", Signing(failure=BsreUnavailable("down")))
    monkeypatch.setattr(tte_manual, "offer", by_hand.offer)
    monkeypatch.setattr(tte_manual, "accept", by_hand.accept)
    return task_door, by_hand, bucket


def test_bsre_down_offers_the_pdfs_to_sign_by_hand_and_an_upload(
    manual_door: tuple[TaskDoor, ByHand, EvidenceBucket],
) -> None:
    door, _, _ = manual_door
    ticket, officer = door.ticket(14)
    body = urlencode({**door.proof(ticket, officer), "decision": "yes", "passphrase": "rahasia-2"})
    page = door.post(ticket, body)
    assert page["statusCode"] == 503
    assert UNAVAILABLE_TEXT in page["body"] and 'id="tte-manual"' in page["body"]
    assert "https://dl/k/bap.pdf" in page["body"] and 'class="unggah"' in page["body"]
    assert "rahasia-2" not in page["body"]
    shown = door.get(ticket)  # every later view offers the same
    assert "https://dl/k/bap.pdf" in shown["body"]
    assert (door.store.ticket(ticket_hash(ticket)) or {})["status"] == Status.OPEN


def test_the_signed_upload_decides_without_a_passphrase(
    manual_door: tuple[TaskDoor, ByHand, EvidenceBucket],
) -> None:
    door, by_hand, bucket = manual_door
    ticket, officer = door.ticket(14)
    digest = ticket_hash(ticket)
    by_hand.offer({}, digest, store=door.store)
    key = evidence.prefix(DOOR_ID, 14, "a" * 32) + "bap-ttd.pdf"
    bucket.objects[key] = b"%PDF-1.7 signed"
    item = door.store.ticket(digest) or {}
    evidence.record_upload(key, item, bucket=bucket, store=door.store, now=SIGNED_AT)
    page = door.post(ticket, urlencode({**door.proof(ticket, officer), "decision": "yes"}))
    assert page["statusCode"] == 200, page["body"]
    assert by_hand.accepted == [[Upload("bap-ttd.pdf", b"%PDF-1.7 signed")]]
    stored = door.store.step_data(DOOR_ID, 14)
    assert stored["approval_id"] == "PSTJ-X" and stored["tte"] == TTE and stored["tte_manual"]
    assert any(e["action"] == "task.tte_manual" for e in door.store.trail)


def test_a_refused_upload_keeps_the_task_open_and_says_why(
    manual_door: tuple[TaskDoor, ByHand, EvidenceBucket],
) -> None:
    door, by_hand, _ = manual_door
    by_hand.refusal = ManualRefused("Berkas x.pdf bukan dokumen yang ditawarkan")
    ticket, officer = door.ticket(14)
    by_hand.offer({}, ticket_hash(ticket), store=door.store)
    page = door.post(ticket, urlencode({**door.proof(ticket, officer), "decision": "yes"}))
    assert page["statusCode"] == 422 and "x.pdf bukan dokumen yang ditawarkan" in page["body"]
    assert (door.store.ticket(ticket_hash(ticket)) or {})["status"] == Status.OPEN
    assert door.recorder.outputs == [] and door.store.step_data(DOOR_ID, 14) == {}


def test_a_retry_after_a_partial_record_records_the_rest_only() -> None:
    desk, ticket, drafts = offered_desk()
    uploads = [Upload(f"{i}.pdf", p + MARK) for i, p in enumerate(unsigned(desk, drafts))]
    first = dict(ticket, **{MANUAL: {**ticket[MANUAL], "drafts": drafts[:1]}})
    take(desk, first, uploads[:1])  # as if the second record had failed
    take(desk, ticket, uploads)
    assert [i["versi"] for i in sealed_items(desk)] == [2, 2]
