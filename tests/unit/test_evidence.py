"""Evidence uploads on the task pages, and step 11's signatures, on the in-memory store with
a dict-backed bucket: what is recorded, what is refused, and what the decision keeps."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from izin import evidence, wiring
from izin.memory_store import MemoryStore
from izin.roster import Role
from izin.tickets import Status, ticket_hash
from izin_local import samples

from tests.unit.conftest import DOOR_ID

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
JPEG = b"\xff\xd8\xff\xe0 a photo"
PDF = b"%PDF-1.4 a scan"
TOKEN = "0123456789abcdef" * 2


class Bucket:
    """The bucket as a dict: what a browser's upload put there, by key."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.deleted: list[str] = []

    def upload_form(
        self, prefix: str, redirect: str, max_bytes: int, seconds: int
    ) -> tuple[str, dict[str, str]]:
        return "https://izin-docs.s3.ap-southeast-3.amazonaws.com/", {
            "success_action_redirect": redirect,
            "policy": f"{prefix}|{max_bytes}",
        }

    def head(self, key: str) -> int | None:
        return len(self.objects[key]) if key in self.objects else None

    def read(self, key: str) -> bytes:
        return self.objects[key]

    def delete(self, key: str) -> None:
        self.deleted.append(key)
        self.objects.pop(key, None)

    def link(self, key: str, content_type: str) -> str:
        return f"https://bucket.example/{key}?type={content_type}"


def ticket(step: int = 10, id_izin: str = DOOR_ID) -> dict[str, Any]:
    return {
        "id_izin": id_izin,
        "step": step,
        "assignee": {"nama": "Budi Santoso, S.T.", "nip": "198803202012121002"},
    }


def key(name: str, step: int = 10, id_izin: str = DOOR_ID) -> str:
    return evidence.prefix(id_izin, step, TOKEN) + name


def test_a_photo_is_recorded_once_with_its_size_type_and_sha256() -> None:
    store, bucket = MemoryStore(), Bucket()
    bucket.objects[key("foto.jpg")] = JPEG
    for _ in range(2):  # S3's redirect followed twice (a reload) records it once
        upload = evidence.record_upload(
            key("foto.jpg"), ticket(), bucket=bucket, store=store, now=NOW
        )
    assert (upload["nama"], upload["content_type"], upload["ukuran"]) == (
        "foto.jpg",
        "image/jpeg",
        len(JPEG),
    )
    assert [u["key"] for u in evidence.uploads(store, DOOR_ID, 10)] == [key("foto.jpg")]
    assert evidence.uploads(store, DOOR_ID, 11) == []
    assert store.actions().count("lampiran.uploaded") == 1


@pytest.mark.parametrize(
    ("where", "content", "error", "deleted"),
    [
        (key("x.jpg", id_izin="IP-OTHER"), JPEG, "bukan unggahan untuk tugas ini", False),
        (key("x.jpg", step=11), JPEG, "bukan unggahan untuk tugas ini", False),
        ("applications/IP-DOOR-0001/documents/bap/v001.html", JPEG, "bukan unggahan", False),
        (key("catatan.jpg"), b"just text", "hanya JPEG, PNG, atau PDF", True),
        (key("kosong.pdf"), b"", "antara 1 byte", True),
        (key("hilang.jpg"), None, "tidak ditemukan", False),
    ],
    ids=["other-application", "other-step", "a-document", "not-an-image", "empty", "missing"],
)
def test_an_upload_not_this_task_s_or_of_another_type_is_refused(
    where: str, content: bytes | None, error: str, deleted: bool
) -> None:
    store, bucket = MemoryStore(), Bucket()
    if content is not None:
        bucket.objects[where] = content
    with pytest.raises(evidence.UploadRefused, match=error):
        evidence.record_upload(where, ticket(), bucket=bucket, store=store, now=NOW)
    assert store.uploads(DOOR_ID) == [] and (bucket.deleted == [where]) is deleted


def test_a_refused_upload_is_deleted_only_once_the_page_proved_what_it_presumed() -> None:
    """The task page presumes its roster unread: a refused file is deleted only after the
    page has read it (`before_deleting`). Refused there, the file is left for the page made
    again, which names the true reason, not a missing file."""
    store, bucket = MemoryStore(), Bucket()
    bucket.objects[key("catatan.jpg")] = b"just text"

    class Stale(Exception):
        pass

    def stale() -> None:
        raise Stale

    with pytest.raises(Stale):
        evidence.record_upload(
            key("catatan.jpg"), ticket(), bucket=bucket, store=store, now=NOW, before_deleting=stale
        )
    assert bucket.deleted == [] and key("catatan.jpg") in bucket.objects


def test_a_pdf_and_a_png_are_kept_as_what_their_bytes_say() -> None:
    assert evidence.sniff(PDF) == "application/pdf"
    assert evidence.sniff(b"\x89PNG\r\n\x1a\n...") == "image/png"
    assert evidence.sniff(b"GIF89a") is None


# -- through the task page's door ---------------------------------------------------------


@pytest.fixture
def door(task_door: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    bucket = Bucket()
    monkeypatch.setattr(wiring, "evidence", lambda: bucket)
    task_door.bucket = bucket
    ketua, anggota, *_ = task_door.roster.holders(Role.TIM_TEKNIS)
    task_door.store.save_step(DOOR_ID, 7, {"ketua": ketua.nip, "anggota": [anggota.nip]})
    return task_door


def record(door: Any, link: str, where: str) -> dict[str, Any]:
    event = {
        "routeKey": "GET /tasks/{ticket}/lampiran",
        "requestContext": {
            "http": {"method": "GET", "path": "/x", "sourceIp": "1.2.3.4", "userAgent": "t"}
        },
        "pathParameters": {"ticket": link},
        "queryStringParameters": {"bucket": "izin-docs", "key": where},
    }
    return dict(door.handler(event))


def test_the_page_offers_an_upload_form_to_the_bucket_and_its_csp_allows_it(door: Any) -> None:
    link, _ = door.ticket(10)
    answer = door.get(link)
    page = answer["body"]
    assert 'action="https://izin-docs.s3.ap-southeast-3.amazonaws.com/"' in page
    assert 'enctype="multipart/form-data"' in page and 'name="file"' in page
    assert f"https://izin.example/tasks/{link}/lampiran" in page  # where S3 sends it back
    assert (
        "form-action 'self' https://izin-docs.s3.ap-southeast-3.amazonaws.com"
        in answer["headers"]["content-security-policy"]
    )
    # The upload form stands outside the decision form, before it.
    assert page.index('enctype="multipart/form-data"') < page.index("data-sop-step=")


def test_s3_s_redirect_records_the_file_and_shows_the_page_again(door: Any) -> None:
    link, _ = door.ticket(10)
    where = evidence.prefix(DOOR_ID, 10, TOKEN) + "tangki.jpg"
    door.bucket.objects[where] = JPEG
    answer = record(door, link, where)
    assert answer["statusCode"] == 303
    assert answer["headers"]["location"] == f"https://izin.example/tasks/{link}"
    assert "tangki.jpg" in door.get(link)["body"]
    # A later reader (the Kasi at step 12) sees the photo, and is offered no upload.
    later, _ = door.ticket(12)
    page = door.get(later)
    assert "tangki.jpg" in page["body"] and "langkah 10" in page["body"]
    assert 'enctype="multipart/form-data"' not in page["body"]
    assert "form-action 'self';" in page["headers"]["content-security-policy"]
    door.bucket.objects[where.replace("tangki.jpg", "x.jpg")] = b"MZ\x90\x00"
    refused = record(door, link, where.replace("tangki.jpg", "x.jpg"))
    assert refused["statusCode"] == 422 and "Jenis berkas tidak diterima" in refused["body"]


def test_step_11_refuses_a_blank_signature_line_and_keeps_the_signed_page(door: Any) -> None:
    link, officer = door.ticket(11)
    ketua, anggota, *_ = door.roster.holders(Role.TIM_TEKNIS)
    assert officer.nip == ketua.nip  # the ketua decides: his line is signed by it
    written = samples.bap()
    answer = door.post(
        link, urlencode({**written, **door.proof(link, officer), "decision": "done"})
    )
    assert answer["statusCode"] == 422
    # Every blank line at once: the company's representative unnamed, and the anggota, who
    # decided nothing, neither signed in the system nor ticked as signed on paper.
    assert 'id="e-wakil_perusahaan"' in answer["body"]
    assert f"Tanda tangan BAP belum lengkap: {anggota.nama}" in answer["body"]
    # Ticked as signed on paper, but no signed page uploaded yet.
    signed = {**written, **samples.signatures([anggota.nip])}
    body = urlencode({**signed, **door.proof(link, officer), "decision": "done"}, doseq=True)
    answer = door.post(link, body)
    assert answer["statusCode"] == 422 and "Unggah halaman BAP" in answer["body"]
    assert door.store.ticket(ticket_hash(link))["status"] == Status.OPEN
    where = evidence.prefix(DOOR_ID, 11, TOKEN) + "bap-ditandatangani.pdf"
    door.bucket.objects[where] = PDF
    assert record(door, link, where)["statusCode"] == 303
    assert door.post(link, body)["statusCode"] == 200
    kept = door.store.step_data(DOOR_ID, 11)
    assert kept["ttd_tim"] == [anggota.nip] and kept["wakil_perusahaan"] == "Ir. Lukas Tan"
    assert [f["nama"] for f in kept["lampiran"]] == ["bap-ditandatangani.pdf"]
    assert kept["lampiran"][0]["sha256"] == hashlib.sha256(PDF).hexdigest()
