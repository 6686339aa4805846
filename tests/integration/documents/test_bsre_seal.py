"""The Dinas's e-seal on the tembusan copy (#16), on the local runtime with BsreSealTembusan.

The Kepala Dinas signs step 14 through BSrE; at step 17 each PDF of the copy to DPMPTSP goes
to BSrE's `seal/pdf` under the Dinas's seal account and a TOTP of it, and the email carries
the sealed PDFs: both signatures, his TTE and the Dinas's seal, verify with pyHanko against
the simulator's root, the sealed copy still begins with the signed version as stored, and
the trail keeps the copies' hashes.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
from email.message import EmailMessage
from typing import Any

import pytest
from izin.bsre import SEAL_PATH
from izin.documents import latest_documents
from izin_local.bsre_simulator import SEAL_ID_SUBSCRIBER, SEAL_NAME, verify_with
from izin_local.officer import wait_until
from izin_local.testing import System

from tests.integration.documents import test_bsre_signing as signing

ID_IZIN = "IP-BSRE-SEAL-001"

system = signing.bsre_system("bsre-seal", BsreSealTembusan="true")


@pytest.fixture(scope="module")
def copy(system: System) -> dict[str, Any]:
    """Step 14 signed with the passphrase; the tembusan's trail entry once it went out."""
    officer, _ = signing.at_step_14(system, ID_IZIN)
    assert officer.act(14, "yes").status == 200
    store = system.endpoints.store

    def sent() -> list[dict[str, Any]]:
        return [e for e in store.audit(ID_IZIN) if e.get("action") == "tembusan.sent"]

    wait_until(lambda: bool(sent()), timeout=120, what="the tembusan")
    return sent()[0]


def attachments(system: System) -> dict[str, bytes]:
    """The tembusan email's PDFs, by the jenis whose label begins the file's name."""
    to = str(system.endpoints.roster.dpmptsp_email)
    [message] = [
        m
        for m in system.endpoints.outbox.messages()
        if m.to == (to,) and "Tembusan BAP" in m.subject and ID_IZIN in (m.text or "")
    ]
    parsed = email.message_from_bytes(message.path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    files = {str(part.get_filename()): part.get_content() for part in parsed.iter_attachments()}
    labels = {"bap": "BAP Verifikasi Teknis", "surat_pengantar_dpmptsp": "Surat Pengantar"}
    return {j: next(c for n, c in files.items() if n.startswith(labels[j])) for j in signing.SEALED}


def test_the_copys_pdfs_carry_the_kepala_dinas_tte_and_the_dinas_seal(
    system: System, copy: dict[str, Any]
) -> None:
    root, kadis = signing.simulator(system).root_certificate_pem, signing.kepala_dinas(system).nama
    documents = latest_documents(system.endpoints.store, ID_IZIN)
    for jenis, pdf in attachments(system).items():
        signed = signing.pdf_of(system, documents[jenis])
        assert pdf.startswith(signed) and len(pdf) > len(signed), jenis  # the seal appended
        assert verify_with(pdf, root) == [kadis, SEAL_NAME], jenis
        assert copy["eseal"][jenis] == hashlib.sha256(pdf).hexdigest()
        assert copy["documents"][jenis] == documents[jenis]["pdf_sha256"]  # the version sent


def test_the_seal_went_to_bsre_under_the_seal_account_with_a_totp(
    system: System, copy: dict[str, Any]
) -> None:
    seals = [r for r in signing.simulator(system).requests if r.path == SEAL_PATH]
    assert [r.status for r in seals] == [200, 200]
    for request in seals:
        body = request.json
        assert body["idSubscriber"] == SEAL_ID_SUBSCRIBER and len(body["totp"]) == 6
        assert "nik" not in body and "passphrase" not in body
        assert body["signatureProperties"][0]["tampilan"] == "INVISIBLE"
    trail = system.endpoints.store.audit(ID_IZIN)
    assert not [e for e in trail if e.get("action") == "tembusan.eseal_gagal"]
