"""The second factor in a real browser (CONTRACT §3, §6), at a phone's and a desktop's width.

A NIP alone is refused (403); five wrong codes lock the link and the Kasi is told; a
session ends when its stored expiry passes (the table's record is moved to the past: no
sleeping); an admin's `izin petugas enroll` emails a link whose page shows the QR code,
which is read back as a phone's camera would (zxing), a code computed from it with pyotp
confirms it, then the officer signs in at /masuk and decides their task with the session.
The enrollment tests re-enroll the Operator, so they come last in this module.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from izin.auth import code_for
from izin.roster import Officer as RosterOfficer
from izin.sop import Role
from izin.tickets import ticket_hash
from izin_local.officer import code_after, is_task_email
from izin_local.scenario import submit, wait_for_step
from izin_local.testing import System
from playwright.sync_api import Page, expect

from tests.e2e.conftest import press, width_of

pytestmark = pytest.mark.e2e

DECIDED = "Terima kasih, keputusan tersimpan"

OWN_RUNTIME = "second-factor"  # the enrollment tests give the Operator a new secret


def operator_of(system: System) -> RosterOfficer:
    return system.endpoints.roster.first(Role.OPERATOR)


def step4_link(system: System, id_izin: str) -> str:
    """A new application waiting at step 4, and the Operator's link."""
    submit(system.endpoints, id_izin, nama=f"PT Dua Faktor {id_izin[-2:]}")
    wait_for_step(system.endpoints, id_izin, 4)
    email = system.runtime.outbox.wait_for(lambda m: is_task_email(m, id_izin, 4), timeout=60)
    return next(link for link in email.links if "/tasks/" in link)


def test_a_nip_alone_is_refused_403_with_the_error_by_the_code(
    system: System, tab: Page, artifacts: Path
) -> None:
    id_izin = f"IP-2FA-NIP-{width_of(tab)[0].upper()}1"
    link = step4_link(system, id_izin)
    tab.goto(link)
    tab.get_by_label("NIP Anda").fill(operator_of(system).nip)
    assert press(tab, tab.get_by_role("button", name="Notifikasi diterima")) == 403
    expect(tab.locator("#e-kode")).to_contain_text("NIP saja tidak cukup")
    expect(tab.get_by_label("Kode autentikator")).to_have_attribute("aria-invalid", "true")
    tab.screenshot(path=artifacts / f"2fa-nip-alone-{width_of(tab)}.png", full_page=True)
    root = "document.documentElement"
    assert tab.evaluate(f"{root}.scrollWidth - {root}.clientWidth") == 0  # fits the width
    ticket = system.endpoints.store.ticket(ticket_hash(link.rsplit("/", 1)[1]))
    assert ticket is not None and (ticket["status"], ticket["wrong_nips"]) == ("open", 0)


def test_five_wrong_codes_lock_the_link_and_the_kasi_is_told(
    system: System, page: Page, artifacts: Path
) -> None:
    operator, kasi = operator_of(system), system.endpoints.roster.first(Role.KASI)
    id_izin = "IP-2FA-LOCK-01"
    link = step4_link(system, id_izin)
    page.goto(link)
    right = code_for(operator.totp_secret, datetime.now(UTC))
    wrong = next(c for c in ("000000", "111111", "222222") if c != right)
    statuses = []
    for _ in range(5):
        page.get_by_label("NIP Anda").fill(operator.nip)
        page.get_by_label("Kode autentikator").fill(wrong)
        button = page.get_by_role("button", name="Notifikasi diterima")
        statuses.append(press(page, button))
        if page.locator("h1", has_text="Tautan dikunci").count():
            break
    assert statuses == [403] * 5
    expect(page.locator("h1")).to_have_text("Tautan dikunci")
    page.screenshot(path=artifacts / "2fa-locked.png", full_page=True)
    system.runtime.outbox.wait_for(
        lambda m: "dikunci" in m.subject and id_izin in m.subject and str(kasi.email) in m.to,
        timeout=60,
    )


def test_a_session_whose_expiry_passed_is_refused(
    system: System, page: Page, artifacts: Path
) -> None:
    kasi = system.endpoints.roster.first(Role.KASI)
    base = system.runtime.http_url
    page.goto(f"{base}/meja")
    assert page.url.endswith("/masuk")  # 303 to /masuk without a session
    page.get_by_label("NIP").fill(kasi.nip)
    page.get_by_label("Kode autentikator").fill(system.browsers.codes.next(kasi.nip))
    assert press(page, page.get_by_role("button", name="Masuk")) == 303
    assert page.url.endswith("/meja")
    expect(page.locator("#petugas")).to_contain_text(kasi.nama)
    cookie = next(c for c in page.context.cookies() if c["name"] == "izin_sesi")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    session = hashlib.sha256(cookie["value"].split(".", 1)[0].encode()).hexdigest()
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    system.endpoints.store.update_session(session, {"until": past})  # the day has ended
    response = page.goto(f"{base}/meja")
    assert response is not None and page.url.endswith("/masuk")
    expect(page.locator("main")).not_to_contain_text(kasi.nama)
    page.screenshot(path=artifacts / "2fa-session-expired.png", full_page=True)


def enroll(system: System, officer: RosterOfficer) -> str:
    """`izin petugas enroll NIP`, as an admin runs it; its output (no link in it)."""
    answer = subprocess.run(
        [
            str(Path(sys.executable).parent / "izin"),
            "petugas",
            "enroll",
            officer.nip,
            "--endpoint-url",
            system.runtime.aws_endpoint,
            "--base-url",
            system.runtime.http_url,
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),  # the runtime's endpoint, table and key, as a shell beside it
        timeout=120,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    assert "/daftar-kode/" not in answer.stdout
    return answer.stdout


def scanned(page: Page) -> str:
    """The otpauth URI the page's QR code holds, read as a phone's camera reads it."""
    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(page.locator("#qr").screenshot())).convert("L")
    # zxing may find the one code twice (seen once in a clean clone's run). Asked for every
    # format, it once found two different texts (session 28): a QR code's error correction
    # makes a second reading of it unlikely, a linear barcode's false find far less so. A
    # phone's camera app looks for QR codes; so does this, and wants one text.
    qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    (text,) = {str(code.text) for code in zxingcpp.read_barcodes(image, formats=qr)}
    return text


def test_enroll_sign_in_and_decide_with_the_session(
    system: System, tab: Page, artifacts: Path
) -> None:
    operator = operator_of(system)
    width = width_of(tab)
    link = step4_link(system, f"IP-2FA-ENR-{width[0].upper()}1")
    sent_before = len(system.runtime.outbox.messages())
    assert "dikirim" in enroll(system, operator)
    email = system.runtime.outbox.wait_for(
        lambda m: "Aktifkan kode masuk" in m.subject and str(operator.email) in m.to,
        timeout=60,
    )
    assert len(system.runtime.outbox.messages()) > sent_before
    # Sent as the functions send: under the Dinas's name (dinas.json), from MAIL_FROM.
    assert email.sender.startswith("Disperindag Kalbar - Izin Perluasan <")
    enroll_link = next(link for link in email.links if "/daftar-kode/" in link)

    tab.goto(enroll_link)
    expect(tab.locator("#qr")).to_be_visible()
    uri = scanned(tab)
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    assert uri.startswith("otpauth://totp/") and operator.nip in uri
    assert tab.locator("#kunci").inner_text().replace(" ", "") == secret
    assert secret not in (email.text or "") and secret not in (email.html or "")
    tab.screenshot(path=artifacts / f"2fa-enroll-{width}.png", full_page=True)
    enrolled_at = datetime.now(UTC)
    tab.get_by_label("Kode dari aplikasi").fill(pyotp.TOTP(secret).at(enrolled_at))
    assert press(tab, tab.get_by_role("button", name="Aktifkan")) == 200
    expect(tab.locator("#aktif")).to_be_visible()

    # Sign in with the new secret's code of a later window (the one typed above is used).
    tab.goto(f"{system.runtime.http_url}/masuk")
    tab.get_by_label("NIP").fill(operator.nip)
    tab.get_by_label("Kode autentikator").fill(code_after(secret, enrolled_at))
    assert press(tab, tab.get_by_role("button", name="Masuk")) == 303
    assert tab.url.endswith("/meja")
    expect(tab.locator("#petugas")).to_contain_text(operator.nama)
    tab.screenshot(path=artifacts / f"2fa-meja-{width}.png", full_page=True)

    # The task link now asks for nothing: the session decides.
    tab.goto(link)
    expect(tab.locator("#masuk-sebagai")).to_contain_text(operator.nama)
    expect(tab.locator("#f-kode")).to_have_count(0)
    assert press(tab, tab.get_by_role("button", name="Notifikasi diterima")) == 200
    expect(tab.locator("h1")).to_have_text(DECIDED)
    id_izin = f"IP-2FA-ENR-{width[0].upper()}1"
    decided = [e for e in system.endpoints.store.audit(id_izin) if e["action"] == "task.decided"]
    assert [e["via"][:8] for e in decided] == ["session:"]

    # Signing out ends it: /meja sends to /masuk again.
    tab.goto(f"{system.runtime.http_url}/meja")
    assert press(tab, tab.get_by_role("button", name="Keluar")) == 303
    assert tab.url.endswith("/masuk")
    tab.goto(f"{system.runtime.http_url}/meja")
    assert tab.url.endswith("/masuk")
