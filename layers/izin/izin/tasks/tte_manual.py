"""Step 14 signed by hand when BSrE's API stays down (#16): sign in the BSrE app, upload.

When BSrE does not answer after the retries, the page offers the exact PDFs to be signed:
the sealed versions of this approval, rendered once (`offer`), their files kept in the
documents bucket under the approval's id and their record on the ticket, so every later
view of the page offers the same bytes. Two requests that find BSrE down at once may both
render: each file's key holds its own content's hash, so neither overwrites the other's,
and the ticket keeps the first record written (a conditional write); the other request
shows that one, so both pages offer the same PDFs (its own files stay unreferenced).
The Kepala Dinas signs them in the BSrE app and uploads the signed PDFs through the page's
evidence form. On "Setujui" without a
passphrase, `accept` takes the uploads: each must be one offered PDF with a signature
appended (a PDF signature is an incremental update: the signed file starts byte for byte
with the unsigned one), and BSrE's verify API must call its signatures valid. Then they
are recorded as the sealed versions, tte "bsre" and marked as signed by hand, and the
Seal state keeps them as it keeps the ones the page signed through the API.

No passphrase is involved: the BSrE app asks for it, not us.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from izin.bsre import BsreUnavailable
from izin.documents import (
    CONTENT_TYPE,
    JUDUL,
    PDF_CONTENT_TYPE,
    SealDraft,
    draft_seal,
    record_signed,
    versions,
)
from izin.roster import Roster, RosterError
from izin.store import TTE_OFFER, Store
from izin.tasks.tte import TTE, ManualTte, Tte, TteRefused, approval_for, approval_id_for

MANUAL = TTE_OFFER  # the ticket's record of the PDFs offered to be signed by hand

NOTHING_UPLOADED_TEXT = (
    "Belum ada PDF bertanda tangan yang diunggah. Unduh dokumen di bawah, tandatangani di "
    "aplikasi BSrE, unggah hasilnya, lalu setujui lagi (atau isi passphrase bila BSrE "
    "sudah dapat dihubungi)."
)
MISSING_TEXT = "PDF bertanda tangan untuk {judul} belum diunggah."
NOT_OFFERED_TEXT = (
    "Berkas {nama} bukan dokumen yang ditawarkan untuk ditandatangani (isinya harus diawali "
    "persis dengan PDF yang diunduh dari halaman ini); unduh lagi lalu tandatangani."
)
UNSIGNED_TEXT = "Berkas {nama} belum ditandatangani: isinya sama dengan PDF yang diunduh."
INVALID_TEXT = "Tanda tangan pada berkas {nama} tidak sah menurut BSrE ({summary})."
NOT_SIGNER_TEXT = "Berkas {nama} tidak ditandatangani oleh {signer} menurut BSrE."
VERIFY_DOWN_TEXT = (
    "BSrE tidak dapat dihubungi untuk memeriksa tanda tangan; tidak ada yang dicatat. "
    "Coba lagi beberapa saat lagi; tugas ini tetap terbuka."
)


class ManualRefused(Exception):
    """Uploads that are not the offered PDFs validly signed: the text says why, for the page."""


@dataclass(frozen=True)
class Upload:
    """One file the officer uploaded on the page: its name and bytes."""

    nama: str
    content: bytes


def draft_key(id_izin: str, approval_id: str, jenis: str, ext: str, content: bytes) -> str:
    """Where an offered (unsigned) version's file is kept: tied to the approval, so to the
    ticket (approval_id_for), and named by its content's hash, so that a racing render
    never overwrites the offer that was kept."""
    digest = hashlib.sha256(content).hexdigest()[:16]
    return f"applications/{id_izin}/tte-manual/{approval_id}/{jenis}-{digest}.{ext}"


def offered(ticket: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The PDFs this ticket offers to be signed by hand (records with `pdf_key`), or []."""
    manual = ticket.get(MANUAL) or {}
    return list(manual.get("drafts") or [])


def offer(
    ticket: Mapping[str, Any],
    digest: str,
    tte: Tte,
    *,
    store: Store,
    roster: Roster,
    now: datetime,
    public_base_url: str,
) -> list[dict[str, Any]]:
    """The PDFs to sign in the BSrE app: rendered and kept on the first call for a ticket,
    then the same ones (the same bytes) on every later or concurrent call."""
    kept = offered(ticket)
    if kept:
        return kept
    officer = _signer(ticket, roster)
    approval_id = approval_id_for(str(ticket["id_izin"]), digest)
    drafts = draft_seal(
        store,
        str(ticket["id_izin"]),
        now=now,
        approval=approval_for(ticket, officer, now, approval_id),
        public_base_url=public_base_url,
        roster=roster,
        dinas=tte.dinas,
    )
    records = []
    for draft in drafts:
        html_key = draft_key(draft.id_izin, approval_id, draft.kind.value, "html", draft.body)
        pdf_key = draft_key(draft.id_izin, approval_id, draft.kind.value, "pdf", draft.pdf)
        tte.put_object(html_key, draft.body, CONTENT_TYPE)
        tte.put_object(pdf_key, draft.pdf, PDF_CONTENT_TYPE)
        records.append(
            {
                **draft.record(),
                "judul": JUDUL[draft.kind],
                "html_key": html_key,
                "pdf_key": pdf_key,
                "pdf_sha256": hashlib.sha256(draft.pdf).hexdigest(),
                "pdf_size": len(draft.pdf),
            }
        )
    # The files first, then the record: the ticket never names a file that is not there.
    first = store.keep_tte_offer(digest, {"approval_id": approval_id, "drafts": records})
    return list(first["drafts"])


def accept(
    ticket: Mapping[str, Any],
    uploads: Sequence[Upload],
    tte: Tte,
    *,
    store: Store,
    roster: Roster,
) -> str:
    """Record the uploaded signed PDFs as the sealed versions; the approval's id.

    ManualRefused (nothing recorded) unless every offered PDF has one upload that starts
    with its bytes, adds a signature, and BSrE verifies as signed by the step's signer.
    """
    manual: ManualTte | None = tte.manual
    drafts = offered(ticket)
    if manual is None:
        raise TteRefused("Tanda tangan manual BSrE tidak tersedia pada konfigurasi ini.")
    if not drafts or not uploads:
        raise ManualRefused(NOTHING_UPLOADED_TEXT)
    officer = _signer(ticket, roster)
    unsigned = {str(d["jenis"]): manual.read_object(str(d["pdf_key"])) for d in drafts}
    chosen: dict[str, Upload] = {}  # each document's newest signed upload
    strays: list[Upload] = []  # another file, or an offered one changed
    plain: list[Upload] = []  # an offered one as it was downloaded, not signed
    for upload in reversed(uploads):  # newest first: a later upload corrects an earlier one
        jenis = next((j for j, pdf in unsigned.items() if upload.content.startswith(pdf)), None)
        if jenis is None:
            strays.append(upload)
        elif len(upload.content) == len(unsigned[jenis]):
            plain.append(upload)
        else:
            chosen.setdefault(jenis, upload)
    for draft in drafts:
        if str(draft["jenis"]) in chosen:
            continue
        if strays:
            raise ManualRefused(NOT_OFFERED_TEXT.format(nama=strays[0].nama))
        if plain:
            raise ManualRefused(UNSIGNED_TEXT.format(nama=plain[0].nama))
        raise ManualRefused(MISSING_TEXT.format(judul=draft.get("judul", draft["jenis"])))
    for upload in chosen.values():
        try:
            verdict = manual.verify(upload.content)
        except BsreUnavailable as down:
            raise ManualRefused(VERIFY_DOWN_TEXT) from down
        if not verdict.valid:
            raise ManualRefused(
                INVALID_TEXT.format(nama=upload.nama, summary=verdict.summary or "tidak sah")
            )
        if verdict.signers and not any(_same_name(s, officer.nama) for s in verdict.signers):
            raise ManualRefused(NOT_SIGNER_TEXT.format(nama=upload.nama, signer=officer.nama))
    approval_id = str((ticket.get(MANUAL) or {})["approval_id"])
    signed = []
    for draft in drafts:
        jenis = str(draft["jenis"])
        if _recorded(store, draft, approval_id):  # a retry after a partial record
            continue
        body = manual.read_object(str(draft["html_key"]))
        signed.append(
            (SealDraft.from_record(draft, body, unsigned[jenis]), body, chosen[jenis].content)
        )
    record_signed(store, signed, bucket=tte.bucket, put_object=tte.put_object, tte=TTE, manual=True)
    return approval_id


def _recorded(store: Store, draft: Mapping[str, Any], approval_id: str) -> bool:
    """Whether this draft's version is recorded already, sealed by this approval."""
    items = versions(store, str(draft["id_izin"]), str(draft["jenis"]))
    last = items[-1] if items else {}
    return bool(last.get("sealed")) and last.get("approval_id") == approval_id


def _signer(ticket: Mapping[str, Any], roster: Roster) -> Any:
    try:
        return roster.by_nip(str(ticket["assignee"]["nip"]))
    except RosterError as missing:
        raise TteRefused("Penandatangan tidak ada di roster.") from missing


def _same_name(certificate: str, roster: str) -> bool:
    """Whether a certificate's name is the roster's (one may carry titles the other lacks)."""

    def words(name: str) -> str:
        return " ".join("".join(c for c in name.casefold() if c.isalnum() or c.isspace()).split())

    a, b = words(certificate), words(roster)
    return bool(a and b) and (a in b or b in a)
