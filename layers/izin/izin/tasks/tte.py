"""The Kepala Dinas's certified electronic signature (TTE) at step 14, through BSrE (#16).

On "Setujui dan tandatangani", after the second factor and the form and before the ticket
is taken, the page seals the BAP and the Surat Pengantar (izin.documents.seal_documents)
with every PDF signed by BSrE under the Kepala Dinas's NIK and the passphrase he typed, or
a TOTP code from BSrE (its own, not the page's second factor `kode`): one of the two.
The approval's id is derived from the ticket, and the decision stores it: the Seal state
that follows finds both versions sealed by this approval and keeps them as they are, and a
retry of the same ticket after a failure re-signs nothing already sealed.

The passphrase (or BSrE TOTP) lives for this request only: it is never stored, logged,
audited, kept on the page or handed to the state machine. The NIK comes from the roster
and goes to BSrE only. A wrong passphrase is an error on the form and the ticket stays
open; BSrE that does not answer is tried again within the page's time budget, then the
page says so, the ticket still open.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from izin import sop
from izin.bsre import (
    BsreClient,
    BsreError,
    BsreUnavailable,
    Placement,
    Signer,
    Verification,
    WrongPassphrase,
    signature_image,
)
from izin.delegation import acted_for
from izin.documents import Dinas, PutObject, seal_documents
from izin.observability import logger
from izin.roster import Officer, Roster, RosterError
from izin.sop import Decision, Step
from izin.store import Store
from izin.tickets import Kind

PASSPHRASE = "passphrase"  # noqa: S105 - the form field's name; never a step's value
BSRE_TOTP = "bsre_totp"  # the other way to unlock his key: a code from BSrE, not our `kode`
TTE = "bsre"  # what a sealed version's `tte` says when BSrE signed its PDF

WRONG_KEY_TEXT = (
    "Passphrase atau kode TOTP BSrE tidak sesuai. Periksa lalu coba lagi; tugas ini tetap terbuka."
)
KEY_NEEDED_TEXT = (
    "Isi passphrase BSrE Anda, atau kode TOTP BSrE, untuk menandatangani secara elektronik."
)
BOTH_KEYS_TEXT = (
    "Isi salah satu saja: passphrase BSrE atau kode TOTP BSrE, tidak keduanya. "
    "Tugas ini tetap terbuka."
)
UNAVAILABLE_TEXT = (
    "Layanan tanda tangan elektronik BSrE tidak dapat dihubungi saat ini; dokumen belum "
    "ditandatangani dan tugas ini tetap terbuka. Coba lagi beberapa saat lagi."
)
BY_HAND_TEXT = (
    "Bila mendesak: unduh dokumen di bawah, tandatangani di aplikasi BSrE, unggah PDF "
    "hasilnya di bagian Lampiran, lalu setujui tanpa passphrase."
)
# The visible signature, in PDF points with Y from the page's top (API v2): the lower
# right of an A4 page, clear of the margin, at least BSrE's smallest image.
PLACEMENT_BOX = (345.0, 700.0, 200.0, 80.0)
A4_HEIGHT = 842.0


class TteRefused(Exception):
    """BSrE would not sign for a reason the officer cannot fix on the page (said in text)."""


@dataclass(frozen=True)
class ManualTte:
    """What signing by hand needs (izin.tasks.tte_manual): the bucket's reads and links,
    BSrE's verify."""

    read_object: Callable[[str], bytes]
    verify: Callable[[bytes], Verification]
    link: Callable[[str], str]  # a short-lived download link to a key of the bucket


@dataclass(frozen=True)
class Tte:
    """What step 14 needs to sign through BSrE: the client, where sealed versions go."""

    client: Callable[[], BsreClient]  # made on first use: a GET reads no credentials
    bucket: str
    put_object: PutObject
    dinas: Dinas  # the letterhead in force
    attempts: int = 3  # per document, while BSrE does not answer
    budget_seconds: float = 20.0  # and all within the task page's timeout, rendering included
    pause_seconds: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.monotonic)
    manual: ManualTte | None = None  # BSrE down: sign in the BSrE app and upload; None: not offered


def signs_here(form: Step, ticket: Mapping[str, Any], decision: Decision | str | None) -> bool:
    """Whether this decision is the approval the Kepala Dinas signs (step 14's "yes")."""
    return (
        ticket.get("kind", Kind.STEP) == Kind.STEP
        and form.number == sop.step_with(sop.Seal).number
        and decision == Decision.YES
    )


def approval_id_for(id_izin: str, digest: str) -> str:
    """The approval's id, the same for every attempt on one ticket."""
    return "PSTJ-" + hashlib.sha256(f"{id_izin}|{digest}".encode()).hexdigest()[:12].upper()


def sign_approval(
    ticket: Mapping[str, Any],
    digest: str,
    passphrase: str,
    tte: Tte,
    *,
    store: Store,
    roster: Roster,
    now: datetime,
    public_base_url: str,
    totp: str = "",
) -> str:
    """Seal the step's documents, each PDF signed by BSrE; the approval's id. BSrE unlocks
    the key with `passphrase` or the BSrE `totp` code, exactly one of them (else ValueError).

    WrongPassphrase (the officer may try again), BsreUnavailable (after the retries the
    budget allows), TteRefused (the roster or BSrE says no): nothing is sealed then.
    """
    assignee = ticket["assignee"]
    try:
        officer = roster.by_nip(str(assignee["nip"]))
    except RosterError as missing:
        raise TteRefused("Penandatangan tidak ada di roster.") from missing
    if not officer.nik:
        raise TteRefused(
            "NIK penandatangan belum tercatat di roster; hubungi administrator sistem."
        )
    signer = Signer(officer.nik, passphrase=passphrase, totp=totp)
    image = signature_image(officer.nama, officer.jabatan)
    client = tte.client()
    deadline = tte.clock() + tte.budget_seconds

    def sign(pdf: bytes) -> bytes:
        placement = Placement(_pages(pdf), *PLACEMENT_BOX)
        return _with_retries(
            lambda: client.sign_pdf(
                pdf,
                signer,
                image_png=image,
                placement=placement,
                location="Pontianak",
                reason=f"Persetujuan langkah {ticket['step']} permohonan {ticket['id_izin']}",
            ),
            tte,
            deadline,
        )

    approval_id = approval_id_for(str(ticket["id_izin"]), digest)
    try:
        seal_documents(
            store,
            str(ticket["id_izin"]),
            now=now,
            bucket=tte.bucket,
            put_object=tte.put_object,
            approval=approval_for(ticket, officer, now, approval_id),
            public_base_url=public_base_url,
            roster=roster,
            dinas=tte.dinas,
            sign=sign,
        )
    except (WrongPassphrase, BsreUnavailable):
        raise
    except BsreError as refused:
        raise TteRefused(f"BSrE menolak menandatangani: {refused}") from refused
    return approval_id


def approval_for(
    ticket: Mapping[str, Any], officer: Officer, now: datetime, approval_id: str
) -> dict[str, Any]:
    """The approval that seals step 14's documents, as the decision will store it."""
    return {
        "oleh": officer.nama,
        "nip": officer.nip,
        "pada": now,
        "approval_id": approval_id,
        **acted_for(ticket),  # a Plh/Plt signs with their own certificate, "Plh. …"
    }


def _with_retries(call: Callable[[], bytes], tte: Tte, deadline: float) -> bytes:
    """The call, tried again while BSrE is unavailable and the budget lasts."""
    attempt = 1
    while True:
        try:
            return call()
        except BsreUnavailable as failure:
            if attempt >= tte.attempts or tte.clock() + tte.pause_seconds >= deadline:
                raise
            logger.warning(
                "BSrE unavailable, trying again", extra={"attempt": attempt, "error": str(failure)}
            )
            attempt += 1
            tte.sleep(tte.pause_seconds)


def _pages(pdf: bytes) -> int:
    """The PDF's number of pages (the signature goes on the last), at least 1."""
    import re

    return max(1, len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)))
