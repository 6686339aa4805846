"""What the emails say and how: a text part read as text, an HTML part escaped, and no
stack trace or server path in any of them (the TERHENTI email above all)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from izin import progress, tasks
from izin.mail import Email, MemoryMailer
from izin.memory_store import MemoryStore
from izin.models import StepRequest
from izin.roster import Role, load_roster
from izin_local import samples
from izin_local.testing import ROSTER as ROSTER_FILE

ID = "IP-MAIL-0001"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
ROSTER = load_roster(ROSTER_FILE)
NAMA = 'PT "Maju" & Jaya\'s <Sejahtera>'


def seeded(nama: str = NAMA, current_step: int = 10) -> MemoryStore:
    """An application at `current_step`, started by the inbound function."""
    store = MemoryStore.seeded(
        {
            "id_izin": ID,
            "status": "PROSES",
            "current_step": current_step,
            "created_at": NOW.isoformat(),
            "data": samples.permohonan(ID, nama=nama),
        },
        {},
    )
    store.append_audit(
        ID, {"action": "execution.started", "actor": "sistem", "execution": ID}, now=NOW
    )
    return store


# -- text parts are text, HTML parts are escaped --------------------------------------------


def test_a_task_email_says_the_company_name_verbatim_in_text_and_escaped_in_html() -> None:
    mailer = MemoryMailer()
    request = StepRequest(
        id_izin=ID,
        step=4,
        task_token="token-1",
        execution=f"arn:aws:states:ap-southeast-3:123456789012:execution:izin-izin-perluasan:{ID}",
        timeout_seconds=3600,
        deadline=NOW + timedelta(days=1),
    )
    tasks.issue_task(
        request,
        store=seeded(current_step=3),
        mailer=mailer,
        roster=ROSTER,
        public_base_url="https://izin.example",
        now=NOW,
    )
    (email,) = mailer.sent
    assert NAMA in email.text
    assert "&amp;" not in email.text and "&#39;" not in email.text and "&#34;" not in email.text
    assert "PT &#34;Maju&#34; &amp; Jaya&#39;s &lt;Sejahtera&gt;" in email.html
    assert NAMA not in email.html


def park(store: MemoryStore, failure: dict[str, str]) -> Email:
    """Park the application with this Catch output: the one email it sends."""
    mailer = MemoryMailer()
    answer = progress.park(
        store, ROSTER, mailer, ID, failure, now=NOW, public_base_url="https://izin.example"
    )
    assert answer["status"] == "TERHENTI"
    (email,) = mailer.sent
    return email


def test_the_terhenti_email_says_the_company_name_verbatim_in_text_and_escaped_in_html() -> None:
    email = park(seeded(), {"Error": "ValueError", "Cause": "x"})
    assert NAMA in email.text and "&amp;" not in email.text
    assert "PT &#34;Maju&#34; &amp; Jaya&#39;s &lt;Sejahtera&gt;" in email.html


# -- the TERHENTI email: what stopped and how to resume, never the trace -------------------

TRACE = [
    '  File "/var/task/app.py", line 30, in lambda_handler\n    return handle(request)\n',
    '  File "/opt/python/izin/documents/pdf.py", line 312, in render_pdf\n'
    "    pdf.write_html(markup)\n",
    '  File "/opt/python/fpdf/table.py", line 290, in render\n    raise ValueError(\n',
]
LAMBDA_CAUSE = json.dumps(
    {
        "errorMessage": "The row with index 1 is too high and cannot be rendered on a single"
        " page (/opt/python/fpdf/table.py)\nsecond line of the message",
        "errorType": "ValueError",
        "requestId": "5b1c4a52-7d0e-4f3b-9d55-3d1a2e0f9c11",
        "stackTrace": TRACE,
    }
)


@pytest.fixture
def parked(caplog: pytest.LogCaptureFixture) -> tuple[MemoryStore, Email, list[Any]]:
    store = seeded()
    store.append_audit(
        ID,
        {"action": "application.resumed", "actor": "admin", "execution": f"{ID}-lanjut-1"},
        now=NOW,
    )
    email = park(store, {"Error": "ValueError", "Cause": LAMBDA_CAUSE})
    return store, email, list(caplog.records)


def test_the_terhenti_email_says_the_step_the_error_the_reason_and_how_to_resume(
    parked: tuple[MemoryStore, Email, list[Any]],
) -> None:
    _, email, _ = parked
    assert email.to == (ROSTER.first(Role.OPERATOR).email,)
    assert email.subject == f"[Izin Perluasan] TERHENTI: {ID} - ValueError"
    reason = "The row with index 1 is too high and cannot be rendered on a single page (table.py)"
    for body in (email.text, email.html):
        assert "sesudah langkah 10 (" in body  # the step it stopped after
        assert "ValueError" in body
        assert reason in body
        assert f"{ID}-lanjut-1" in body  # the latest execution, to find its log by
        assert f"izin resume {ID} --by" in body


def test_the_terhenti_email_and_record_hold_no_stack_trace_and_no_server_path(
    parked: tuple[MemoryStore, Email, list[Any]],
) -> None:
    store, email, _ = parked
    record = store.application(ID)
    assert record is not None
    for said in (email.subject, email.text, email.html, json.dumps(record["reason"])):
        for trace in ("Traceback", "stackTrace", 'File "', "line 290", "/opt/", "/var/task"):
            assert trace not in said, (trace, said)
        assert "second line of the message" not in said  # one line
    assert record["status"] == "TERHENTI"
    assert record["reason"]["error"] == "ValueError"


def test_the_whole_cause_is_in_the_log(parked: tuple[MemoryStore, Email, list[Any]]) -> None:
    _, _, records = parked
    (record,) = [r for r in records if r.getMessage() == "the cause of a parked application"]
    assert record.cause == LAMBDA_CAUSE and record.execution == f"{ID}-lanjut-1"


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        ("", "tanpa keterangan"),
        ("States.Timeout: the task timed out", "States.Timeout: the task timed out"),
        (
            "Traceback (most recent call last):\n"
            '  File "/srv/izin/app.py", line 1, in <module>\nKeyError: x',
            "KeyError: x",
        ),
        (
            json.dumps(
                {"errorMessage": "no file /var/task/izin/data/roster.json at https://x.example/a/b"}
            ),
            "no file roster.json at https://x.example/a/b",
        ),
        (json.dumps({"errorMessage": "line\r\nbreak"}), "line"),
    ],
)
def test_a_reason_is_one_line_without_the_servers_folders(cause: str, reason: str) -> None:
    assert progress.failure_reason(cause) == reason


def test_an_error_name_with_a_line_break_stays_one_line_in_the_subject() -> None:
    email = park(seeded(), {"Error": "Bad\r\nBcc: x@example.com", "Cause": ""})
    assert email.subject == f"[Izin Perluasan] TERHENTI: {ID} - Bad Bcc: x@example.com"
    assert "\n" not in email.subject and "\r" not in email.subject


# -- the From and the outcome -------------------------------------------------------------


def test_every_email_comes_from_the_dinas_by_name() -> None:
    from email.header import decode_header, make_header
    from email.utils import parseaddr

    from izin.mail import sender

    plain = sender("Disperindag Kalbar - Izin Perluasan", "izin@disperindag.kalbar.example")
    assert plain == "Disperindag Kalbar - Izin Perluasan <izin@disperindag.kalbar.example>"
    # A name beyond ASCII is encoded (RFC 2047); a comma is quoted; the address is kept.
    encoded = sender("Dinas Perindustrian – Kalbar, Izin", "izin@x.example")
    assert encoded.isascii() and encoded.endswith(" <izin@x.example>")
    name, address = parseaddr(encoded)
    assert str(make_header(decode_header(name))) == "Dinas Perindustrian – Kalbar, Izin"
    assert address == "izin@x.example"
    assert sender("A, B", "x@y.example") == '"A, B" <x@y.example>'
    with pytest.raises(ValueError, match="not an email address"):
        sender("Disperindag", "bukan-alamat")


def acted(store: MemoryStore, action: str, nip: str, step: int) -> None:
    store.append_audit(ID, {"action": action, "step": step, "actor": "x", "nip": nip}, now=NOW)


@pytest.mark.parametrize("status", ["efektif", "belum_efektif"])
def test_the_outcome_reaches_everyone_who_acted_once(status: str) -> None:
    store, mailer = seeded(), MemoryMailer()
    operator, kasi, kadis = (ROSTER.first(r) for r in (Role.OPERATOR, Role.KASI, Role.KEPALA_DINAS))
    acted(store, "task.decided", operator.nip, 4)
    acted(store, "task.issued", kadis.nip, 14)  # asked, never acted: not told
    acted(store, "task.reassigned", kasi.nip, 8)
    acted(store, "task.decided", kasi.nip, 12)
    acted(store, "task.decided", "199999999999999999", 8)  # no longer in the roster
    acted(store, "bap.uploaded", operator.nip, 17)
    progress.record_step(store, ROSTER, ID, 20, now=NOW, status=status)

    to = progress.notify_outcome(store, ROSTER, mailer, ID, now=NOW)

    assert to == [str(operator.email), str(kasi.email)]
    assert [m.to for m in mailer.sent] == [(str(operator.email),), (str(kasi.email),)]
    first = mailer.sent[0]
    assert first.text.startswith(f"Yth. {operator.nama}")
    said = "BERLAKU EFEKTIF" if status == "efektif" else "BELUM BERLAKU EFEKTIF"
    assert said in first.text and said in first.html
    assert NAMA in first.text and "&amp; Jaya" in first.html  # text verbatim, HTML escaped
    assert progress.notify_outcome(store, ROSTER, mailer, ID, now=NOW) == []  # a retry
    assert len(mailer.sent) == 2
    assert [e["action"] for e in store.audit(ID)].count("outcome.notified") == 1


def test_no_outcome_no_email() -> None:
    with pytest.raises(ValueError, match="no outcome"):
        progress.notify_outcome(seeded(), ROSTER, MemoryMailer(), ID, now=NOW)
