"""Step 14 signed through BSrE (#16), on the local runtime of the real template.

One application is taken to step 14. The Kepala Dinas first types a wrong passphrase (the
task stays open), then tries while BSrE is down (the task stays open, the page says so),
then signs while BSrE answers its first signature with HTTP 500 and a good file. The
sealed BAP and Surat Pengantar are the PDFs BSrE signed: their signatures verify with
pyHanko against the simulator's root, the verify page still finds them by hash, and the
passphrase and the NIK are nowhere in the table, the emails or the execution's history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from izin.documents import latest_documents
from izin.sop import Role
from izin.tasks.tte import TTE, UNAVAILABLE_TEXT, WRONG_KEY_TEXT
from izin_local.bsre_simulator import BsreSimulator, verify_with
from izin_local.officer import Decided, Officer
from izin_local.scenario import decide_shortest_path, submit, wait_for_step
from izin_local.testing import System, endpoints_of, start_system

ID_IZIN = "IP-BSRE-001"


def bsre_system(name: str, **parameters: str) -> Any:
    """A module's `system` fixture: the local runtime of the real template with the BSrE
    simulator mounted (and these template parameters), in a state dir called `name`."""

    @pytest.fixture(scope="module")
    def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
        with start_system(
            tmp_path_factory.mktemp(name),
            workday_seconds=120,
            bsre=True,
            parameter_overrides=parameters,
        ) as runtime:
            assert runtime.bsre is not None, "the local runtime mounts the BSrE simulator"
            yield System(runtime, endpoints_of(runtime))

    return system


system = bsre_system("bsre")
SEALED = ("bap", "surat_pengantar_dpmptsp")


@pytest.fixture(scope="module")
def attempts(system: System) -> dict[str, Decided]:
    """Step 14 tried three ways, in order: wrong passphrase, BSrE down, signed."""
    officer, bsre = at_step_14(system, ID_IZIN)
    tried: dict[str, Decided] = {}

    def act(**fields: str) -> Decided:
        officer.used.clear()  # the same task email, as he opens its link again
        return officer.act(14, "yes", fields=fields or None)

    tried["wrong"] = act(passphrase="bukan-passphrase-saya")
    bsre.down()
    try:
        tried["down"] = act()
    finally:
        bsre.up()
    bsre.signed_with_500_next(1)
    tried["signed"] = act()
    wait_for_step(system.endpoints, ID_IZIN, 18)
    return tried


def at_step_14(system: System, id_izin: str) -> tuple[Officer, BsreSimulator]:
    """One application submitted and taken to step 14: its officers, and BSrE."""
    endpoints = system.endpoints
    submit(endpoints, id_izin)
    officer = Officer(endpoints.outbox, id_izin, endpoints.roster)
    decide_shortest_path(officer, last=13)
    wait_for_step(endpoints, id_izin, 14)
    assert system.runtime.bsre is not None
    return officer, system.runtime.bsre


def sealed(system: System) -> dict[str, dict[str, Any]]:
    documents = latest_documents(system.endpoints.store, ID_IZIN)
    return {jenis: documents[jenis] for jenis in SEALED}


def pdf_of(system: System, item: dict[str, Any]) -> bytes:
    s3 = boto3.client("s3", endpoint_url=system.runtime.aws_endpoint)
    body: bytes = s3.get_object(Bucket=item["bucket"], Key=item["pdf_key"])["Body"].read()
    return body


def kepala_dinas(system: System) -> Any:
    return system.endpoints.roster.first(Role.KEPALA_DINAS)


def simulator(system: System) -> BsreSimulator:
    """The runtime's BSrE simulator (the module's system mounts one)."""
    assert system.runtime.bsre is not None
    return system.runtime.bsre


def test_a_wrong_passphrase_is_an_error_on_the_page_and_the_task_stays_open(
    system: System, attempts: dict[str, Decided]
) -> None:
    wrong = attempts["wrong"]
    assert wrong.status == 422
    assert WRONG_KEY_TEXT in wrong.page
    assert 'type="password"' in wrong.page and "bukan-passphrase-saya" not in wrong.page
    trail = system.endpoints.store.audit(ID_IZIN)
    refused = [e for e in trail if e.get("action") == "task.tte_refused"]
    assert [e["reason"] for e in refused] == ["passphrase_salah", "bsre_tidak_tersedia"]
    # The decision came after both refusals, on the same ticket: it had stayed open.
    decided = [e for e in trail if e.get("action") == "task.decided" and e.get("step") == 14]
    assert len(decided) == 1 and decided[0]["decision"] == "yes"


def test_bsre_down_is_said_on_the_page_after_retries(
    system: System, attempts: dict[str, Decided]
) -> None:
    down = attempts["down"]
    assert down.status == 503
    assert UNAVAILABLE_TEXT in down.page


def test_the_sealed_pdfs_are_bsre_signed_and_verify_against_its_root(
    system: System, attempts: dict[str, Decided]
) -> None:
    assert attempts["signed"].status == 200
    bsre = system.runtime.bsre
    assert bsre is not None
    name = kepala_dinas(system).nama
    for jenis, item in sealed(system).items():
        assert item["sealed"] is True and item.get("tte") == TTE, jenis
        pdf = pdf_of(system, item)
        assert hashlib.sha256(pdf).hexdigest() == item["pdf_sha256"]
        assert verify_with(pdf, bsre.root_certificate_pem) == [name], jenis
        at = len(pdf) // 4  # inside the original document, which the signature covers
        tampered = pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]
        assert verify_with(tampered, bsre.root_certificate_pem) is None, jenis


def test_a_signed_file_answered_with_500_is_a_signature(
    system: System, attempts: dict[str, Decided]
) -> None:
    assert attempts["signed"].status == 200
    bsre = system.runtime.bsre
    assert bsre is not None
    signs = [r for r in bsre.requests if r.path == "/api/v2/sign/pdf"]
    assert [r.status for r in signs] == [400, 500, 200]  # wrong, then BAP (500), then letter


def test_the_seal_state_kept_the_signed_versions(
    system: System, attempts: dict[str, Decided]
) -> None:
    store = system.endpoints.store
    approval = store.step_data(ID_IZIN, 14)
    assert approval["tte"] == TTE
    for item in sealed(system).values():
        assert item["approval_id"] == approval["approval_id"]
    trail = store.audit(ID_IZIN)
    sealings = [e for e in trail if e.get("action") == "document.sealed"]
    assert len(sealings) == 2 and all(e.get("tte") == TTE for e in sealings)


def test_the_verify_page_finds_the_signed_pdf_by_its_hash(
    system: System, attempts: dict[str, Decided]
) -> None:
    from izin_local.officer import http_post_form

    item = sealed(system)["bap"]
    digest = hashlib.sha256(pdf_of(system, item)).hexdigest()
    status, page = http_post_form(
        f"{system.runtime.http_url}/verify/{item['document_id']}", {"sha256": [digest]}
    )
    assert status == 200, page
    assert "sesuai dengan dokumen yang ditandatangani" in page


def test_neither_the_passphrase_nor_the_nik_is_kept_anywhere(
    system: System, attempts: dict[str, Decided]
) -> None:
    officer = kepala_dinas(system)
    secrets = [officer.bsre_passphrase, officer.nik, "bukan-passphrase-saya"]
    assert all(secrets)
    table = boto3.resource("dynamodb", endpoint_url=system.runtime.aws_endpoint).Table(
        system.runtime.table_names["IzinTable"]
    )
    items = json.dumps(table.scan()["Items"], default=str)
    history = json.dumps(system.history(ID_IZIN), default=str)
    emails = "".join(m.path.read_text(errors="replace") for m in system.runtime.outbox.messages())
    assert emails
    pages = "".join(d.page for d in attempts.values())
    for secret in secrets:
        assert secret not in items
        assert secret not in history
        assert secret not in emails
        assert secret not in pages


def verify_pages(system: System) -> tuple[str, str]:
    """The verify page's answers to the sealed BAP's PDF as signed, then with a byte changed
    inside what its signature covers."""
    from tests.integration.documents.test_verify import post_file

    item = sealed(system)["bap"]
    pdf = pdf_of(system, item)
    target = f"{system.runtime.http_url}/verify/{item['document_id']}"
    at = len(pdf) // 4
    tampered = pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]
    pages = []
    for presented in (pdf, tampered):
        status, page = post_file(target, presented, "bap.pdf")
        assert status == 200, page
        pages.append(page)
    return pages[0], pages[1]


def test_the_verify_page_shows_bsres_verdict_beside_the_hashs(
    system: System, attempts: dict[str, Decided]
) -> None:
    good, tampered = verify_pages(system)
    assert 'data-verdict="cocok"' in good and 'data-bsre="valid"' in good
    assert kepala_dinas(system).nama in good.split('id="bsre"', 1)[1]
    assert 'data-verdict="tidak_cocok"' in tampered and 'data-bsre="tidak_valid"' in tampered
    assert "data-bsre-luring" not in good + tampered  # BSrE answered: its own word


def test_bsre_down_the_verify_page_checks_the_signature_against_its_root_itself(
    system: System, attempts: dict[str, Decided]
) -> None:
    bsre = simulator(system)
    bsre.down()
    try:
        good, tampered = verify_pages(system)
    finally:
        bsre.up()
    assert 'data-bsre="valid"' in good and 'data-bsre-luring="ya"' in good
    assert kepala_dinas(system).nama in good.split('id="bsre"', 1)[1]
    assert 'data-bsre="tidak_valid"' in tampered and 'data-bsre-luring="ya"' in tampered
