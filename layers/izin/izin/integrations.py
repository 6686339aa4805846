"""Calls out (CONTRACT §2): the BAP to SIINAS (step 17), the status to OSS (the copy to
DPMPTSP is izin.tembusan).

Each call is made by an SQS-backed worker: a failure raises CallFailed, the message comes
back later (with a growing delay), and after the queue's maxReceiveCount it sits in the
DLQ. The SIINAS upload carries an Idempotency-Key that is the same on every retry of the
same upload. Where SIINAS is not configured, or its upload ends in the DLQ, step 17 becomes
the Operator's manual upload task; the workflow waits on the same task token either way.
OSS's status calls never hold up the workflow: the state machine only queues them.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from izin import sop
from izin.calendar import WIB
from izin.callbacks import Callbacks, TaskGone
from izin.observability import logger
from izin.roster import Roster
from izin.sop import Role
from izin.store import Store

HTTP_TIMEOUT_SECONDS = 10

# OSS PIA kd_status at the SOP's milestones.
KD_DOKUMEN_BELUM_LENGKAP = "11"
KD_INSPEKSI = "40"
KD_PERSYARATAN_TERVERIFIKASI = "45"
KD_PENOLAKAN_PERSYARATAN = "93"
# The step each milestone to OSS is sent at, as the SOP table's flows send them.
MILESTONE_STEP = {
    flow.milestone: step.number
    for step in sop.STEPS
    for flow in step.flow
    if isinstance(flow, sop.Milestone)
}

MANUAL_UPLOAD = "unggah_siinas"  # the kind of the Operator's manual task (izin.tasks)


# The step that uploads the BAP to SIINAS and sends the tembusan, as the SOP table has it.
UPLOAD_STEP = sop.step_with(sop.Upload).number


def _answer(store: Store, id_izin: str, field: str, default: Any) -> Any:
    """What an officer answered to a field, on the step whose form asks for it."""
    return store.step_data(id_izin, sop.step_of_field(field).number).get(field, default)


class CallFailed(Exception):
    """The other system did not take the call; the worker tries again later."""


class DocumentNotSealed(Exception):
    """A document that may only leave the Dinas signed is not sealed yet."""


@dataclass(frozen=True)
class Response:
    """An HTTP answer."""

    status: int
    body: bytes


class Http(Protocol):
    """Makes one HTTP POST with a JSON body."""

    def post(self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> Response:
        """POST, or raise CallFailed when nothing came back (refused, timed out)."""


class ManualTasks(Protocol):
    """Opens the Operator's manual task (izin.tasks.issue_manual_task with its adapters)."""

    def __call__(
        self, kind: str, id_izin: str, task_token: str | None, *, reason: str, execution: str = ""
    ) -> str:
        """Issue the task and email its link; returns the ticket's hash. `execution`: the
        waiting execution's ARN, which tells the task page a decision taken though its
        answer was lost."""


class StdlibHttp:
    """The standard library's HTTP client, with a timeout on every call.

    Header names go out exactly as given (PIA's `user_key`), which urllib would recase.
    """

    def __init__(self, timeout: float = HTTP_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout

    def post(self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> Response:
        """POST JSON and return the answer, whatever its status; CallFailed if none came."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an HTTP URL: {url!r}")
        connection_type = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_type(parts.netloc, timeout=self.timeout)
        try:
            connection.request(
                "POST",
                parts.path + (f"?{parts.query}" if parts.query else "") or "/",
                body=json.dumps(body, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json", **headers},
            )
            answer = connection.getresponse()
            return Response(answer.status, answer.read())
        except (OSError, http.client.HTTPException) as error:
            # Refused, reset, or slower than the timeout: a failed call. The other side may
            # still act on a slow one, which is what the retry's Idempotency-Key is for.
            raise CallFailed(f"{url}: {type(error).__name__}: {error}") from error
        finally:
            connection.close()


def latest(store: Store, id_izin: str, jenis: str) -> dict[str, Any]:
    """The newest version of one of the application's documents."""
    versions = store.document_versions(id_izin, jenis)
    if not versions:
        raise LookupError(f"{id_izin} has no document {jenis}")
    return max(versions, key=lambda item: int(item["versi"]))


def sealed(store: Store, id_izin: str, jenis: str) -> dict[str, Any]:
    """The newest version of a document, which must be the one the Kepala Dinas sealed."""
    document = latest(store, id_izin, jenis)
    if not document.get("sealed"):
        raise DocumentNotSealed(f"{jenis} v{document['versi']} of {id_izin} is not sealed")
    return document


def _file(document: Mapping[str, Any]) -> tuple[str, str]:
    """The stored file to send of a document version (the PDF where there is one)."""
    if document.get("pdf_key"):
        return str(document["pdf_key"]), "application/pdf"
    return str(document["key"]), "text/html"


def idempotency_key(id_izin: str, sha256: str) -> str:
    """The same key for every retry of one upload; a new document version is a new upload."""
    return "bap-" + hashlib.sha256(f"{id_izin}:{sha256}".encode()).hexdigest()[:32]


def bap_upload(store: Store, id_izin: str, read_object: Callable[[str], bytes]) -> dict[str, Any]:
    """The body of SIINAS's BAP upload (CONTRACT §2): the same on every retry."""
    bap = sealed(store, id_izin, "bap")
    key, content_type = _file(bap)
    content = read_object(key)
    signed_at = datetime.fromisoformat(str(bap.get("signed_at") or bap["tanggal"]))
    return {
        "nomor_bap": bap["nomor"],
        "tanggal": signed_at.astimezone(WIB).date().isoformat(),
        "kesimpulan": _answer(store, id_izin, "kesimpulan", "siap"),
        "dokumen": {
            "nama": f"BAP-{id_izin}-v{bap['versi']}.{key.rsplit('.', 1)[-1]}",
            "content_type": content_type,
            "base64": base64.b64encode(content).decode(),
        },
        "sha256": hashlib.sha256(content).hexdigest(),
    }


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
    body = bap_upload(store, id_izin, read_object)
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
    receipt = str(_json(answer.body).get("id_unggah", ""))
    store.append_audit(
        id_izin,
        {
            "action": "bap.uploaded",
            "step": UPLOAD_STEP,
            "actor": "sistem",
            "sha256": body["sha256"],
            "id_unggah": receipt,
            "note": f"BAP {body['nomor_bap']} diunggah ke SIINAS (tanda terima {receipt})",
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


def record_call_failure(
    store: Store,
    id_izin: str,
    *,
    system: str,
    reason: str,
    attempt: int,
    retry_in: int,
    now: datetime,
) -> None:
    """Keep a failed call in the trail: which system, why, and when it is tried again."""
    store.append_audit(
        id_izin,
        {
            "action": f"{system}.call_failed",
            "actor": "sistem",
            "attempt": attempt,
            "reason": reason,
            "note": f"panggilan ke {system.upper()} gagal (percobaan {attempt}): {reason}; "
            f"dicoba lagi dalam {retry_in} detik",
        },
        now=now,
    )


def open_manual_upload(
    id_izin: str,
    token: str,
    *,
    reason: str,
    store: Store,
    issue: ManualTasks,
    now: datetime,
    execution: str = "",
) -> str:
    """Step 17 by hand: the Operator uploads the BAP in SIINAS; their task completes the step."""
    issue(MANUAL_UPLOAD, id_izin, token, reason=reason, execution=execution)
    store.append_audit(
        id_izin,
        {
            "action": "bap.upload_manual",
            "step": UPLOAD_STEP,
            "actor": "sistem",
            "reason": reason,
            "note": f"unggah BAP ke SIINAS menjadi tugas manual Operator: {reason}",
        },
        now=now,
    )
    return "manual"


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
    at: datetime,
) -> dict[str, Any]:
    """OSS's receiveLicenseStatus body (PIA's IZINSTATUS) for a milestone reached `at`."""
    application = store.application(id_izin) or {}
    data = application.get("data", {})
    if milestone == "dokumen_belum_lengkap":
        kd_status = KD_DOKUMEN_BELUM_LENGKAP
        check = store.step_data(id_izin, sop.step_of_field("kelengkapan").number)
        missing = str(check.get("catatan") or "").strip()
        keterangan = f"Dokumen belum lengkap: {missing}" if missing else "Dokumen belum lengkap"
        officer = check.get("nip")
        signer = roster.by_nip(officer) if officer else roster.first(Role.OPERATOR)
    elif milestone == "inspeksi":
        kd_status, keterangan = KD_INSPEKSI, "Pemeriksaan lapangan verifikasi teknis dimulai"
        officer = _answer(store, id_izin, "ketua", None)
        signer = roster.by_nip(officer) if officer else roster.first(Role.TIM_TEKNIS)
    elif milestone == "bap_disetujui":
        siap = _answer(store, id_izin, "kesimpulan", "siap") == "siap"
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
            "tgl_status": at.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S"),
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
    reached_at: datetime,
    now: datetime,
) -> str:
    """Tell OSS the milestone the application reached at `reached_at`; CallFailed to retry.

    Every retry sends the same body: the status's time is the milestone's, not the call's.
    """
    body = license_status(
        id_izin, milestone, store=store, roster=roster, kd_instansi=kd_instansi, at=reached_at
    )
    kd_status = body["IZINSTATUS"]["kd_status"]
    if not base_url:
        store.append_audit(
            id_izin,
            {
                "action": "oss.status_skipped",
                "step": MILESTONE_STEP.get(milestone, 0),
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
            "step": MILESTONE_STEP.get(milestone, 0),
            "actor": "sistem",
            "kd_status": kd_status,
            "note": f"status {kd_status} dikirim ke OSS",
        },
        now=now,
    )
    return "sent"
