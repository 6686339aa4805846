"""Step 14 signed with a TOTP from BSrE instead of the passphrase (#16), on the local runtime.

The Kepala Dinas types a code of his BSrE TOTP (the local roster's `bsre_totp_secret`, which
the simulator enrolled) in "Kode TOTP BSrE" and no passphrase: BSrE receives `totp` in place
of `passphrase`, signs both PDFs under his certificate, and the Seal state keeps them. The
code, its secret and the NIK are nowhere in the table, the emails, the pages or the history.
"""

from __future__ import annotations

import json

import boto3
import pyotp
import pytest
from izin.bsre import SIGN_PATH
from izin.sop import Role
from izin.tasks.tte import TTE
from izin_local.bsre_simulator import verify_with
from izin_local.officer import Decided
from izin_local.scenario import wait_for_step
from izin_local.testing import System

from tests.integration.documents.test_bsre_signing import (
    SEALED,
    at_step_14,
    bsre_system,
    kepala_dinas,
    pdf_of,
    simulator,
)

ID_IZIN = "IP-BSRE-TOTP-001"


system = bsre_system("bsre-totp")


@pytest.fixture(scope="module")
def signed(system: System) -> tuple[Decided, str]:
    """Step 14 approved with a BSrE TOTP code; the answer and the code typed."""
    officer, _ = at_step_14(system, ID_IZIN)
    kadis = system.endpoints.roster.first(Role.KEPALA_DINAS)
    assert kadis.bsre_totp_secret, "the local roster gives the Kepala Dinas a BSrE TOTP"
    code = pyotp.TOTP(kadis.bsre_totp_secret).now()
    decided = officer.act(14, "yes", fields={"bsre_totp": code})
    wait_for_step(system.endpoints, ID_IZIN, 18)
    return decided, code


def test_bsre_receives_the_totp_in_place_of_the_passphrase(
    system: System, signed: tuple[Decided, str]
) -> None:
    decided, code = signed
    assert decided.status == 200, decided.page
    signs = [r for r in simulator(system).requests if r.path == SIGN_PATH]
    assert [r.status for r in signs] == [200, 200]  # the BAP, then the Surat Pengantar
    for request in signs:
        assert request.json["totp"] == code and "passphrase" not in request.json


def test_the_sealed_pdfs_are_signed_by_the_kepala_dinas(
    system: System, signed: tuple[Decided, str]
) -> None:
    from izin.documents import latest_documents

    root, nama = simulator(system).root_certificate_pem, kepala_dinas(system).nama
    approval = system.endpoints.store.step_data(ID_IZIN, 14)
    assert approval["tte"] == TTE
    documents = latest_documents(system.endpoints.store, ID_IZIN)
    for jenis in SEALED:
        item = documents[jenis]
        assert item["sealed"] is True and item["approval_id"] == approval["approval_id"]
        assert verify_with(pdf_of(system, item), root) == [nama], jenis


def test_the_code_its_secret_and_the_nik_are_kept_nowhere(
    system: System, signed: tuple[Decided, str]
) -> None:
    decided, code = signed
    kadis = system.endpoints.roster.first(Role.KEPALA_DINAS)
    table = boto3.resource("dynamodb", endpoint_url=system.runtime.aws_endpoint).Table(
        system.runtime.table_names["IzinTable"]
    )
    items = json.dumps(table.scan()["Items"], default=str)
    history = json.dumps(system.history(ID_IZIN), default=str)
    emails = "".join(m.path.read_text(errors="replace") for m in system.runtime.outbox.messages())
    trail = json.dumps(system.endpoints.store.audit(ID_IZIN), default=str)
    for secret in (f'"{code}"', kadis.bsre_totp_secret, kadis.nik):
        for where in (items, history, emails, trail, decided.page):
            assert secret not in where
