"""Step 17: the copy (tembusan) of the signed BAP and its Surat Pengantar to DPMPTSP Kalbar.

An email that speaks to DPMPTSP: addressed to its head as the Surat Pengantar is, the
company and the conclusion in words, the two sealed PDFs attached under names a clerk can
file ("BAP Verifikasi Teknis - PT ….pdf"), and how to check them (the QR code on each).
Nothing of ours in it: no document types as the code names them, no storage names, no
hashes (the verify page shows those).

Where configured, each attached PDF also carries the Dinas's e-seal from BSrE (`seal`,
izin.wiring.tembusan_seal), added after the Kepala Dinas's TTE. The seal is optional and
the copy is not: when BSrE cannot seal, the copy goes unsealed at once and the trail says
so (`tembusan.eseal_gagal`), rather than holding DPMPTSP's copy of a BAP already signed by
the Kepala Dinas for a seal that adds no legal weight to it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from izin import sop
from izin.bsre import BsreError
from izin.documents import PDF_CONTENT_TYPE, Dinas
from izin.integrations import UPLOAD_STEP, sealed
from izin.mail import Attachment, Mailer
from izin.observability import logger
from izin.roster import Roster
from izin.store import Store
from izin.templating import render_email

# What goes, in the order the email lists it, and the name each file is sent under.
SENT = (
    ("surat_pengantar_dpmptsp", "Surat Pengantar Tembusan BAP"),
    ("bap", "BAP Verifikasi Teknis"),
)
# Characters no file system takes in a name, and control characters.
_NOT_IN_A_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def file_name(label: str, perusahaan: str, ext: str) -> str:
    """A name a person files a document by: "BAP Verifikasi Teknis - PT Sawit Lestari.pdf"."""
    nama = " ".join(_NOT_IN_A_NAME.sub(" ", perusahaan).split())[:100].strip(" .")
    return f"{label} - {nama}.{ext}" if nama else f"{label}.{ext}"


def send_tembusan(
    id_izin: str,
    *,
    store: Store,
    roster: Roster,
    dinas: Dinas,
    mailer: Mailer,
    read_object: Callable[[str], bytes],
    now: datetime,
    seal: Callable[[bytes], bytes] | None = None,
) -> dict[str, Any]:
    """Email the signed BAP and its cover letter to DPMPTSP Kalbar, once; with `seal`, each
    PDF e-sealed by the Dinas, or unsealed when BSrE cannot seal it."""
    application = store.application(id_izin) or {}
    data = application.get("data", {})
    documents = [(sealed(store, id_izin, jenis), label) for jenis, label in SENT]
    hashes = {d["jenis"]: d["pdf_sha256"] for d, _ in documents}
    to = str(roster.dpmptsp_email)
    sent = store.tembusan(id_izin)
    if sent and sent.get("documents") == hashes:
        return {"tembusan": sent["to"]}  # a retry of this step after the email went out
    nama = str(data["perusahaan"]["nama"])
    attachments, listed, sealed_copies, unsealed = [], [], {}, []
    for document, label in documents:
        filename = file_name(label, nama, "pdf")
        pdf = read_object(document["pdf_key"])
        if seal is not None:
            try:
                pdf = seal(pdf)
                sealed_copies[document["jenis"]] = hashlib.sha256(pdf).hexdigest()
            except BsreError as failure:
                logger.warning("tembusan sent without the e-seal", extra={"error": str(failure)})
                unsealed.append(document["jenis"])
        attachments.append(Attachment(filename, PDF_CONTENT_TYPE, pdf))
        listed.append({"nomor": document["nomor"], "file": filename})
    kesimpulan = store.step_data(id_izin, sop.step_of_field("kesimpulan").number).get("kesimpulan")
    context = {
        "data": data,
        "dinas": dinas.model_dump(exclude={"lambang_uri"}),
        "instansi": dinas.instansi(),
        "kesimpulan": {"siap": "SIAP", "belum_siap": "BELUM SIAP"}.get(str(kesimpulan), ""),
        "documents": listed,
    }
    mailer.send(
        render_email(
            "tembusan",
            context,
            to=(to,),
            subject=f"Tembusan BAP Verifikasi Teknis Izin Perluasan - {nama}",
            attachments=tuple(attachments),
            id_izin=id_izin,
        )
    )
    eseal = {"eseal": sealed_copies} if sealed_copies else {}  # the copies' own hashes
    # The copy noted as sent and the trail's entries of it, as one: a copy noted as sent
    # whose entry failed was never written to the trail (a retry stops at the note).
    with store.together() as batch:
        batch.record_tembusan(
            id_izin, {"to": to, "documents": hashes, "at": now.isoformat(), **eseal}
        )
        batch.append_audit(
            id_izin,
            {
                "action": "tembusan.sent",
                "step": UPLOAD_STEP,
                "actor": "sistem",
                "to": to,
                "documents": hashes,
                "files": [d["file"] for d in listed],
                "note": "tembusan BAP dikirim ke DPMPTSP Kalbar",
                **eseal,
            },
            now=now,
        )
        if unsealed:
            batch.append_audit(
                id_izin,
                {
                    "action": "tembusan.eseal_gagal",
                    "step": UPLOAD_STEP,
                    "actor": "sistem",
                    "jenis": unsealed,
                    "note": "BSrE tidak dapat memberi segel elektronik; "
                    "tembusan dikirim tanpa segel",
                },
                now=now,
            )
    return {"tembusan": to}
