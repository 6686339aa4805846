"""Calls out (CONTRACT §2): the BAP to SIINAS (step 17), the status to OSS, the copy to DPMPTSP.

Each call is made by an SQS-backed worker: a failure raises, the message comes back later
(with a growing delay), and after the queue's maxReceiveCount it sits in the DLQ. The SIINAS
upload carries an Idempotency-Key that is the same on every retry of the same upload.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from izin.calendar import WIB
from izin.callbacks import Callbacks, TaskGone
from izin.mail import Attachment, Email, Mailer
from izin.observability import logger
from izin.roster import Roster
from izin.sop import Role
from izin.store import Store
from izin.templating import render

HTTP_TIMEOUT_SECONDS = 10

# OSS PIA kd_status at the SOP's milestones.
KD_INSPEKSI = "40"
KD_PERSYARATAN_TERVERIFIKASI = "45"
KD_PENOLAKAN_PERSYARATAN = "93"


class CallFailed(Exception):
    """The other system did not take the call; the worker tries again later."""


@dataclass(frozen=True)
class Response:
    """An HTTP answer."""

    status: int
    body: bytes


class Http(Protocol):
    """Makes one HTTP POST with a JSON body."""

    def post(self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> Response:
        """POST, or raise CallFailed when nothing came back (refused, timed out)."""


class UrllibHttp:
    """The standard library's HTTP client, with a timeout on every call."""

    def __init__(self, timeout: float = HTTP_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout

    def post(self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> Response:
        """POST JSON and return the answer, whatever its status."""
        request = urllib.request.Request(  # noqa: S310 - the URL is the deploy's configuration
            url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                return Response(answer.status, answer.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise CallFailed(f"{url}: {error}") from error


def latest(store: Store, id_izin: str, jenis: str) -> dict[str, Any]:
    """The newest version of one of the application's documents."""
    from izin.documents import latest_documents

    documents = latest_documents(store, id_izin)
    if jenis not in documents:
        raise LookupError(f"{id_izin} has no document {jenis}")
    return documents[jenis]


def idempotency_key(id_izin: str, sha256: str) -> str:
    """The same key for every retry of one upload; a new document version is a new upload."""
    return "bap-" + hashlib.sha256(f"{id_izin}:{sha256}".encode()).hexdigest()[:32]


def upload_bap(
    id_izin: str,
    token: str,
    *,
    store: Store,
    http: Http,
    read_object: Callable[[str], bytes],
    base_url: str,
    bearer: str,
    callbacks: Callbacks,
    now: datetime,
) -> str:
    """Upload the signed BAP to SIINAS, then complete step 17; raises CallFailed to retry."""
    bap = latest(store, id_izin, "bap")
    bap_data = store.step_data(id_izin, 11)
    key = bap.get("pdf_key") or bap["key"]
    content_type = "application/pdf" if bap.get("pdf_key") else "text/html"
    content = read_object(key)
    body = {
        "nomor_bap": bap["nomor"],
        "tanggal": now.astimezone(WIB).date().isoformat(),
        "kesimpulan": bap_data.get("kesimpulan", "siap"),
        "dokumen": {
            "nama": key.rsplit("/", 1)[-1],
            "content_type": content_type,
            "base64": base64.b64encode(content).decode(),
        },
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    answer = http.post(
        f"{base_url.rstrip('/')}/verifikasi-teknis/{id_izin}/bap",
        body,
        {
            "Authorization": f"Bearer {bearer}",
            "Idempotency-Key": idempotency_key(id_izin, body["sha256"]),
        },
    )
    if not 200 <= answer.status < 300:
        raise CallFailed(f"SIINAS answered {answer.status}")
    receipt = _json(answer.body).get("id_unggah", "")
    store.append_audit(
        id_izin,
        {
            "action": "bap.uploaded",
            "step": 17,
            "actor": "sistem",
            "sha256": body["sha256"],
            "note": f"BAP {bap['nomor']} diunggah ke SIINAS (tanda terima {receipt})",
        },
        now=now,
    )
    try:
        callbacks.succeed(
            token, {"unggah": "siinas", "id_unggah": receipt, "sha256": body["sha256"]}
        )
    except TaskGone:
        logger.warning("step 17 no longer waits; upload kept in the trail")
        return "gone"
    return "uploaded"


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def license_status(
    id_izin: str,
    milestone: str,
    *,
    store: Store,
    roster: Roster,
    kd_instansi: str,
    now: datetime,
) -> dict[str, Any]:
    """OSS's receiveLicenseStatus body (PIA's IZINSTATUS) for a milestone of the SOP."""
    application = store.application(id_izin) or {}
    data = application.get("data", {})
    if milestone == "inspeksi":
        kd_status, keterangan = KD_INSPEKSI, "Pemeriksaan lapangan verifikasi teknis dimulai"
        officer = store.step_data(id_izin, 7).get("ketua")
        signer = roster.by_nip(officer) if officer else roster.first(Role.TIM_TEKNIS)
    elif milestone == "bap_disetujui":
        siap = store.step_data(id_izin, 11).get("kesimpulan", "siap") == "siap"
        kd_status = KD_PERSYARATAN_TERVERIFIKASI if siap else KD_PENOLAKAN_PERSYARATAN
        keterangan = (
            "BAP verifikasi teknis disetujui: siap" if siap else "BAP verifikasi teknis: belum siap"
        )
        signer = roster.first(Role.KEPALA_DINAS)
    else:
        raise ValueError(f"unknown OSS milestone {milestone}")
    return {
        "IZINSTATUS": {
            "nib": data.get("nib", ""),
            "id_izin": id_izin,
            "kd_izin": data.get("kd_izin", ""),
            "kd_instansi": kd_instansi,
            "kd_status": kd_status,
            "tgl_status": now.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S"),
            "nip_status": signer.nip,
            "nama_status": signer.nama,
            "keterangan": keterangan,
        }
    }


def send_status(
    id_izin: str,
    milestone: str,
    *,
    store: Store,
    roster: Roster,
    http: Http,
    base_url: str,
    user_key: str,
    kd_instansi: str,
    now: datetime,
) -> str:
    """Tell OSS the application's status; raises CallFailed to retry."""
    body = license_status(
        id_izin, milestone, store=store, roster=roster, kd_instansi=kd_instansi, now=now
    )
    kd_status = body["IZINSTATUS"]["kd_status"]
    if not base_url:
        store.append_audit(
            id_izin,
            {
                "action": "oss.status_skipped",
                "actor": "sistem",
                "kd_status": kd_status,
                "note": "OSS_BASE_URL tidak dikonfigurasi: status tidak dikirim",
            },
            now=now,
        )
        return "skipped"
    answer = http.post(f"{base_url.rstrip('/')}/receiveLicenseStatus", body, {"user_key": user_key})
    if not 200 <= answer.status < 300:
        raise CallFailed(f"OSS answered {answer.status}")
    store.append_audit(
        id_izin,
        {
            "action": "oss.status_sent",
            "actor": "sistem",
            "kd_status": kd_status,
            "note": f"status {kd_status} dikirim ke OSS",
        },
        now=now,
    )
    return "sent"


def send_tembusan(
    id_izin: str,
    *,
    store: Store,
    roster: Roster,
    mailer: Mailer,
    read_object: Callable[[str], bytes],
    now: datetime,
) -> dict[str, Any]:
    """Step 17: email the signed BAP and its cover letter to DPMPTSP Kalbar."""
    application = store.application(id_izin) or {}
    documents = [latest(store, id_izin, j) for j in ("surat_pengantar_dpmptsp", "bap")]
    attachments = tuple(
        Attachment(
            filename=f"{d['jenis']}-v{d['versi']}.{'pdf' if d.get('pdf_key') else 'html'}",
            content_type="application/pdf" if d.get("pdf_key") else "text/html",
            content=read_object(d.get("pdf_key") or d["key"]),
        )
        for d in documents
    )
    context = {"data": application.get("data", {}), "documents": documents}
    mailer.send(
        Email(
            to=(str(roster.dpmptsp_email),),
            subject="Tembusan BAP Verifikasi Teknis Izin Perluasan - "
            + application["data"]["perusahaan"]["nama"],
            text=render("email/tembusan.txt.j2", **context),
            html=render("email/tembusan.html.j2", **context),
            attachments=attachments,
        )
    )
    store.append_audit(
        id_izin,
        {
            "action": "tembusan.sent",
            "step": 17,
            "actor": "sistem",
            "to": str(roster.dpmptsp_email),
            "documents": {d["jenis"]: d["sha256"] for d in documents},
            "note": "tembusan BAP dikirim ke DPMPTSP Kalbar",
        },
        now=now,
    )
    return {"tembusan": str(roster.dpmptsp_email)}
