"""BSrE's electronic signature (TTE) through its esign-client API v2 (#16).

The Kepala Dinas signs at step 14 with his BSrE passphrase (or a TOTP from BSrE): the PDF
goes to `POST /api/v2/sign/pdf` with the Dinas's client credentials (HTTP Basic) and comes
back signed with his certified key. `POST /api/v2/verify/pdf` says whether a presented PDF's
signatures hold. The passphrase and the signer's NIK pass through here and are never kept
or logged.

The API's known quirks, handled here:
- `imageBase64` is required even for an invisible signature: an image is always sent;
- a too-small image is refused: the image sent is never smaller than `MIN_IMAGE`;
- a valid signed file sometimes comes back with HTTP 500: a 500 whose body holds a signed
  PDF is a signature, not a failure;
- in v2 the Y axis runs from the top of the page, in v1 from the bottom (`Placement`).

The Dinas's e-seal (`POST /api/v2/seal/pdf`) goes on the tembusan copy when configured:
no person's NIK, the Dinas's seal account (`idSubscriber`) and a TOTP of that account
instead, an invisible signature (izin.tembusan).

What the API answers, as the public esign-client implementations show it: `{"file":
[<base64 PDF>]}` when signed; `{"status_code": N, "error": "…"}` otherwise, 2031 for a
wrong passphrase.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from typing import Any

from izin.integrations import CallFailed, Http, Response
from izin.observability import logger

SIGN_PATH = "/api/v2/sign/pdf"
SEAL_PATH = "/api/v2/seal/pdf"
VERIFY_PATH = "/api/v2/verify/pdf"
WRONG_PASSPHRASE = 2031
MIN_IMAGE = (200, 80)  # px: BSrE refuses a smaller signature image


class BsreError(Exception):
    """BSrE did not sign."""


class WrongPassphrase(BsreError):
    """The passphrase (or BSrE TOTP) is not the signer's: the officer may try again."""


class BsreUnavailable(BsreError):
    """BSrE did not answer or failed: retry later, or sign in the BSrE app and upload."""


@dataclass(frozen=True)
class Placement:
    """Where the visible signature goes, in PDF points, Y measured from the page's top (v2)."""

    page: int
    origin_x: float
    origin_y: float
    width: float
    height: float

    def y_from_bottom(self, page_height: float) -> float:
        """The same box's Y as API v1 measures it, from the page's bottom."""
        return page_height - self.origin_y - self.height


@dataclass(frozen=True)
class Signer:
    """Who signs, and the secret that unlocks his key: exactly one of passphrase or totp."""

    nik: str
    passphrase: str = ""
    totp: str = ""

    def __post_init__(self) -> None:
        if bool(self.passphrase) == bool(self.totp):
            raise ValueError("give the BSrE passphrase or a BSrE TOTP code, one of them")

    def __repr__(self) -> str:  # never the NIK or the secret, in a log or a traceback
        return "Signer(<hidden>)"


@dataclass(frozen=True)
class SealKey:
    """The Dinas's e-seal account at BSrE and a current TOTP code of it."""

    id_subscriber: str
    totp: str

    def __repr__(self) -> str:  # never the code, in a log or a traceback
        return "SealKey(<hidden>)"


@dataclass(frozen=True)
class Verification:
    """BSrE's word on a PDF's signatures."""

    valid: bool
    summary: str
    signers: tuple[str, ...] = ()


class BsreClient:
    """The esign-client API v2 of BSrE, as one Dinas's client."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, http: Http) -> None:
        self.base_url = base_url.rstrip("/")
        credentials = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._headers = {"Authorization": f"Basic {credentials}"}
        self._http = http

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
        """The PDF signed by BSrE; WrongPassphrase, or BsreUnavailable (retry, or by hand)."""
        secret = {"passphrase": signer.passphrase} if signer.passphrase else {"totp": signer.totp}
        body = {
            "nik": signer.nik,
            **secret,
            "signatureProperties": [
                {
                    "tampilan": "VISIBLE",
                    "imageBase64": base64.b64encode(image_png).decode(),
                    "page": placement.page,
                    "originX": placement.origin_x,
                    "originY": placement.origin_y,
                    "width": placement.width,
                    "height": placement.height,
                    "location": location,
                    "reason": reason,
                }
            ],
            "file": [base64.b64encode(pdf).decode()],
        }
        return self._signed(SIGN_PATH, body)

    def seal_pdf(self, pdf: bytes, key: SealKey, *, location: str, reason: str) -> bytes:
        """The PDF with the Dinas's e-seal (invisible); WrongPassphrase for a wrong TOTP,
        BsreUnavailable, or BsreError."""
        body = {
            "idSubscriber": key.id_subscriber,
            "totp": key.totp,
            "signatureProperties": [
                {"tampilan": "INVISIBLE", "location": location, "reason": reason}
            ],
            "file": [base64.b64encode(pdf).decode()],
        }
        return self._signed(SEAL_PATH, body)

    def _signed(self, path: str, body: dict[str, Any]) -> bytes:
        """The signed PDF BSrE answers to a sign or seal request, or the error it means."""
        try:
            answer = self._http.post(self.base_url + path, body, self._headers)
        except CallFailed as failure:
            raise BsreUnavailable(str(failure)) from failure
        signed = _signed_pdf(answer)
        if signed is not None:
            if answer.status != 200:
                logger.warning(
                    "BSrE returned a signed file with an error status",
                    extra={"status": answer.status},
                )
            return signed
        error = _json(answer.body)
        if error.get("status_code") == WRONG_PASSPHRASE or _mentions_secret(error):
            raise WrongPassphrase(str(error.get("error") or "passphrase salah"))
        if 400 <= answer.status < 500:
            raise BsreError(f"BSrE menolak ({answer.status}): {error.get('error', '')}".strip())
        raise BsreUnavailable(f"BSrE answered {answer.status}: {error.get('error', '')}".strip())

    def verify_pdf(self, pdf: bytes) -> Verification:
        """BSrE's verification of a PDF's signatures; BsreUnavailable when it cannot say."""
        try:
            answer = self._http.post(
                self.base_url + VERIFY_PATH,
                {"file": base64.b64encode(pdf).decode()},
                self._headers,
            )
        except CallFailed as failure:
            raise BsreUnavailable(str(failure)) from failure
        if answer.status != 200:
            raise BsreUnavailable(f"BSrE verify answered {answer.status}")
        document = _json(answer.body)
        summary = str(document.get("summary") or document.get("conclusion") or "")
        details = document.get("details") or document.get("signatureInformations") or []
        names = tuple(
            str(d.get("signerName") or d.get("nama") or "") for d in details if isinstance(d, dict)
        )
        return Verification(summary.upper() == "VALID", summary, names)


def signature_image(nama: str, jabatan: str) -> bytes:
    """The visible signature's PNG: who signed, electronically; never smaller than BSrE takes."""
    from PIL import Image, ImageDraw

    width, height = MIN_IMAGE[0] * 2, MIN_IMAGE[1] * 2
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((1, 1, width - 2, height - 2), outline="black", width=2)
    lines = ["Ditandatangani secara elektronik", "oleh " + nama, jabatan, "(BSrE)"]
    for n, line in enumerate(lines):
        draw.text((12, 14 + n * 34), line[:60], fill="black", font_size=22)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _signed_pdf(answer: Response) -> bytes | None:
    """The signed PDF in an answer, whatever its status (BSrE's 500 with a good file)."""
    files = _json(answer.body).get("file")
    if not isinstance(files, list) or not files or not isinstance(files[0], str):
        return None
    try:
        pdf = base64.b64decode(files[0], validate=True)
    except (binascii.Error, ValueError):
        return None
    return pdf if pdf.startswith(b"%PDF-") and b"/ByteRange" in pdf else None


def _mentions_secret(error: dict[str, Any]) -> bool:
    text = str(error.get("error", "")).lower()
    return "passphrase" in text or "totp" in text


def _json(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
