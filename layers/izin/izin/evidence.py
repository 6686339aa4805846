"""Evidence an officer attaches to a step: field photos (step 10), the page signed on paper
(step 11), scans, the manual SIINAS receipt.

The bytes never pass through a Lambda function. The task page carries a plain HTML form
that posts the file straight to S3 under a presigned POST policy: the key must start with
a prefix made for this page view (random, so no key is guessable; no secret in it), the
size must be within `content-length-range`, and S3 then redirects the browser to
`/tasks/{ticket}/lampiran`, which records the upload: the object must exist under the
ticket's prefix (HeadObject), and its first bytes must be a JPEG, a PNG or a PDF (the
policy cannot limit what a file holds, only what a form field says); anything else is
deleted and refused. A recorded upload is listed on the task pages, and frozen into the
step's data when the officer decides, from where the BAP lists it as a lampiran with its
SHA-256.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from izin.store import ConditionFailed, Store

MAX_BYTES = 10 * 1024 * 1024  # a phone photo or a scanned page, with room to spare
FORM_SECONDS = 3600  # how long a page's upload form may be used
# What a file's first bytes must be, and the type it is then kept as.
TYPES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}
ACCEPT = ",".join(TYPES)
TYPE_NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "application/pdf": "PDF"}
FILENAME = "${filename}"  # S3 puts the uploaded file's name here
_KEY = re.compile(r"applications/([^/]+)/lampiran/(\d{2})/([0-9a-f]{32})/([^/]{1,255})")


class UploadRefused(ValueError):
    """An upload that is not kept: the message says why, in Indonesian, for the page."""


class EvidenceBucket(Protocol):
    """The bucket as evidence uses it (izin.wiring.S3Evidence; a dict-backed fake in tests)."""

    def upload_form(
        self, prefix: str, redirect: str, max_bytes: int, seconds: int
    ) -> tuple[str, dict[str, str]]:
        """A presigned POST: the URL the form posts to and its hidden fields."""
        ...

    def head(self, key: str) -> int | None:
        """The object's size in bytes, or None when there is none."""
        ...

    def read(self, key: str) -> bytes:
        """The object's bytes."""
        ...

    def delete(self, key: str) -> None:
        """Remove an object that is refused."""
        ...

    def link(self, key: str, content_type: str) -> str:
        """A short-lived link to read the object, served as `content_type`."""
        ...


@dataclass(frozen=True)
class UploadForm:
    """What the task page's upload form needs."""

    url: str
    fields: dict[str, str]
    accept: str = ACCEPT
    max_mb: int = MAX_BYTES // (1024 * 1024)


def prefix(id_izin: str, step: int, token: str) -> str:
    """Where one page view's uploads go: the application, the step, a random part."""
    return f"applications/{id_izin}/lampiran/{step:02d}/{token}/"


def upload_form(
    bucket: EvidenceBucket, id_izin: str, step: int, redirect: str, *, token: str = ""
) -> UploadForm:
    """A form that posts one file to the bucket under a fresh prefix, then to `redirect`."""
    start = prefix(id_izin, step, token or secrets.token_hex(16))
    url, fields = bucket.upload_form(start, redirect, MAX_BYTES, FORM_SECONDS)
    return UploadForm(url, {**fields, "key": start + FILENAME})


def sniff(head: bytes) -> str | None:
    """The type a file's first bytes say it is (JPEG, PNG, PDF), or None."""
    return next((t for t, magic in TYPES.items() if head.startswith(magic)), None)


def record_upload(
    key: str,
    ticket: Mapping[str, Any],
    *,
    bucket: EvidenceBucket,
    store: Store,
    now: datetime,
    before_deleting: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Keep an upload S3 redirected back with; UploadRefused (and the object deleted, after
    `before_deleting`: the page proves what it presumed first) when it is not this
    ticket's, not there, too large, or no JPEG, PNG or PDF."""
    found = _KEY.fullmatch(key)
    step = int(ticket["step"])
    if found is None or found.group(1) != ticket["id_izin"] or int(found.group(2)) != step:
        raise UploadRefused("Berkas ini bukan unggahan untuk tugas ini.")
    size = bucket.head(key)
    if size is None:
        raise UploadRefused("Berkas tidak ditemukan; unggah lagi.")
    if size > MAX_BYTES or size == 0:
        before_deleting()
        bucket.delete(key)
        raise UploadRefused(f"Ukuran berkas harus antara 1 byte dan {MAX_BYTES // 2**20} MB.")
    content = bucket.read(key)
    content_type = sniff(content[:16])
    if content_type is None:
        before_deleting()
        bucket.delete(key)
        raise UploadRefused("Jenis berkas tidak diterima: hanya JPEG, PNG, atau PDF.")
    officer = ticket["assignee"]
    upload = {
        "key": key,
        "nama": found.group(4),
        "step": step,
        "content_type": content_type,
        "ukuran": size,
        "sha256": hashlib.sha256(content).hexdigest(),
        "oleh": officer["nama"],
        "nip": officer["nip"],
        "pada": now.isoformat(),
    }
    # The upload and its trail's entry as one, once: S3's redirect opened again records
    # nothing more.
    with contextlib.suppress(ConditionFailed), store.together() as batch:
        batch.add_upload(ticket["id_izin"], key, upload)
        batch.append_audit(
            ticket["id_izin"],
            {
                "action": "lampiran.uploaded",
                "step": step,
                "actor": officer["nama"],
                "nip": officer["nip"],
                "note": f"lampiran {upload['nama']} diunggah ({size} byte)",
                "sha256": upload["sha256"],
            },
            now=now,
        )
    return upload


def uploads(store: Store, id_izin: str, step: int | None = None) -> list[dict[str, Any]]:
    """The application's recorded uploads (of one step, if given), oldest first."""
    found = [u for u in store.uploads(id_izin) if step is None or int(u["step"]) == step]
    return sorted(found, key=lambda u: (str(u["pada"]), str(u["key"])))


def frozen(upload: Mapping[str, Any]) -> dict[str, Any]:
    """What a step's data keeps of an upload: enough to list it and check its bytes."""
    return {k: upload[k] for k in ("key", "nama", "content_type", "ukuran", "sha256", "oleh")} | {
        "pada": str(upload["pada"])
    }


def size_text(size: int) -> str:
    """A file's size as people read it: "2,4 MB", "830 KB"."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB".replace(".", ",")
    return f"{max(1, round(size / 1024))} KB"
