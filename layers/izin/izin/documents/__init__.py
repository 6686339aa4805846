"""The SOP's official documents: numbered, versioned, rendered to print-ready A4 HTML, sealed.

Six documents, each made at the step that names it: the Surat Pengantar to the Kepala
Bidang (step 5), the Nota Dinas with the disposition (6), the Surat Tugas of the Tim Teknis
(7), the Form Pemeriksaan Lapangan (10), the Berita Acara Pemeriksaan (11) and the Surat
Pengantar for the copy of the BAP to DPMPTSP Kalbar (12). The Kepala Dinas's approval at
step 14 seals the final BAP and Surat Pengantar.

The context builders are pure functions of plain data (the application, the steps' form
values, the roster, the Dinas's letterhead, the moment); `render_document` and
`seal_documents` add the letter number, the store and the object writer, all handed in.

Where things are kept (the application's partition, see store.py):
- the file: `applications/{id_izin}/documents/{jenis}/v{versi:03d}.html` (put_object);
- the version: `APP#{id_izin}` / `DOC#{jenis}#{versi:03d}`, written once (conditional put);
- the pointer for the public verify page: `DOCUMENT#{document_id}` / `DOCUMENT`;
- the audit entry `document.rendered` (or `document.sealed`) with the file's SHA-256.

A document keeps the number its first version took; a send-back makes a new version with
the same number. A sealed version is never rewritten, and nothing is rendered after it.
"""

from __future__ import annotations

from izin.documents.context import (
    Signer,
    build_context,
)
from izin.documents.model import (
    CONTENT_TYPE,
    FONT_FACES,
    FONTS,
    JUDUL,
    PDF_CONTENT_TYPE,
    SEALED_AT_APPROVAL,
    STEP,
    TABLE_GAP_MM,
    TEMPLATES,
    Approval,
    Dinas,
    DocumentDataMissing,
    DocumentRequest,
    DocumentSealed,
    DocumentVersionConflict,
    Item,
    Jenis,
    PutObject,
    SignatoryMissing,
    SignatureMissing,
    load_dinas,
)
from izin.documents.pdf import (
    environment,
    render_html,
    render_pdf,
    verification_qr,
)
from izin.documents.spelling import (
    judul_kapital,
    nip_tampil,
    npwp_tampil,
    tanggal_terbilang,
    terbilang,
    terbilang_kecil,
)
from izin.documents.versions import (
    SealDraft,
    document_key,
    draft_seal,
    handle,
    latest_documents,
    record_signed,
    render_document,
    seal_documents,
    versions,
)

__all__ = [
    "CONTENT_TYPE",
    "FONTS",
    "FONT_FACES",
    "JUDUL",
    "PDF_CONTENT_TYPE",
    "SEALED_AT_APPROVAL",
    "STEP",
    "TABLE_GAP_MM",
    "TEMPLATES",
    "Approval",
    "Dinas",
    "DocumentDataMissing",
    "DocumentRequest",
    "DocumentSealed",
    "DocumentVersionConflict",
    "Item",
    "Jenis",
    "PutObject",
    "SealDraft",
    "SignatoryMissing",
    "SignatureMissing",
    "Signer",
    "build_context",
    "document_key",
    "draft_seal",
    "environment",
    "handle",
    "judul_kapital",
    "latest_documents",
    "load_dinas",
    "nip_tampil",
    "npwp_tampil",
    "record_signed",
    "render_document",
    "render_html",
    "render_pdf",
    "seal_documents",
    "tanggal_terbilang",
    "terbilang",
    "terbilang_kecil",
    "verification_qr",
    "versions",
]
