"""Officers in a real browser: the email in the outbox, its link, the step's form, the answer.

Debian's chromium, driven by Playwright, takes the path an officer takes (CONTRACT §3):
the local outbox page, the email, the task link in it, the form filled and submitted with
its button, the confirmation, then the next officer's email arriving in the outbox. Also
a wrong NIP (403, the form again with the error by the NIP and the values kept) and a
"no" without a note at a yes/no step (422, the error by the note). Each page is saved as
a screenshot under test-artifacts/e2e/, and task pages once more at a phone's width.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from izin.documents import latest_documents
from izin.roster import Officer as RosterOfficer
from izin.sop import Role
from izin_local import samples
from izin_local.officer import Officer
from izin_local.scenario import decide_shortest_path, submit, wait_for_step
from izin_local.testing import System
from playwright.sync_api import Locator, Page, Response, expect

from tests.e2e.conftest import Desk

pytestmark = pytest.mark.e2e

WRONG_NIP = "199001012020011999"  # 18 digits, nobody's in the roster
DECIDED = "Terima kasih, keputusan tersimpan"
PHONE_HEIGHT = 844


# -- helpers --------------------------------------------------------------------------------


def submit_application(system: System, id_izin: str, company: str) -> None:
    """OSS's application and SIINAS's verification: the application then waits at step 4."""
    submit(system.endpoints, id_izin, nama=company)
    wait_for_step(system.endpoints, id_izin, 4)


def navigate(page: Page, action: Callable[[], None]) -> Response:
    """Do what loads a new page (a click, a submit) and return the page's HTTP response."""
    with page.expect_navigation() as navigation:
        action()
    response = navigation.value
    assert response is not None
    return response


def email_in_outbox(page: Page, step: int, company: str, to: RosterOfficer) -> Locator:
    """The outbox page's entries of the emails that ask `to` for this company's step."""
    return (
        page.locator("li.email")
        .filter(has_text=f"Langkah {step:02d} ")
        .filter(has_text=company)
        .filter(has_text=f"To: {to.email}")
    )


def wait_in_outbox(
    page: Page, outbox_url: str, step: int, company: str, to: RosterOfficer, *, count: int = 1
) -> Locator:
    """Reload the outbox page until it lists `count` such emails (at most 60 s)."""
    deadline = time.monotonic() + 60
    while True:
        page.goto(outbox_url)
        emails = email_in_outbox(page, step, company, to)
        if emails.count() >= count:
            return emails
        if time.monotonic() > deadline:
            pytest.fail(f"no step {step} email to {to.email} for {company} in the outbox")
        time.sleep(0.3)


def open_task_from_outbox(
    page: Page, outbox_url: str, step: int, company: str, to: RosterOfficer, shots: Path
) -> str:
    """Outbox → the email → its task link; returns the task page's URL."""
    emails = wait_in_outbox(page, outbox_url, step, company, to)
    page.screenshot(path=shots / "outbox.png", full_page=True)

    response = navigate(page, lambda: emails.first.locator("a > strong").click())
    assert response.status == 200
    expect(page.locator("body")).to_contain_text(company)
    page.screenshot(path=shots / "email.png", full_page=True)

    task_link = page.get_by_role("link", name=f"Buka tugas langkah {step:02d}")
    response = navigate(page, task_link.click)
    assert response.status == 200
    assert "/tasks/" in page.url
    return page.url


def check_task_page(page: Page, step: int, company: str) -> None:
    """The step's form, the applicant's company, the NIP field marked required."""
    expect(page.locator(f'form[data-sop-step="{step}"]')).to_have_count(1)
    expect(page.locator("main")).to_contain_text(company)
    nip = page.get_by_label("NIP Anda")
    expect(nip).to_have_attribute("required", "")
    expect(page.locator("label[for=f-nip] .req")).to_have_text("*")
    expect(nip).to_have_value("")


def sign_with_code(page: Page, system: System, officer: RosterOfficer) -> None:
    """Type the NIP and the current code of the officer's authenticator (the roster's secret)
    unless the page says his browser's session decides, and at step 14 his BSrE passphrase
    (the local roster's, enrolled in the simulator)."""
    if page.locator("#masuk-sebagai").count():
        expect(page.locator("#masuk-sebagai")).to_contain_text(officer.nama)
        expect(page.locator("#f-kode")).to_have_count(0)
    else:
        page.get_by_label("NIP Anda").fill(officer.nip)
        page.get_by_label("Kode autentikator").fill(system.browsers.codes.next(officer.nip))
    passphrase = page.locator('input[name="passphrase"]')
    if passphrase.count():
        assert passphrase.get_attribute("type") == "password"
        passphrase.fill(officer.bsre_passphrase)


def phone_screenshot(phone: Page, url: str, path: Path) -> int:
    """The page at a phone's width (a GET changes nothing); how far it scrolls sideways, in px.

    A phone's browser zooms out to fit a page wider than the screen (`innerWidth` grows
    with it): the page's width is compared with the screen's (`clientWidth`) instead.
    """
    response = phone.goto(url)
    assert response is not None and response.status == 200
    phone.screenshot(path=path, full_page=True)
    root = "document.documentElement"
    overflow: int = phone.evaluate(f"{root}.scrollWidth - {root}.clientWidth")
    return overflow


def shots_dir(artifacts: Path, name: str) -> Path:
    folder = artifacts / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


def outbox_url_of(system: System) -> str:
    return f"{system.runtime.http_url}/_local/outbox"


def decision_top_on_a_phone(phone: Page, url: str, path: Path) -> float:
    """The page at a phone's size, saved; how far down its first decision button starts, in
    px from the page's top (a GET changes nothing)."""
    response = phone.goto(url)
    assert response is not None and response.status == 200
    phone.screenshot(path=path, full_page=True)
    top: float = phone.evaluate(
        "document.querySelector('button[name=decision]').getBoundingClientRect().top"
        " + window.scrollY"
    )
    return top


def sealed_bap(system: System, id_izin: str) -> tuple[str, str]:
    """The sealed BAP, once the seal is made (at most 60 s): its HTML's text and its PDF's."""
    deadline = time.monotonic() + 60
    while not (latest := latest_documents(system.endpoints.store, id_izin).get("bap", {})).get(
        "sealed"
    ):
        if time.monotonic() > deadline:
            pytest.fail(f"the BAP of {id_izin} was not sealed")
        time.sleep(0.3)
    s3 = boto3.client("s3", endpoint_url=system.runtime.aws_endpoint)
    html = s3.get_object(Bucket=latest["bucket"], Key=latest["key"])["Body"].read()
    pdf = s3.get_object(Bucket=latest["bucket"], Key=latest["pdf_key"])["Body"].read()
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    plain = " ".join(re.sub(r"<[^>]+>", " ", html.decode()).split())
    return plain, " ".join(text.split())


# -- the tests ------------------------------------------------------------------------------


def test_operator_acknowledges_from_the_email_and_the_next_email_arrives(
    system: System, page: Page, phone: Page, artifacts: Path
) -> None:
    shots = shots_dir(artifacts, "step04-operator")
    company = "PT Peramban Sawit Satu"
    operator = system.endpoints.roster.first(Role.OPERATOR)
    submit_application(system, "IP-E2E-001", company)

    task_url = open_task_from_outbox(page, outbox_url_of(system), 4, company, operator, shots)
    check_task_page(page, 4, company)
    page.screenshot(path=shots / "task.png", full_page=True)
    assert phone_screenshot(phone, task_url, shots / "task-phone-390x844.png") == 0

    sign_with_code(page, system, operator)
    response = navigate(page, page.get_by_role("button", name="Notifikasi diterima").click)
    assert response.status == 200
    expect(page.locator("h1")).to_have_text(DECIDED)
    expect(page.locator(".status[data-decision=done]")).to_contain_text(company)
    expect(page.locator(".status")).to_contain_text(operator.nama)
    page.screenshot(path=shots / "confirmation.png", full_page=True)

    # The Operator's next step (5) arrives by email.
    wait_in_outbox(page, outbox_url_of(system), 5, company, operator)
    page.screenshot(path=shots / "outbox-next-email.png", full_page=True)


def test_a_wrong_nip_shows_the_form_again_with_the_error_and_the_values_kept(
    system: System, page: Page, artifacts: Path
) -> None:
    shots = shots_dir(artifacts, "step04-wrong-nip")
    company = "PT Peramban Sawit Dua"
    operator = system.endpoints.roster.first(Role.OPERATOR)
    submit_application(system, "IP-E2E-002", company)
    open_task_from_outbox(page, outbox_url_of(system), 4, company, operator, shots)
    check_task_page(page, 4, company)

    note = "Lampiran AMDAL belum ditandatangani pejabat berwenang."
    page.get_by_label("Kelengkapan berkas").select_option("tidak_lengkap")
    page.locator("#f-catatan").fill(note)
    page.get_by_label("NIP Anda").fill(WRONG_NIP)
    button = page.get_by_role("button", name="Notifikasi diterima")
    response = navigate(page, button.click)

    assert response.status == 403
    expect(page.locator('form[data-sop-step="4"]')).to_have_count(1)
    nip_block = page.locator("form div").filter(has=page.locator("#f-nip"))
    expect(nip_block).to_have_class(re.compile(r"\bfield-error\b"))
    expect(nip_block.locator(".error")).not_to_be_empty()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Kelengkapan berkas")).to_have_value("tidak_lengkap")
    expect(page.locator("#f-catatan")).to_have_value(note)
    page.screenshot(path=shots / "error-wrong-nip.png", full_page=True)

    # The right NIP and code then decide, with the values kept.
    sign_with_code(page, system, operator)
    response = navigate(page, button.click)
    assert response.status == 200
    expect(page.locator("h1")).to_have_text(DECIDED)
    page.screenshot(path=shots / "confirmation.png", full_page=True)


def test_kepala_bidang_sends_back_only_with_a_note(
    system: System, page: Page, phone: Page, artifacts: Path
) -> None:
    shots = shots_dir(artifacts, "step13-kepala-bidang")
    company = "PT Peramban Sawit Tiga"
    id_izin = "IP-E2E-003"
    roster = system.endpoints.roster
    kepala_bidang, kasi = roster.first(Role.KEPALA_BIDANG), roster.first(Role.KASI)
    submit_application(system, id_izin, company)

    officer = Officer(system.endpoints.outbox, id_izin, roster)
    decide_shortest_path(officer, last=12)

    task_url = open_task_from_outbox(page, outbox_url_of(system), 13, company, kepala_bidang, shots)
    check_task_page(page, 13, company)
    page.screenshot(path=shots / "task.png", full_page=True)
    phone_screenshot(phone, task_url, shots / "task-phone-390x844.png")  # see the next test

    # "No" without a note: the form again, the error by the note (the NIP and code were
    # right: the session they started signs the second try).
    sign_with_code(page, system, kepala_bidang)
    send_back = page.get_by_role("button", name="Belum lengkap, kembalikan")
    response = navigate(page, send_back.click)
    assert response.status == 422
    note_block = page.locator("form div").filter(has=page.locator("#f-catatan"))
    expect(note_block).to_have_class(re.compile(r"\bfield-error\b"))
    expect(note_block.locator(".error")).not_to_be_empty()
    page.screenshot(path=shots / "error-no-catatan.png", full_page=True)

    # With a note it is taken (naming nothing to change, it goes to the Kasi, as before),
    # and the Kasi's step 12 comes back by email.
    note = "Lampirkan foto lokasi pabrik pada laporan."
    page.locator("#f-catatan").fill(note)
    expect(page.locator("#masuk-sebagai")).to_contain_text(kepala_bidang.nama)
    response = navigate(page, send_back.click)
    assert response.status == 200
    expect(page.locator("h1")).to_have_text(DECIDED)
    expect(page.locator(".status[data-decision=no]")).to_contain_text(company)
    page.screenshot(path=shots / "confirmation.png", full_page=True)

    emails = wait_in_outbox(page, outbox_url_of(system), 12, company, kasi, count=2)
    page.screenshot(path=shots / "outbox-next-email.png", full_page=True)
    navigate(page, lambda: emails.first.locator("a > strong").click())
    expect(page.locator("body")).to_contain_text(note)
    page.screenshot(path=shots / "email-next-with-note.png", full_page=True)


def test_a_task_page_with_documents_fits_a_phone(
    system: System, phone: Page, artifacts: Path
) -> None:
    shots = shots_dir(artifacts, "step05-phone")
    company = "PT Peramban Sawit Empat"
    id_izin = "IP-E2E-004"
    roster = system.endpoints.roster
    submit_application(system, id_izin, company)
    officer = Officer(system.endpoints.outbox, id_izin, roster)
    assert officer.act(4, "done").status == 200

    link = next(link for link in officer.task_email(5).links if "/tasks/" in link)
    overflow = phone_screenshot(phone, link, shots / "task-phone-390x844.png")
    assert overflow == 0, f"the step 5 page scrolls sideways by {overflow}px at 390px"


def test_the_bap_goes_back_to_the_tim_teknis_who_correct_the_tka_figure_that_gets_sealed(
    system: System, desk: Desk, phone: Page, artifacts: Path
) -> None:
    """Issue #13: the Kepala Bidang returns the BAP's data with a note; the ketua finds the
    note and the earlier figures, corrects TKA; the Kasi, the Kepala Bidang and the Kepala
    Dinas see what changed and approve; the sealed BAP carries the corrected figure. Each
    officer works in his own browser, signed in or signing with NIP and code."""
    shots = shots_dir(artifacts, "step13-bap-back-to-step11")
    company = "PT Peramban Sawit Lima"
    id_izin = "IP-E2E-005"
    roster = system.endpoints.roster
    kabid, kasi = roster.first(Role.KEPALA_BIDANG), roster.first(Role.KASI)
    kadis, ketua = roster.first(Role.KEPALA_DINAS), roster.holders(Role.TIM_TEKNIS)[0]
    outbox = outbox_url_of(system)
    submit_application(system, id_izin, company)
    decide_shortest_path(Officer(system.endpoints.outbox, id_izin, roster), last=12)
    earlier_tka = samples.bap()["tka_l"]

    # Step 13: the decision within two phone screens, then the return to the Tim Teknis.
    page = desk(system, kabid)
    url = open_task_from_outbox(page, outbox, 13, company, kabid, shots)
    top = decision_top_on_a_phone(phone, url, shots / "step13-phone-390x844.png")
    assert top < 2 * PHONE_HEIGHT, f"the step 13 decision starts {top:.0f}px down"
    expect(page.locator("#ringkasan")).to_contain_text("Laporan Kasi")
    expect(page.locator("#ringkasan")).to_contain_text("Kesimpulan BAP (Tim Teknis)")
    note = "Perbaiki jumlah TKA pada BAP: tiga orang menurut daftar hadir."
    page.locator("#f-catatan").fill(note)
    page.get_by_label("Bila dikembalikan: yang harus diperbaiki").select_option("bap")
    sign_with_code(page, system, kabid)
    response = navigate(page, page.get_by_role("button", name="Belum lengkap, kembalikan").click)
    assert response.status == 200
    expect(page.locator("main")).to_contain_text("Tim Teknis (langkah 11)")
    page.screenshot(path=shots / "step13-sent-back.png", full_page=True)

    # Step 11 again: the note, the earlier figures in the form; the ketua corrects TKA.
    page = desk(system, ketua)
    emails = wait_in_outbox(page, outbox, 11, company, ketua, count=2)
    navigate(page, lambda: emails.first.locator("a > strong").click())
    expect(page.locator("body")).to_contain_text(note)
    navigate(page, page.get_by_role("link", name="Buka tugas langkah 11").click)
    expect(page.locator("section.note")).to_contain_text(note)
    expect(page.locator("section.note")).to_contain_text("kepada Tim Teknis (langkah 11)")
    expect(page.locator("#f-tka_l")).to_have_value(earlier_tka)
    expect(page.locator("#f-tki_l")).to_have_value(samples.bap()["tki_l"])
    expect(page.locator("#f-mesin")).to_have_value(samples.bap()["mesin"])
    page.screenshot(path=shots / "step11-prefilled.png", full_page=True)
    page.locator("#f-tka_l").fill("3")
    sign_with_code(page, system, ketua)
    response = navigate(page, page.get_by_role("button", name="Buat BAP").click)
    assert response.status == 200
    changed = page.locator("ul.changes li")
    expect(changed).to_have_count(1)
    expect(changed).to_contain_text("Tenaga kerja asing laki-laki")
    expect(changed.locator("del")).to_have_text(earlier_tka)
    expect(changed.locator("ins")).to_have_text("3")
    page.screenshot(path=shots / "step11-confirmation-diff.png", full_page=True)

    # Step 12: the Kasi's form with the earlier report, and what changed in the BAP.
    page = desk(system, kasi)
    emails = wait_in_outbox(page, outbox, 12, company, kasi, count=2)
    navigate(page, lambda: emails.first.locator("a > strong").click())
    navigate(page, page.get_by_role("link", name="Buka tugas langkah 12").click)
    card = page.locator("#ringkasan")
    expect(card).to_contain_text("versi 1 ke versi 2")
    bap_change = card.locator("ul.changes li").filter(has_text="Tenaga kerja asing laki-laki")
    expect(bap_change.locator("del")).to_have_text(earlier_tka)
    expect(bap_change.locator("ins")).to_have_text("3")
    expect(page.locator("section.note")).to_contain_text(note)
    page.screenshot(path=shots / "step12-diff.png", full_page=True)
    sign_with_code(page, system, kasi)
    done = page.get_by_role("button", name="Buat Surat Pengantar, laporkan kepada Kepala Bidang")
    assert navigate(page, done.click).status == 200

    # Steps 13 and 14 approve, each decision within two phone screens.
    for number, officer, button, count in (
        (13, kabid, "Lengkap, teruskan ke Kepala Dinas", 2),
        (14, kadis, "Setujui dan tandatangani", 1),
    ):
        page = desk(system, officer)
        emails = wait_in_outbox(page, outbox, number, company, officer, count=count)
        navigate(page, emails.first.locator("a > strong").click)
        link = page.get_by_role("link", name=f"Buka tugas langkah {number}")
        navigate(page, link.click)
        expect(page.locator("#ringkasan")).to_contain_text("versi 1 ke versi 2")
        shot = shots / f"step{number}-again-phone-390x844.png"
        top = decision_top_on_a_phone(phone, page.url, shot)
        assert top < 2 * PHONE_HEIGHT, f"the step {number} decision starts {top:.0f}px down"
        sign_with_code(page, system, officer)
        assert navigate(page, page.get_by_role("button", name=button).click).status == 200
        page.screenshot(path=shots / f"step{number}-approved.png", full_page=True)

    html, pdf = sealed_bap(system, id_izin)
    assert "Tenaga kerja asing (TKA) 3 0 3" in html
    assert re.search(r"Tenaga kerja asing \(TKA\) 3 0 3", pdf), pdf
