"""A PDF's signatures checked here, with pyHanko, against trusted roots (#16).

What the verify page falls back on when BSrE's verify API cannot be reached: each
signature must be intact and its certificate chain to one of the roots given (BSrE's, as
the Dinas ships them; locally, the BSrE simulator's test CA). No revocation is checked
offline: the page says the check was made without BSrE.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def verify_with(pdf: bytes, roots_pem: bytes) -> list[str] | None:
    """The signers' names when every signature of `pdf` is intact and chains to one of
    `roots_pem` (one or more PEM certificates); None otherwise, or when it has none."""
    return apart(_verify_with, pdf, roots_pem)


def apart(call: Callable[..., T], *args: Any) -> T:
    """pyHanko's signing and validation each run an asyncio loop of their own (asyncio.run),
    which a thread already running one cannot (a test beside Playwright's): a thread apart."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(call, *args).result()


def _verify_with(pdf: bytes, roots_pem: bytes) -> list[str] | None:
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        signatures = reader.embedded_signatures
    except Exception:
        return None
    if not signatures:
        return None
    roots = [asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(roots_pem, True)]
    context = ValidationContext(trust_roots=roots)
    names = []
    for signature in signatures:
        status = validate_pdf_signature(signature, context)
        if not (status.intact and status.valid and status.trusted):
            return None
        names.append(status.signing_cert.subject.native.get("common_name", ""))
    return names
