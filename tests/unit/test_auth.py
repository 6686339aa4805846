"""The second factor (CONTRACT §3, §6): NIP + current code or a session decides, never a NIP
alone; a code is good once; sessions end with the working day, by sign-out or by an admin;
enrollment by a one-time link. Through the task page's handler on the in-memory store."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from izin import auth, enrollment, sessions, signin, wiring, workspace
from izin import settings as settings_module
from izin.mail import MemoryMailer
from izin.memory_store import MemoryStore
from izin.roster import Officer, Role, RosterError, load_roster
from izin.tasks import Request
from izin.tickets import Status, ticket_hash
from izin_local.testing import ROSTER as ROSTER_FILE
from izin_local.testing import FakeCipher, FirstWriteFails, local_auth

ROOT = Path(__file__).resolve().parents[2]
ROSTER = load_roster(ROSTER_FILE)


def code(officer: Any, at: datetime) -> str:
    return auth.code_for(officer.totp_secret, at)


def csrf(door: Any, ticket: str) -> str:
    return str(door.store.ticket(ticket_hash(ticket))["csrf"])


def decided_via(door: Any) -> list[str]:
    return [e["via"] for e in door.store.audit("IP-DOOR-0001") if e["action"] == "task.decided"]


def set_cookies(answer: dict[str, Any]) -> list[str]:
    return [c.split(";", 1)[0] for c in answer.get("cookies") or []]


def test_a_nip_alone_never_decides_and_is_not_counted(task_door: Any) -> None:
    ticket, officer = task_door.ticket(6)
    body = urlencode({"nip": officer.nip, "csrf": csrf(task_door, ticket), "decision": "done"})
    answer = task_door.post(ticket, body)
    assert answer["statusCode"] == 403 and "NIP saja tidak cukup" in answer["body"]
    item = task_door.store.ticket(ticket_hash(ticket))
    assert (item["status"], item["wrong_nips"]) == (Status.OPEN, 0)
    assert task_door.recorder.outputs == []


def test_nip_and_code_decide_start_a_session_and_the_code_is_good_once(task_door: Any) -> None:
    first, officer = task_door.ticket(6)
    kode = code(officer, task_door.auth.now)
    fields = {"nip": officer.nip, "kode": kode, "decision": "done"}
    answer = task_door.post(first, urlencode({**fields, "csrf": csrf(task_door, first)}))
    assert answer["statusCode"] == 200 and decided_via(task_door) == ["totp"]
    (cookie,) = answer["cookies"]
    assert cookie.startswith("izin_sesi=")
    assert {"HttpOnly", "SameSite=Lax", "Secure", "Path=/"} <= set(cookie.split("; "))
    second, _ = task_door.ticket(6)
    answer = task_door.post(second, urlencode({**fields, "csrf": csrf(task_door, second)}))
    assert answer["statusCode"] == 403 and "sudah dipakai" in answer["body"]
    assert task_door.store.ticket(ticket_hash(second))["wrong_nips"] == 1
    # The session the pair started decides the second task: no NIP, no code.
    task_door.cookies = set_cookies({"cookies": [cookie]})
    answer = task_door.post(
        second, urlencode({"csrf": csrf(task_door, second), "decision": "done"})
    )
    assert answer["statusCode"] == 200
    session_id = cookie.split(";", 1)[0].removeprefix("izin_sesi=").split(".", 1)[0]
    assert decided_via(task_door)[1] == f"session:{sessions.session_hash(session_id)[:12]}"


def test_the_session_of_another_officer_decides_nothing(task_door: Any) -> None:
    ticket, _ = task_door.ticket(6)  # the Kepala Bidang's
    task_door.proof(ticket, ROSTER.first(Role.KASI))
    answer = task_door.post(
        ticket, urlencode({"csrf": csrf(task_door, ticket), "decision": "done"})
    )
    assert answer["statusCode"] == 422 and "Isi NIP Anda." in answer["body"]
    assert task_door.recorder.outputs == []


def test_five_wrong_codes_lock_the_task_and_tell_the_supervisor(task_door: Any) -> None:
    ticket, officer = task_door.ticket(6)
    right = code(officer, task_door.auth.now)
    wrong = next(c for c in ("000000", "111111") if c != right)
    body = urlencode({"nip": officer.nip, "kode": wrong, "csrf": csrf(task_door, ticket)})
    answers = [task_door.post(ticket, body + "&decision=done")["statusCode"] for _ in range(5)]
    assert answers == [403] * 5
    assert task_door.store.ticket(ticket_hash(ticket))["status"] == Status.LOCKED
    assert "dikunci" in task_door.recorder.sent[-1].subject
    right_body = urlencode({"nip": officer.nip, "kode": right, "csrf": csrf(task_door, ticket)})
    assert task_door.post(ticket, right_body + "&decision=done")["statusCode"] == 403
    assert task_door.recorder.outputs == []


def test_a_form_without_the_page_token_is_refused_even_in_a_session(task_door: Any) -> None:
    ticket, officer = task_door.ticket(6)
    task_door.proof(ticket, officer)
    assert task_door.post(ticket, "decision=done")["statusCode"] == 403
    assert task_door.recorder.outputs == []


def test_an_expired_or_ended_session_decides_nothing(task_door: Any) -> None:
    ticket, officer = task_door.ticket(6)
    body = urlencode({**task_door.proof(ticket, officer), "decision": "done"})
    signed = sessions.signed_in(task_door.cookies, task_door.auth)
    assert signed is not None and signed.officer == officer and signed.until is not None
    task_door.auth.now = signed.until  # the clock reaches the session's end
    assert task_door.post(ticket, body)["statusCode"] == 422  # the form asks for NIP + code
    task_door.auth.now = signed.until - timedelta(seconds=1)
    sessions.end_all_sessions(task_door.store, officer.nip)  # an admin's `izin petugas keluar`
    assert task_door.post(ticket, body)["statusCode"] == 422
    assert task_door.recorder.outputs == []


@pytest.mark.parametrize(
    ("now", "seconds", "until"),
    [
        ("2026-12-01T01:00+00:00", 28800, "2026-12-01T09:00+00:00"),  # 08:00 WIB: to 16:00
        ("2026-12-01T08:30+00:00", 28800, "2026-12-01T09:00+00:00"),  # 15:30 WIB: to 16:00
        ("2026-12-01T10:00+00:00", 28800, "2026-12-01T18:00+00:00"),  # 17:00 WIB: 8 hours
        ("2026-12-01T01:00+00:00", 60, "2026-12-01T01:01+00:00"),  # a shorter setting
    ],
)
def test_a_session_lasts_the_working_day_eight_hours_at_most(
    now: str, seconds: int, until: str
) -> None:
    started = datetime.fromisoformat(now)
    assert sessions.session_until(started, seconds) == datetime.fromisoformat(until)


def test_a_tampered_cookie_is_no_session() -> None:
    store = MemoryStore()
    checker = local_auth(store, ROSTER, datetime(2026, 12, 1, 2, tzinfo=UTC))
    _, cookie = sessions.start_session(checker, ROSTER.first(Role.OPERATOR))
    value = cookie.split(";", 1)[0]
    assert sessions.signed_in([value], checker) is not None
    assert sessions.signed_in([value[:-2] + "xx"], checker) is None
    assert sessions.signed_in(["izin_sesi=" + "a" * 43 + ".bad"], checker) is None


def test_a_code_is_spent_only_with_the_session_it_starts() -> None:
    store = FirstWriteFails(lambda sort_key: sort_key == "SESSION")
    now = datetime(2026, 12, 1, 2, tzinfo=UTC)
    checker = local_auth(store, ROSTER, now)
    operator = ROSTER.first(Role.OPERATOR)
    kode = code(operator, now)
    with pytest.raises(RuntimeError):
        sessions.sign_in_with_code(checker, operator, kode)
    started = sessions.sign_in_with_code(checker, operator, kode)  # the officer presses again
    assert started is not None
    signed, cookie = started
    assert sessions.signed_in([cookie.split(";", 1)[0]], checker) == signed
    assert sessions.sign_in_with_code(checker, operator, kode) is None  # and good once


def test_a_session_id_names_its_officer_for_reading_ahead_never_for_trust() -> None:
    store = MemoryStore()
    checker = local_auth(store, ROSTER, datetime(2026, 12, 1, 2, tzinfo=UTC))
    operator, kasi = ROSTER.first(Role.OPERATOR), ROSTER.first(Role.KASI)
    _, cookie = sessions.start_session(checker, operator)
    value = cookie.split(";", 1)[0]
    assert sessions.claimed_nip([value]) == operator.nip
    # Another officer's NIP in front: the signature no longer holds, so nobody is signed in.
    forged = value.replace(operator.nip, kasi.nip, 1)
    assert sessions.claimed_nip([forged]) == kasi.nip
    assert sessions.signed_in([forged], checker) is None
    # An id of the earlier form (no NIP), or no NIP shape: nothing is read ahead.
    for other in ("izin_sesi=" + "a-b" * 14 + ".sig", "izin_sesi=12~x.sig", "izin_sesi=x"):
        assert sessions.claimed_nip([other]) == ""
    assert sessions.looks_like_nip(operator.nip) and not sessions.looks_like_nip("١" * 18)


def test_a_deployed_function_refuses_a_roster_that_carries_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv("BUCKET_NAME", "b")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://izin.example")
    monkeypatch.setenv("MAIL_FROM", "izin@example.go.id")
    monkeypatch.delenv("IZIN_LOCAL_ROSTER_SECRETS", raising=False)
    monkeypatch.setattr(wiring, "store", MemoryStore)  # the table holds no roster: the file's
    settings_module.settings.cache_clear()
    try:
        with pytest.raises(RosterError, match="totp_secret"):
            wiring.roster()
        monkeypatch.setenv("IZIN_LOCAL_ROSTER_SECRETS", "true")
        settings_module.settings.cache_clear()
        assert wiring.roster().carries_secrets()
    finally:
        settings_module.settings.cache_clear()


def test_the_template_never_allows_a_roster_with_secrets() -> None:
    assert "IZIN_LOCAL_ROSTER_SECRETS" not in (ROOT / "template.yaml").read_text()


def test_a_roster_secret_that_is_not_base32_is_refused() -> None:
    officer = json.loads(ROSTER_FILE.read_text())["officers"][0]
    with pytest.raises(ValueError, match="base32"):
        Officer.model_validate({**officer, "totp_secret": "not base32!"})


def test_enrollment_mails_a_link_shows_the_qr_once_and_takes_one_code() -> None:
    store, mailer, now = MemoryStore(), MemoryMailer(), datetime(2026, 12, 1, 2, tzinfo=UTC)
    checker = local_auth(store, ROSTER, now)
    officer = ROSTER.first(Role.OPERATOR)
    old_code = code(officer, now)
    enrollment.start_enrollment(
        store, checker.cipher, mailer, officer, public_base_url="https://izin.example", now=now
    )
    (email,) = mailer.sent
    ticket = re.search(r"/daftar-kode/([A-Za-z0-9_-]+)", email.text).group(1)  # type: ignore[union-attr]
    shown = enrollment.show_enrollment(Request(ticket), checker)
    assert shown.status == 200 and 'src="data:image/svg+xml;base64,' in shown.html
    secret = re.search(r'<code id="kunci"[^>]*>([A-Z2-7 ]+)</code>', shown.html).group(1)  # type: ignore[union-attr]
    secret = secret.replace(" ", "")
    assert secret not in email.text and secret not in email.html
    assert secret not in json.dumps(list(store.items.values()), default=str)  # kept sealed only
    token = str(store.ticket(ticket_hash(ticket))["csrf"])  # type: ignore[index]
    wrong = enrollment.confirm_enrollment(
        Request(ticket, form={"csrf": [token], "kode": ["000000"]}), checker
    )
    assert wrong.status == 403
    right = auth.code_for(secret, now)
    done = enrollment.confirm_enrollment(
        Request(ticket, form={"csrf": [token], "kode": [right]}), checker
    )
    assert done.status == 200 and 'id="aktif"' in done.html
    assert enrollment.show_enrollment(Request(ticket), checker).status == 410
    later = now + timedelta(seconds=60)
    checker.now = later
    assert sessions.sign_in_with_code(checker, officer, auth.code_for(secret, later))
    checker.now = later + timedelta(seconds=60)
    assert sessions.sign_in_with_code(checker, officer, old_code) is None


def test_an_enrollment_link_is_no_task_link(task_door: Any) -> None:
    officer = task_door.roster.first(Role.OPERATOR)
    mailer = MemoryMailer()
    enrollment.start_enrollment(
        task_door.store,
        task_door.auth.cipher,
        mailer,
        officer,
        public_base_url="https://izin.example",
        now=task_door.auth.now,
    )
    ticket = mailer.sent[0].text.split("/daftar-kode/", 1)[1].split()[0]
    assert task_door.get(ticket)["statusCode"] == 404


def _sign_in_form(checker: auth.Auth) -> tuple[str, list[str]]:
    page = signin.sign_in_page(Request(""), checker)
    assert page.status == 200 and 'name="kode"' in page.html
    token = re.search(r'name="csrf" value="([^"]+)"', page.html).group(1)  # type: ignore[union-attr]
    return token, [c.split(";", 1)[0] for c in page.cookies]


def test_signing_in_out_and_the_pages_behind_it() -> None:
    store, now = MemoryStore(), datetime(2026, 12, 1, 2, tzinfo=UTC)
    checker = local_auth(store, ROSTER, now)
    officer = ROSTER.first(Role.KASI)
    for path in ("/meja", "/permohonan/IP-0001", "/konsol", "/keluar"):
        away = signin.behind_sign_in(Request(""), checker, method="GET", path=path)
        assert (away.status, away.headers["location"]) == (303, "/masuk")
        assert signin.behind_sign_in(Request(""), checker, method="POST", path=path).status == 401
    assert signin.sign_out(Request(""), checker).status == 401
    token, cookies = _sign_in_form(checker)
    form = {"csrf": [token], "nip": [officer.nip], "kode": [code(officer, now)]}
    answer = signin.sign_in(Request("", form=form, cookies=tuple(cookies)), checker, same_site=True)
    assert (answer.status, answer.headers["location"]) == (303, "/meja")
    session = [c.split(";", 1)[0] for c in answer.cookies]
    meja = workspace.meja_page(Request("", cookies=tuple(session)), checker, method="GET")
    assert meja.status == 200 and officer.nama in meja.html
    signing_out = meja.html.split('action="/keluar"', 1)[1]  # the page has other forms
    keluar = re.search(r'name="csrf" value="([^"]+)"', signing_out).group(1)  # type: ignore[union-attr]
    forged = signin.sign_out(Request("", form={"csrf": ["x"]}, cookies=tuple(session)), checker)
    assert forged.status == 403
    out = signin.sign_out(Request("", form={"csrf": [keluar]}, cookies=tuple(session)), checker)
    assert out.status == 303 and "Max-Age=0" in out.cookies[0]
    assert sessions.signed_in(session, checker) is None


def test_a_sign_in_without_its_form_token_or_with_wrong_codes_is_refused_then_held() -> None:
    store, now = MemoryStore(), datetime(2026, 12, 1, 2, tzinfo=UTC)
    checker = local_auth(store, ROSTER, now)
    officer = ROSTER.first(Role.OPERATOR)
    right = code(officer, now)
    form = {"nip": [officer.nip], "kode": [right]}
    assert signin.sign_in(Request("", form=form), checker, same_site=True).status == 403
    token, cookies = _sign_in_form(checker)
    wrong = next(c for c in ("000000", "111111") if c != right)
    bad = {"csrf": [token], "nip": [officer.nip], "kode": [wrong]}
    for _ in range(signin.MAX_WRONG_SIGNINS):
        page = signin.sign_in(
            Request("", form=bad, cookies=tuple(cookies)), checker, same_site=True
        )
        assert page.status == 403
    good = {**bad, "kode": [right]}
    held = signin.sign_in(Request("", form=good, cookies=tuple(cookies)), checker, same_site=True)
    assert held.status == 403 and "Terlalu banyak percobaan" in held.html
    assert not held.cookies or all(not c.startswith("izin_sesi=") for c in held.cookies)


def test_the_fake_cipher_binds_the_context() -> None:
    sealed = auth.seal(FakeCipher(), "1" * 18, "JBSWY3DPEHPK3PXP")
    with pytest.raises(ValueError, match="context"):
        auth.unseal(FakeCipher(), "2" * 18, sealed)


def test_no_secret_code_or_cookie_in_any_log_line_or_email(
    task_door: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from izin.observability import logger

    level = logger.log_level
    logger.setLevel("DEBUG")  # everything the functions could log, logged
    caplog.set_level("DEBUG")
    try:
        first, officer = task_door.ticket(6)
        kode = code(officer, task_door.auth.now)
        body = {"nip": officer.nip, "kode": kode, "csrf": csrf(task_door, first)}
        answer = task_door.post(first, urlencode({**body, "decision": "done"}))
        assert answer["statusCode"] == 200
        task_door.cookies = set_cookies(answer)
        second, _ = task_door.ticket(6)
        body = {"csrf": csrf(task_door, second), "decision": "done"}
        assert task_door.post(second, urlencode(body))["statusCode"] == 200
        enrollment.start_enrollment(
            task_door.store,
            task_door.auth.cipher,
            task_door.recorder,
            officer,
            public_base_url="https://izin.example",
            now=task_door.auth.now,
        )
    finally:
        logger.setLevel(level)
    pending = next(
        i["pending_secret"] for i in task_door.store.items.values() if i.get("pending_secret")
    )
    new_secret = auth.unseal(task_door.auth.cipher, officer.nip, pending)
    cookie = task_door.cookies[0].removeprefix("izin_sesi=")
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "task page" in logs and "enrollment link sent" in logs  # the logs were captured
    emails = "".join(f"{e.subject}{e.text}{e.html}" for e in task_door.recorder.sent)
    assert "/daftar-kode/" in emails
    for secret in (officer.totp_secret, new_secret, kode, cookie, cookie.split(".")[0]):
        assert secret not in logs and secret not in emails
