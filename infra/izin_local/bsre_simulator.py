"""A BSrE esign-client simulator (API v2) for the local runtime and the tests (#16).

It signs as BSrE would, with a real PDF signature: a test CA made at start (never a real
one), a certificate per NIK it knows, pyHanko to sign. Its rules are those of the real
API that the client must cope with (izin.bsre): HTTP Basic client credentials, a
passphrase or a TOTP code (of the local roster's `bsre_totp_secret`) per NIK, one of them,
`imageBase64` required and not too small, a wrong passphrase or TOTP answered 400 with
status_code 2031; and, as a fault to inject, a good signed file answered with HTTP 500.
`POST /api/v2/verify/pdf` checks signatures against its CA. `POST /api/v2/seal/pdf` puts
the Dinas's e-seal on a PDF for the seal account it knows (`idSubscriber`) with a TOTP code
of that account: an invisible signature, under its own certificate from the same CA.
"""

from __future__ import annotations

import base64
import io
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from izin.bsre import MIN_IMAGE, SEAL_PATH, SIGN_PATH, VERIFY_PATH, WRONG_PASSPHRASE
from izin.pdf_signatures import apart, verify_with

from izin_local.simulators import Answer, Simulator

CLIENT_ID = "local-bsre-client"
CLIENT_SECRET = "local-bsre-secret"  # noqa: S105 - the simulator's own, documented
# The Dinas's e-seal account the simulator knows, and the TOTP secret of its codes.
SEAL_ID_SUBSCRIBER = "local-dinas-seal"
SEAL_TOTP_SECRET = "LOCALDINASSEALSIMULATOR2"  # noqa: S105 - the simulator's own, documented
SEAL_NAME = "Segel Elektronik Dinas (simulator BSrE)"
PATHS = (SIGN_PATH, SEAL_PATH, VERIFY_PATH)


@dataclass(frozen=True)
class _Identity:
    nama: str
    passphrase: str
    totp_secret: str = ""  # base32; empty: this NIK signs with its passphrase only

    def unlocked_by(self, body: dict[str, Any]) -> bool:
        """Whether the request carries this identity's passphrase, or a current TOTP code of
        its secret (RFC 6238, SHA-1, 6 digits, 30 s, one step either side); one, not both."""
        passphrase, totp = str(body.get("passphrase") or ""), str(body.get("totp") or "")
        if bool(passphrase) == bool(totp):
            return False
        if passphrase:
            return passphrase == self.passphrase
        import pyotp

        return bool(self.totp_secret) and pyotp.TOTP(self.totp_secret).verify(totp, valid_window=1)


class BsreSimulator(Simulator):
    """BSrE's esign API: signs with a local test CA, verifies against it."""

    name = "bsre"

    def __init__(self, identities: dict[str, tuple[str, str]] | None = None) -> None:
        """`identities`: NIK -> (name on the certificate, passphrase)."""
        super().__init__()
        self._identities = {
            nik: _Identity(nama, passphrase)
            for nik, (nama, passphrase) in (identities or {}).items()
        }
        self._seals = {SEAL_ID_SUBSCRIBER: _Identity(SEAL_NAME, "", SEAL_TOTP_SECRET)}
        self._signed_with_500 = 0
        self._pki_lock = threading.Lock()
        self._pki: _TestPki | None = None

    def enroll(self, nik: str, nama: str, passphrase: str, totp_secret: str = "") -> None:
        """A certificate for this NIK, unlocked by this passphrase or, with `totp_secret`, by
        a TOTP code of it (BSrE's app shows one)."""
        with self._lock:
            self._identities[nik] = _Identity(nama, passphrase, totp_secret)

    def signed_with_500_next(self, n: int) -> None:
        """The next `n` signatures come back good, but with HTTP 500 (BSrE does this)."""
        with self._lock:
            self._signed_with_500 += n

    @property
    def root_certificate_pem(self) -> bytes:
        """The test CA's certificate: what a verifier must trust to find these valid."""
        return self.pki.root_pem

    @property
    def pki(self) -> _TestPki:
        with self._pki_lock:
            if self._pki is None:
                self._pki = _TestPki()
            return self._pki

    def answer(self, method: str, path: str, body: Any) -> Answer | None:
        if method != "POST" or path not in PATHS:
            return None
        if not isinstance(body, dict):
            return 400, {"status_code": 1000, "error": "Request body tidak valid"}
        if path == VERIFY_PATH:
            return self._verify(body)
        if path == SEAL_PATH:
            return self._seal(body)
        return self._sign(body)

    def answer_request(
        self, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> Answer | None:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        given = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if path in PATHS and given != f"Basic {expected}":
            return 401, {"status_code": 1001, "error": "Unauthorized client"}
        return self.answer(method, path, body)

    def _sign(self, body: dict[str, Any]) -> Answer:
        identity = self._identities.get(str(body.get("nik", "")))
        if identity is None:
            return 400, {"status_code": 1110, "error": "NIK tidak terdaftar"}
        properties = body.get("signatureProperties") or []
        if not properties or not properties[0].get("imageBase64"):
            return 400, {"status_code": 2001, "error": "imageBase64 wajib diisi"}
        size = _image_size(properties[0]["imageBase64"])
        if size is None or size[0] < MIN_IMAGE[0] or size[1] < MIN_IMAGE[1]:
            return 400, {"status_code": 2002, "error": "Ukuran gambar tanda tangan terlalu kecil"}
        if not identity.unlocked_by(body):
            return 400, {"status_code": WRONG_PASSPHRASE, "error": "Passphrase anda salah"}
        return self._signed(body, identity, "TTE_BSrE")

    def _seal(self, body: dict[str, Any]) -> Answer:
        identity = self._seals.get(str(body.get("idSubscriber", "")))
        if identity is None:
            return 400, {"status_code": 1110, "error": "idSubscriber tidak terdaftar"}
        if "passphrase" in body or not identity.unlocked_by(body):
            return 400, {"status_code": WRONG_PASSPHRASE, "error": "TOTP segel salah"}
        return self._signed(body, identity, "ESEAL_BSrE")

    def _signed(self, body: dict[str, Any], identity: _Identity, field_name: str) -> Answer:
        """The request's file signed for `identity` in a new signature field."""
        properties = (body.get("signatureProperties") or [{}])[0]
        files = body.get("file") or []
        try:
            pdf = base64.b64decode(files[0], validate=True)
        except (IndexError, TypeError, ValueError):
            return 400, {"status_code": 2003, "error": "File tidak valid"}
        signed = self.pki.sign(
            pdf,
            identity.nama,
            reason=str(properties.get("reason", "")),
            location=str(properties.get("location", "")),
            field_name=field_name,
        )
        answer = {"file": [base64.b64encode(signed).decode()]}
        with self._lock:
            quirk = self._signed_with_500 > 0
            self._signed_with_500 -= 1 if quirk else 0
        return (500 if quirk else 200), answer

    def _verify(self, body: dict[str, Any]) -> Answer:
        try:
            pdf = base64.b64decode(str(body.get("file", "")), validate=True)
        except ValueError:
            return 400, {"status_code": 2003, "error": "File tidak valid"}
        names = self.pki.verify(pdf)
        if names is None:
            return 200, {"summary": "INVALID", "details": []}
        return 200, {"summary": "VALID", "details": [{"signerName": n} for n in names]}


class _TestPki:
    """A throwaway CA and the certificates it issues, for the simulator only."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _certificate("BSrE Simulator Test CA", self.root_key, None, ca=True)
        self.root_pem = self.root.public_bytes(serialization.Encoding.PEM)
        self._signers: dict[str, Any] = {}

    def _signer(self, nama: str) -> Any:
        if nama in self._signers:
            return self._signers[nama]
        from asn1crypto import keys as asn1_keys
        from asn1crypto import x509 as asn1_x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from pyhanko.sign import signers
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        key = ec.generate_private_key(ec.SECP256R1())
        certificate = _certificate(nama, key, (self.root, self.root_key), ca=False)
        der = serialization.Encoding.DER
        signer = signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(certificate.public_bytes(der)),
            signing_key=asn1_keys.PrivateKeyInfo.load(
                key.private_bytes(
                    der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            ),
            cert_registry=SimpleCertificateStore.from_certs(
                [asn1_x509.Certificate.load(self.root.public_bytes(der))]
            ),
        )
        self._signers[nama] = signer
        return signer

    def sign(
        self, pdf: bytes, nama: str, *, reason: str, location: str, field_name: str = "TTE_BSrE"
    ) -> bytes:
        """`pdf` signed for `nama` (in a thread apart: see `apart`)."""
        return apart(self._sign, pdf, nama, reason, location, field_name)

    def _sign(self, pdf: bytes, nama: str, reason: str, location: str, field_name: str) -> bytes:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers

        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name, reason=reason or None, location=location or None, name=nama
        )
        output = signers.sign_pdf(writer, metadata, signer=self._signer(nama))
        signed: bytes = output.getvalue()
        return signed

    def verify(self, pdf: bytes) -> list[str] | None:
        """The signers' names when every signature is intact and chains to the CA; else None."""
        return verify_with(pdf, self.root_pem)


def _certificate(common_name: str, key: Any, issuer: tuple[Any, Any] | None, *, ca: bool) -> Any:
    """A certificate for `key`: the CA's own (self-signed), or a signer's from `issuer`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer_certificate, issuer_key = issuer if issuer else (None, key)
    now = datetime.now(UTC)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_certificate.subject if issuer_certificate else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650 if ca else 730))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def _image_size(encoded: str) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(base64.b64decode(encoded, validate=True))) as image:
            return image.size
    except Exception:
        return None
