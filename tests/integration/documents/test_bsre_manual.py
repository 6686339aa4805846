"""Step 14 signed by hand while BSrE's API is down (#16), on the local runtime.

BSrE stays down through the retries: the page (503, the task open) offers the exact
unsigned BAP and Surat Pengantar to download and an upload for the signed ones. The
Kepala Dinas signs them "in the BSrE app" (the simulator's PKI, under his certificate),
first uploads an edited file (refused, 422, nothing recorded), then the signed ones, and
approves without a passphrase: the sealed versions are his uploads, marked as signed by
hand, their signatures verify against the simulator's root, and the Seal state kept them.
"""

from __future__ import annotations

import html
import re
import urllib.request
from typing import Any

import pytest
from izin.documents import latest_documents
from izin.sop import Role
from izin.tasks.tte import TTE, UNAVAILABLE_TEXT
from izin_local.bsre_simulator import verify_with
from izin_local.officer import Decided
from izin_local.scenario import wait_for_step
from izin_local.testing import System

from tests.integration.documents.test_bsre_signing import SEALED, at_step_14, bsre_system, pdf_of

ID_IZIN = "IP-BSRE-MANUAL-001"


system = bsre_system("bsre-manual")


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        body: bytes = answer.read()
        return body


@pytest.fixture(scope="module")
def attempts(system: System) -> dict[str, Any]:
    officer, bsre = at_step_14(system, ID_IZIN)
    endpoints = system.endpoints
    nama = endpoints.roster.first(Role.KEPALA_DINAS).nama
    tried: dict[str, Any] = {}

    def act(**kw: Any) -> Decided:
        officer.used.clear()  # the same task email, as he opens its link again
        return officer.act(14, "yes", **kw)

    bsre.down()
    tried["down"] = act()
    section = tried["down"].page.split('id="tte-manual"', 1)[-1].split("</section>", 1)[0]
    links = [html.unescape(u) for u in re.findall(r'href="([^"]+)"', section)]
    tried["offered"] = [download(u) for u in links]
    tried["offered_again"] = [download(u) for u in links]
    signed = [
        bsre.pki.sign(pdf, nama, reason="Persetujuan", location="Pontianak")
        for pdf in tried["offered"]
    ]
    tried["signed"] = signed
    bsre.up()  # the sign API may stay down; its verify must answer for the upload to count
    edited = tried["offered"][0].replace(b"/Type", b"/Tipe", 1)
    tried["edited"] = act(fields={"passphrase": ""}, uploads={"bap-diubah.pdf": edited})
    uploads = {f"{i}-ttd.pdf": pdf for i, pdf in enumerate(signed)}
    tried["uploaded"] = act(fields={"passphrase": ""}, uploads=uploads)
    wait_for_step(endpoints, ID_IZIN, 18)
    return tried


def sealed(system: System) -> dict[str, dict[str, Any]]:
    documents = latest_documents(system.endpoints.store, ID_IZIN)
    return {jenis: documents[jenis] for jenis in SEALED}


def test_bsre_down_offers_the_same_unsigned_pdfs_to_sign_by_hand(
    attempts: dict[str, Any],
) -> None:
    down = attempts["down"]
    assert down.status == 503 and UNAVAILABLE_TEXT in down.page
    assert len(attempts["offered"]) == 2
    assert all(p.startswith(b"%PDF-") for p in attempts["offered"])
    assert attempts["offered"] == attempts["offered_again"]


def test_an_edited_upload_is_refused_and_records_nothing(attempts: dict[str, Any]) -> None:
    edited = attempts["edited"]
    assert edited.status == 422
    assert "bap-diubah.pdf bukan dokumen yang ditawarkan" in edited.page


def test_the_signed_uploads_are_the_sealed_versions_and_verify(
    system: System, attempts: dict[str, Any]
) -> None:
    assert attempts["uploaded"].status == 200, attempts["uploaded"].page
    bsre = system.runtime.bsre
    assert bsre is not None
    nama = system.endpoints.roster.first(Role.KEPALA_DINAS).nama
    approval = system.endpoints.store.step_data(ID_IZIN, 14)
    assert approval["tte"] == TTE and approval["tte_manual"] is True
    stored = []
    for jenis, item in sealed(system).items():
        assert item["sealed"] and item["tte"] == TTE and item["tte_manual"] is True, jenis
        assert item["approval_id"] == approval["approval_id"], jenis
        pdf = pdf_of(system, item)
        assert verify_with(pdf, bsre.root_certificate_pem) == [nama], jenis
        stored.append(pdf)
    assert sorted(stored) == sorted(attempts["signed"])
    trail = system.endpoints.store.audit(ID_IZIN)
    assert [e["action"] for e in trail if e["action"] == "task.tte_manual"] == ["task.tte_manual"]
    sealings = [e for e in trail if e.get("action") == "document.sealed"]
    assert len(sealings) == 2 and all(e.get("tte_manual") for e in sealings)
