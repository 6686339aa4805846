"""The public verify page: what a document is, and whether a presented file is the one signed.

The QR code and short link on every document sealed at step 14 lead here
(`{PUBLIC_BASE_URL}/verify/{document_id}`, CONTRACT §3). `GET` shows what the document is:
its type, number, version, the Dinas, the company, the date and, once sealed, who signed it,
when, the approval's id and the SHA-256 of its HTML and PDF. `POST` takes a file (multipart
field `berkas`) or a pasted SHA-256 (field `sha256`) and answers whether it is the signed
document, byte for byte: the HTML or the PDF of that version. When BSrE is configured, an
uploaded PDF is also sent to BSrE's verify API (#16) and its verdict on the PDF's
signatures is shown beside the hash's: two independent checks, both named.

The hash printed on a sealed document ("SHA-256 naskah yang disetujui") is the SHA-256 of
the naskah the Kepala Dinas approved at step 14: the HTML file of the version before the
seal, the document without its electronic signature block (a file cannot print its own
hash). Pasted on the sealed document's page, it is COCOK when it is that version's
recorded hash and the file kept in the bucket still hashes to it: the page reads the file
and computes it again.

The page is public, so it shows only what the signed document itself shows: never an S3
key, never a link to an unsealed draft, no NIP. A sealed PDF is served by the verify route
itself, `GET /verify/{document_id}/pdf`: no bucket, key or application id in any URL. Reads
only: the table (the `DOCUMENT#` pointer, the version's `DOC#` item, the application) and,
for the PDF, the bucket.
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

from pydantic import Field

from izin.bsre import BsreUnavailable, Verification
from izin.documents import JUDUL, PDF_CONTENT_TYPE, Dinas, Jenis, versions
from izin.models import HttpRequest
from izin.pages import PAGE_HEADERS
from izin.roster import Roster, RosterError
from izin.store import Store
from izin.templating import render

Item = dict[str, Any]

# Lambda takes at most 6 MB of request, and API Gateway sends a file base64-encoded (4/3 of
# its size): a 4 MiB body is about the largest that reaches the function on AWS. Anything
# bigger is not one of our documents (a sealed PDF is some tens of kilobytes).
MAX_BODY_BYTES = 4 * 1024 * 1024
# What the page says of it before a file is chosen (a larger one never reaches the page).
LIMIT = f"{MAX_BODY_BYTES // (1024 * 1024)} MiB"
# The page's form has two fields; a body with more than this many is no form of ours.
MAX_FIELDS = 20
# The route that serves a sealed PDF (template.yaml: VerifyFunction's DownloadDocument).
PDF_ROUTE = "GET /verify/{document_id}/pdf"


_DOCUMENT_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class FormError(ValueError):
    """The request body is not a form this page can read."""


class BodyTooLarge(ValueError):
    """The request body is larger than MAX_BODY_BYTES."""


# -- reading what was presented (pure) ---------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """One file of a multipart form."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class Form:
    """A POSTed form: its text fields (first value of each) and its files."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


def request_body(body: str, is_base64: bool, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request's bytes, as API Gateway passed them; BodyTooLarge past `limit`."""
    # Base64 is 4 characters for 3 bytes: refuse before decoding anything too large.
    if len(body) > (limit * 4) // 3 + 4:
        raise BodyTooLarge(f"body over {limit} bytes")
    if not is_base64:
        raw = body.encode("utf-8")
    else:
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise FormError("body is not base64") from error
    if len(raw) > limit:
        raise BodyTooLarge(f"body over {limit} bytes")
    return raw


def parse_form(content_type: str, body: bytes) -> Form:
    """A urlencoded or multipart/form-data body as its fields and files (standard library only)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        text = body.decode("utf-8", "replace")
        try:
            parsed = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except ValueError as error:  # more fields than this page's form has
            raise FormError(str(error)) from error
        return Form(fields={name: values[0] for name, values in parsed.items()})
    if media_type != "multipart/form-data":
        raise FormError(f"unsupported content type {media_type or '(none)'}")
    return _parse_multipart(content_type, body)


def _parse_multipart(content_type: str, body: bytes) -> Form:
    # The email package reads MIME: given the request's Content-Type as a header, the body
    # is a multipart message whose parts are the form's fields.
    header = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise FormError("multipart body without parts")
    if not message.get_param("boundary"):
        raise FormError("multipart without a boundary")
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files.setdefault(name, Upload(filename=filename, content=content))
        else:
            fields.setdefault(name, content.decode("utf-8", "replace"))
    return Form(fields=fields, files=files)


def normalise_sha256(text: str) -> str | None:
    """A pasted SHA-256 as 64 lower-case hex digits, else None ("sha256:" and spaces allowed)."""
    value = re.sub(r"\s+", "", text).lower().removeprefix("sha256:").removeprefix("sha-256:")
    return value if _SHA256.fullmatch(value) else None


# -- the document and the verdict (pure) ----------------------------------------------------


class Verdict(StrEnum):
    """What the page answers about a presented file."""

    COCOK = "cocok"  # the signed version's HTML or PDF byte for byte, or its approved naskah
    TIDAK_COCOK = "tidak_cocok"  # anything else
    DRAF = "draf"  # the HTML or PDF of a version that was never signed


@dataclass(frozen=True)
class Presented:
    """What was presented: its SHA-256 and, for an upload, the file's name and size."""

    sha256: str
    filename: str = ""
    size: int | None = None


# What a presented hash matched, as Check.format says it.
NASKAH = "naskah"  # the approved naskah, whose SHA-256 the sealed document prints


@dataclass(frozen=True)
class Check:
    """The verdict on one presented file, and which of the version's files it matched."""

    verdict: Verdict
    presented: Presented
    format: str = ""  # "HTML", "PDF" or NASKAH when it matched


def check(version: Mapping[str, Any], presented: Presented, naskah: str = "") -> Check:
    """Whether the presented hash is the version's HTML or PDF (and whether that is signed),
    or the naskah a sealed version prints as approved.

    `naskah` is the SHA-256 of the approved naskah's file as read again from the bucket
    ("" when not read): the printed hash is COCOK only when the record and the file agree.
    """
    for fmt, key in (("PDF", "pdf_sha256"), ("HTML", "sha256")):
        if version.get(key) and str(version[key]).lower() == presented.sha256:
            verdict = Verdict.COCOK if version.get("sealed") else Verdict.DRAF
            return Check(verdict, presented, fmt)
    printed = str(version.get("sha256_disetujui") or "").lower()
    if version.get("sealed") and printed == presented.sha256 == naskah:
        return Check(Verdict.COCOK, presented, NASKAH)
    return Check(Verdict.TIDAK_COCOK, presented)


# -- the page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyRequest:
    """One HTTP request on the verify page, as API Gateway passed it."""

    document_id: str
    method: str = "GET"
    content_type: str = ""
    body: str = ""
    is_base64: bool = False


@dataclass(frozen=True)
class VerifyContext:
    """What the page reads: the table, the Dinas, the roster, and the bucket (by key)."""

    store: Store
    dinas: Dinas
    roster: Roster
    read_object: Callable[[str], bytes]
    # BSrE's own verification of a presented PDF's signatures (#16); None: not configured.
    bsre_verify: Callable[[bytes], Verification] | None = None
    # The same check made here against BSrE's roots, when BSrE cannot be reached; None: none.
    offline_verify: Callable[[bytes], Verification] | None = None


@dataclass(frozen=True)
class BsreCheck:
    """What BSrE said of a presented PDF, shown beside the hash's verdict."""

    valid: bool
    summary: str
    signers: tuple[str, ...] = ()
    unavailable: bool = False
    offline: bool = False  # BSrE unreachable: checked here against its roots instead


def bsre_check(content: bytes, ctx: VerifyContext) -> BsreCheck | None:
    """BSrE's verdict on an uploaded PDF, when BSrE is configured; None otherwise. BSrE
    unreachable, the verdict of the check made here against its roots, where configured."""
    if ctx.bsre_verify is None or not content.startswith(b"%PDF-"):
        return None
    try:
        answer = ctx.bsre_verify(content)
    except BsreUnavailable:
        if ctx.offline_verify is None:
            return BsreCheck(valid=False, summary="", unavailable=True)
        answer = ctx.offline_verify(content)
        return BsreCheck(answer.valid, answer.summary, answer.signers, offline=True)
    return BsreCheck(answer.valid, answer.summary, answer.signers)


@dataclass(frozen=True)
class Page:
    """What the verify page answers: an HTTP status and an HTML page."""

    status: int
    html: str


@dataclass(frozen=True)
class Pdf:
    """A signed PDF as the verify route serves it: its bytes and the name to save it by."""

    filename: str
    content: bytes


class VerifyEvent(HttpRequest):
    """An HTTP API event on the verify routes, with the route it came by."""

    route_key: str = Field("", alias="routeKey")


def verify(event: VerifyEvent, ctx: VerifyContext) -> dict[str, Any]:
    """Answer one request on the verify routes: the page (GET, POST), or the signed PDF."""
    document_id = event.path_parameters.get("document_id", "")
    if event.route_key == PDF_ROUTE:
        return http_response(verify_pdf(document_id, ctx))
    request = VerifyRequest(
        document_id=document_id,
        method=event.method,
        content_type=event.headers.get("content-type", ""),
        body=event.body,
        is_base64=event.is_base64_encoded,
    )
    return http_response(verify_page(request, ctx))


def verify_page(request: VerifyRequest, ctx: VerifyContext) -> Page:
    """GET shows what the document is; POST also says whether the presented file is it."""
    found = _document(ctx, request.document_id)
    if found is None:
        return Page(404, render("pages/verify.html.j2", document=None, result=None, error=""))
    document, version, approved = found
    if request.method != "POST":
        return _page(200, document, None, "")
    try:
        form = parse_form(
            request.content_type,
            request_body(request.body, request.is_base64),
        )
    except BodyTooLarge:
        return _page(413, document, None, f"Berkas terlalu besar: paling besar {LIMIT}.")
    except FormError:
        return _page(400, document, None, "Isian formulir tidak dapat dibaca. Coba kirim lagi.")
    upload = form.files.get("berkas")
    bsre = None
    if upload is not None and upload.content:
        bsre = bsre_check(upload.content, ctx)
        presented = Presented(
            sha256=hashlib.sha256(upload.content).hexdigest(),
            filename=upload.filename,
            size=len(upload.content),
        )
    elif form.fields.get("sha256", "").strip():
        sha = normalise_sha256(form.fields["sha256"])
        if sha is None:
            return _page(422, document, None, "SHA-256 harus 64 digit heksadesimal (0-9, a-f).")
        presented = Presented(sha256=sha)
    else:
        return _page(422, document, None, "Pilih berkas untuk diunggah, atau tempel SHA-256-nya.")
    naskah = ""
    if approved is not None and presented.sha256 == version.get("sha256_disetujui"):
        naskah = hashlib.sha256(ctx.read_object(str(approved["key"]))).hexdigest()
    return _page(200, document, check(version, presented, naskah), "", bsre)


def verify_pdf(document_id: str, ctx: VerifyContext) -> Pdf | Page:
    """GET /verify/{document_id}/pdf: the signed version's PDF; a draft's, or an unknown
    document's, is the page that says the document is not known (404)."""
    found = _document(ctx, document_id)
    if found is None or not found[0]["pdf_url"]:
        return Page(404, render("pages/verify.html.j2", document=None, result=None, error=""))
    document, version, _ = found
    name = re.sub(r"[^A-Za-z0-9.]+", "-", f"{version['jenis']} {document['nomor']}").strip("-.")
    return Pdf(f"{name}-v{document['versi']}.pdf", ctx.read_object(str(version["pdf_key"])))


def http_response(answer: Page | Pdf) -> dict[str, Any]:
    """The answer as an HTTP API (payload 2.0) Lambda result: the page, or the PDF in base64."""
    if isinstance(answer, Page):
        return {"statusCode": answer.status, "headers": PAGE_HEADERS, "body": answer.html}
    headers = {
        k: v
        for k, v in PAGE_HEADERS.items()
        if k not in ("content-type", "content-security-policy")
    }
    return {
        "statusCode": 200,
        "headers": headers
        | {
            "content-type": PDF_CONTENT_TYPE,
            "content-disposition": f'attachment; filename="{answer.filename}"',
        },
        "body": base64.b64encode(answer.content).decode("ascii"),
        "isBase64Encoded": True,
    }


def _page(
    status: int,
    document: dict[str, Any],
    result: Check | None,
    error: str,
    bsre: BsreCheck | None = None,
) -> Page:
    return Page(
        status,
        render(
            "pages/verify.html.j2",
            document=document,
            result=result,
            error=error,
            bsre=bsre,
            limit=LIMIT,
        ),
    )


def _document(
    ctx: VerifyContext, document_id: str
) -> tuple[dict[str, Any], Item, Item | None] | None:
    """What the page shows of one document, its version's record and, for a sealed version,
    the record of the version it approved; None: no such document.

    Only the first goes to the template: the records hold the S3 keys, never shown.
    """
    if not _DOCUMENT_ID.fullmatch(document_id):
        return None
    pointer = ctx.store.document_pointer(document_id)
    if pointer is None:
        return None
    id_izin, jenis, versi = str(pointer["id_izin"]), str(pointer["jenis"]), int(pointer["versi"])
    all_versions = versions(ctx.store, id_izin, jenis)
    version = next((v for v in all_versions if int(v["versi"]) == versi), None)
    if version is None:  # a pointer written, its version not (a crash between the two)
        return None
    application = ctx.store.application(id_izin) or {}
    perusahaan = (application.get("data") or {}).get("perusahaan") or {}
    latest = all_versions[-1]
    sealed = bool(version.get("sealed"))
    document: dict[str, Any] = {
        "document_id": document_id,
        "judul": _judul(jenis, version),
        "nomor": str(version["nomor"]),
        "versi": versi,
        "tanggal": str(version.get("tanggal") or version["created_at"]),
        "instansi": ctx.dinas.instansi(),
        "perusahaan": str(perusahaan.get("nama") or "-"),
        "sealed": sealed,
        "sha256": str(version["sha256"]),
        "pdf_sha256": str(version.get("pdf_sha256") or ""),
        "sha256_disetujui": str(version.get("sha256_disetujui") or "") if sealed else "",
        "versi_disetujui": None,
        "superseded_by": None,
        "pdf_url": "",
    }
    approved: Item | None = None
    if sealed:
        # A seal is the version after the one approved (older seals did not record which).
        approved_versi = int(version.get("versi_disetujui") or versi - 1)
        approved = next((v for v in all_versions if int(v["versi"]) == approved_versi), None)
        document["versi_disetujui"] = approved_versi
        document["signed"] = {
            "nama": str(version.get("signed_by") or ""),
            "jabatan": _jabatan(version, ctx.roster),
            "pada": str(version.get("signed_at") or ""),
            "approval_id": str(version.get("approval_id") or ""),
        }
        if version.get("pdf_key"):
            document["pdf_url"] = f"/verify/{document_id}/pdf"  # served by this route
    if int(latest["versi"]) > versi:
        document["superseded_by"] = {
            "versi": int(latest["versi"]),
            "sealed": bool(latest.get("sealed")),
            # Only a signed version is linked: a draft's id is never handed out.
            "url": f"/verify/{latest['document_id']}" if latest.get("sealed") else "",
        }
    return document, version, approved


def _judul(jenis: str, version: Mapping[str, Any]) -> str:
    try:
        return JUDUL[Jenis(jenis)]
    except ValueError:
        return str(version.get("judul") or jenis)


def _jabatan(version: Mapping[str, Any], roster: Roster) -> str:
    """The signer's jabatan as sealed; for older seals, the roster's, by NIP."""
    if version.get("signed_jabatan"):
        return str(version["signed_jabatan"])
    try:
        return roster.by_nip(str(version.get("signed_nip") or "")).jabatan
    except RosterError:
        return ""
