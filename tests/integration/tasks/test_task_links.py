"""Officers' task links (CONTRACT §3): every answer, the race, the lock, the trail, no token leaks.

Each test opens an application of its own and works on the Operator's step-4 link, as the
Operator's browser would: GET the page, POST its form.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import boto3
import pytest
from izin.roster import Role
from izin.tickets import ticket_hash
from izin_local.officer import (
    TaskForm,
    http_get,
    http_post_form,
    http_request,
    is_task_email,
    parse_task_page,
)
from izin_local.scenario import submit, wait_for_step
from izin_local.testing import System

_ids = itertools.count(1)


def new_application(system: System) -> tuple[str, str]:
    """A fresh application waiting at step 4; returns its id and the Operator's link."""
    id_izin = f"IP-LINK-{next(_ids):03d}"
    submit(system.endpoints, id_izin)
    email = system.runtime.outbox.wait_for(lambda m: is_task_email(m, id_izin, 4), timeout=30)
    return id_izin, next(link for link in email.links if "/tasks/" in link)


def form_of(link: str) -> TaskForm:
    status, html = http_get(link)
    form = parse_task_page(html)
    assert status == 200 and form is not None
    return form


def filled(form: TaskForm, **changes: str) -> dict[str, Sequence[str]]:
    fields: dict[str, Sequence[str]] = dict(form.fields)
    fields.update({k: [v] for k, v in changes.items()})
    return fields


def operator_nip(system: System) -> str:
    return system.endpoints.roster.first(Role.OPERATOR).nip


def ticket_of(system: System, link: str) -> dict[str, Any]:
    item = system.endpoints.store.ticket(ticket_hash(link.rsplit("/", 1)[-1]))
    assert item is not None
    return item


def state_names(system: System, id_izin: str) -> list[str]:
    return system.states(id_izin)


def test_unknown_ticket_is_404(system: System) -> None:
    status, html = http_get(f"{system.runtime.http_url}/tasks/not-a-ticket")
    assert status == 404 and "Tautan tidak dikenal" in html
    status, _ = system.post_form(f"{system.runtime.http_url}/tasks/not-a-ticket", {"nip": ["1"]})
    assert status == 404


def test_five_gets_change_nothing(system: System) -> None:
    id_izin, link = new_application(system)
    before = (ticket_of(system, link), state_names(system, id_izin))
    for _ in range(5):
        status, html = http_get(link)
        assert status == 200 and 'data-sop-step="4"' in html
    assert (ticket_of(system, link), state_names(system, id_izin)) == before
    views = [e for e in system.endpoints.store.audit(id_izin) if e["action"] == "task.viewed"]
    assert len(views) == 5  # seen, and only seen
    assert not [e for e in system.endpoints.store.audit(id_izin) if e["action"] == "task.decided"]


def test_the_page_has_the_contract_form(system: System) -> None:
    _, link = new_application(system)
    status, html = http_get(link)
    form = parse_task_page(html)
    assert status == 200 and form is not None
    assert form.step == 4 and form.buttons == ["done"]
    assert "nip" in form.fields and "PT Sawit Kapuas Lestari" in html
    assert 'name="nip"' in html and "required" in html
    assert "kode" in form.fields and 'autocomplete="one-time-code"' in html


def test_nip_alone_is_403_and_nip_with_the_code_decides_once_and_starts_a_session(
    system: System,
) -> None:
    nip = operator_nip(system)
    id_izin, link = new_application(system)
    form = form_of(link)
    status, html = http_post_form(link, filled(form, nip=nip, decision="done"))
    assert status == 403 and "NIP saja tidak cukup" in html
    assert (
        ticket_of(system, link)["status"] == "open" and ticket_of(system, link)["wrong_nips"] == 0
    )
    code = system.browsers.codes.next(nip)
    answer = http_request(link, filled(form, nip=nip, kode=code, decision="done"))
    assert answer.status == 200 and "keputusan tersimpan" in answer.text
    assert [c for c in answer.cookies if c.startswith("izin_sesi=")]
    decided = [e for e in system.endpoints.store.audit(id_izin) if e["action"] == "task.decided"]
    assert [e["via"] for e in decided] == ["totp"]
    # The same code again, on another task of the same officer: used, so refused and counted.
    _, other = new_application(system)
    status, html = http_post_form(
        other, filled(form_of(other), nip=nip, kode=code, decision="done")
    )
    assert status == 403 and "sudah dipakai" in html
    assert ticket_of(system, other)["wrong_nips"] == 1
    # The session the pair started decides the other task with no NIP or code at all.
    session = [c for c in answer.cookies if c.startswith("izin_sesi=")]
    page = http_request(other, cookies=session)
    assert page.status == 200 and 'name="kode"' not in page.text and "masuk sebagai" in page.text
    fields = filled(form_of(other), decision="done")
    fields.pop("nip", None)
    answer = http_request(other, fields, cookies=session)
    assert answer.status == 200 and ticket_of(system, other)["status"] == "decided"


def test_a_decision_is_taken_once_then_409_says_by_whom(system: System) -> None:
    id_izin, link = new_application(system)
    form = form_of(link)
    status, html = system.post_form(link, filled(form, nip=operator_nip(system), decision="done"))
    assert status == 200 and "keputusan tersimpan" in html
    status, html = system.post_form(link, filled(form, nip=operator_nip(system), decision="done"))
    assert status == 409
    assert "Rina Marlina" in html and "pukul" in html
    wait_for_step(system.endpoints, id_izin, 5)


def test_two_simultaneous_posts_make_one_decision(system: System) -> None:
    id_izin, link = new_application(system)
    form = filled(form_of(link), nip=operator_nip(system), decision="done")
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def submit() -> None:
        barrier.wait()
        answers.append(system.post_form(link, form)[0])

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [200, 409]
    wait_for_step(system.endpoints, id_izin, 5)
    trail = system.endpoints.store.audit(id_izin)
    assert len([e for e in trail if e["action"] == "task.decided"]) == 1
    succeeded = [
        e
        for e in system.history(id_izin)
        if e["type"] == "TaskSucceeded"
        and "waitForTaskToken" in e["taskSucceededEventDetails"]["resource"]
    ]
    assert len(succeeded) == 2  # step 2's event, then step 4's one decision


def test_a_wrong_nip_is_403_with_the_form_and_the_values_kept(system: System) -> None:
    _, link = new_application(system)
    form = form_of(link)
    status, html = system.post_form(
        link, filled(form, nip="199001012020011001", catatan="Berkas diperiksa", decision="done")
    )
    assert status == 403
    assert "NIP tidak sesuai" in html
    assert "Berkas diperiksa" in html  # what was typed is still there
    assert parse_task_page(html) is not None


def test_five_wrong_nips_lock_the_ticket_and_the_kasi_can_reassign(
    system: System, second_operator: dict[str, str]
) -> None:
    id_izin, link = new_application(system)
    form = form_of(link)
    for _ in range(5):
        status, _ = system.post_form(link, filled(form, nip="199001012020011001", decision="done"))
        assert status == 403
    assert ticket_of(system, link)["status"] == "locked"
    status, html = system.post_form(link, filled(form, nip=operator_nip(system), decision="done"))
    assert status == 403 and "dikunci" in html

    kasi = system.endpoints.roster.first(Role.KASI)
    alert = system.runtime.outbox.wait_for(
        lambda m: "dikunci" in m.subject and id_izin in m.subject, timeout=10
    )
    assert alert.to == (kasi.email,)
    reassign = next(link for link in alert.links if "/tasks/" in link)
    reassign_form = form_of(reassign)
    assert reassign_form.fields["petugas"] == [second_operator["nip"]]
    status, html = system.post_form(reassign, filled(reassign_form, nip=kasi.nip, decision="done"))
    assert status == 200 and "Dedi Kurniawan" in html

    moved = system.runtime.outbox.wait_for(
        lambda m: is_task_email(m, id_izin, 4) and m.to == (second_operator["email"],), timeout=10
    )
    new_link = next(link for link in moved.links if "/tasks/" in link)
    assert http_get(link)[0] == 410  # the locked link is superseded
    status, _ = system.post_form(
        new_link, filled(form_of(new_link), nip=second_operator["nip"], decision="done")
    )
    assert status == 200
    wait_for_step(system.endpoints, id_izin, 5)
    actions = [e["action"] for e in system.endpoints.store.audit(id_izin)]
    assert "task.locked" in actions and "task.reassigned" in actions


def test_invalid_fields_are_422_with_the_error_by_the_field(system: System) -> None:
    _, link = new_application(system)
    form = form_of(link)
    status, html = system.post_form(
        link, filled(form, nip=operator_nip(system), kelengkapan="x", decision="done")
    )
    assert status == 422
    assert 'id="e-kelengkapan"' in html
    status, html = system.post_form(link, filled(form, nip=operator_nip(system), decision="maybe"))
    assert status == 422 and "Pilih salah satu tombol" in html


def test_a_superseded_link_is_410(system: System, second_operator: dict[str, str]) -> None:
    id_izin, link = new_application(system)
    form = form_of(link)
    kasi = system.endpoints.roster.first(Role.KASI)
    # The Kasi moves the task (as after a reminder): the Operator's old link stops working.
    from izin import wiring
    from izin.tasks import reassign_task

    reassign_task(
        ticket_hash(link.rsplit("/", 1)[-1]),
        second_operator["nip"],
        store=system.endpoints.store,
        mailer=wiring.mailer(),
        roster=system.endpoints.roster,
        public_base_url=system.runtime.http_url,
        now=wiring.now(),
        by=kasi.model_dump(),
    )
    status, html = system.post_form(link, filled(form, nip=operator_nip(system), decision="done"))
    assert status == 410 and "tidak berlaku lagi" in html
    assert http_get(link)[0] == 410
    assert id_izin


def test_a_decision_the_state_no_longer_waits_for_is_410_and_the_ticket_reconciled(
    system: System,
) -> None:
    """Step Functions refuses the token (TaskTimedOut in AWS): the page says so, the ticket expires.

    moto neither stops a waiting execution at once nor times a token out on its own, so the
    refusal comes from a Callbacks that answers as AWS does.
    """
    from izin import wiring
    from izin.callbacks import TaskGone
    from izin.tasks import Request, TaskContext, decide_task

    class TimedOut:
        def succeed(self, token: str, output: dict[str, Any]) -> None:
            raise TaskGone("TaskTimedOut")

        def succeeded(self, execution: str, token: str) -> bool:
            return False

    id_izin, link = new_application(system)
    form = filled(form_of(link), nip=operator_nip(system), decision="done")
    ctx = TaskContext(
        store=system.endpoints.store,
        roster=system.endpoints.roster,
        callbacks=TimedOut(),
        mailer=wiring.mailer(),
        now=wiring.now(),
        auth=wiring.auth(wiring.now()),
        public_base_url=system.runtime.http_url,
    )
    session = system.browsers.cookie(operator_nip(system))
    request = Request(ticket=link.rsplit("/", 1)[-1], form=form, cookies=(session,))
    page = decide_task(request, ctx)
    assert page.status == 410 and "tidak dapat ditindaklanjuti" in page.html
    assert ticket_of(system, link)["status"] == "expired"
    assert http_get(link)[0] == 410
    trail = system.endpoints.store.audit(id_izin)
    assert [e["action"] for e in trail].count("task.too_late") == 1
    assert not [e for e in trail if e["action"] == "task.decided"]


def test_a_post_from_another_site_or_with_a_wrong_page_token_is_refused(system: System) -> None:
    import urllib.parse
    import urllib.request

    _, link = new_application(system)
    form = filled(form_of(link), nip=operator_nip(system), decision="done")
    status, html = system.post_form(link, {**form, "csrf": ["forged"]})
    assert status == 403 and "muat ulang" in html
    request = urllib.request.Request(
        link,
        data=urllib.parse.urlencode(form, doseq=True).encode(),
        method="POST",
        headers={
            "Origin": "https://evil.example",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    try:
        urllib.request.urlopen(request)
        raise AssertionError("a cross-site POST was accepted")
    except urllib.error.HTTPError as error:
        assert error.code == 403
    assert ticket_of(system, link)["status"] == "open"
    status, _ = system.post_form(link, form)
    assert status == 200


def test_the_trail_records_who_what_when_where(system: System) -> None:
    id_izin, link = new_application(system)
    form = form_of(link)
    system.post_form(
        link, filled(form, nip=operator_nip(system), catatan="Lengkap", decision="done")
    )
    trail = system.endpoints.store.audit(id_izin)
    issued = next(e for e in trail if e["action"] == "task.issued" and e["step"] == 4)
    viewed = next(e for e in trail if e["action"] == "task.viewed")
    decided = next(e for e in trail if e["action"] == "task.decided")
    assert issued["nip"] == operator_nip(system) and issued["deadline"]
    assert viewed["ip"] == "127.0.0.1" and viewed["user_agent"]
    assert decided["nip"] == operator_nip(system)
    assert decided["ip"] == "127.0.0.1" and decided["user_agent"] == "izin-demo"
    assert decided["data"]["catatan"] == "Lengkap" and decided["data"]["kelengkapan"] == "lengkap"
    assert decided["at"]


def test_no_task_token_secret_or_cookie_in_any_email_page_or_log_line(
    system: System, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    id_izin, link = new_application(system)
    pages = [http_get(link)[1]]
    form = form_of(link)
    pages.append(system.post_form(link, filled(form, nip="199001012020011001", decision="done"))[1])
    pages.append(system.post_form(link, filled(form, nip=operator_nip(system), decision="done"))[1])
    wait_for_step(system.endpoints, id_izin, 5)

    tokens = [t["task_token"] for t in _tickets(system) if t.get("task_token")]
    assert tokens
    emails = [m.path.read_text(errors="replace") for m in system.runtime.outbox.messages()]
    logs = caplog.text + "".join(capfd.readouterr())
    for token in tokens:
        assert not any(token in page for page in pages)
        assert not any(token in email for email in emails)
        assert token not in logs
    # Nor an officer's secret, or the session cookie their sign-in started (CONTRACT §3).
    cookie = system.browsers.cookie(operator_nip(system)).removeprefix("izin_sesi=")
    secrets = [o.totp_secret for o in system.endpoints.roster.officers] + [cookie]
    for secret in secrets:
        assert not any(secret in text for text in [*pages, *emails, logs])


def _tickets(system: System) -> list[Mapping[str, Any]]:
    table = system.runtime.table_names["IzinTable"]
    items = boto3.resource("dynamodb").Table(table).scan()["Items"]
    return [i for i in items if str(i["SK"]).startswith("TICKET")]
