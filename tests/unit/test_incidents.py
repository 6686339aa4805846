"""The console's incidents (izin.incidents): DLQ messages peeked without being lost and
redriven one at a time, late waits on SIINAS or OSS with their record-by-hand link."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from izin import console, incidents, sessions
from izin.calendar import HolidayCalendar
from izin.incidents import FIRST_SENT, DeadLetterQueue, SqsDeadLetters
from izin.memory_store import MemoryStore
from izin.risk import Risk, assess
from izin.roster import load_roster
from izin.settings import Settings
from izin.sop import Role
from izin.tasks.context import Page, Request
from izin.tickets import Status, open_ticket
from izin_local.config import TEMPLATE
from izin_local.template import Template
from izin_local.testing import ROSTER as ROSTER_FILE
from izin_local.testing import local_auth

ROSTER = load_roster(ROSTER_FILE)
NOW = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)  # Monday 09.00 WIB
CAL = HolidayCalendar.load()
KABID = ROSTER.first(Role.KEPALA_BIDANG)
OPERATOR = ROSTER.first(Role.OPERATOR)
OSS_DLQ = DeadLetterQueue("oss", "Status ke OSS", "dlq://oss", "queue://oss")
SIINAS_DLQ = DeadLetterQueue("siinas", "Unggah BAP", "dlq://siinas", "queue://siinas")
CONFIG = Settings.model_validate(
    {
        "TABLE_NAME": "t",
        "BUCKET_NAME": "b",
        "PUBLIC_BASE_URL": "https://izin.example",
        "MAIL_FROM": "izin@example",
        "IZIN_EVENT_LATE_DAYS": '{"2": 5, "18": 60, "19": 5}',
    }
)


QUEUED = datetime(2026, 12, 24, 3, 0, tzinfo=UTC)
SENT = str(int(QUEUED.timestamp() * 1000))


def risk_at(application: Any) -> Risk:
    return assess(application, now=NOW, calendar=CAL, service_level_days=20, warn_days=3)


@dataclass
class FakeDeadLetters:
    """DLQs as lists; what moved, where."""

    queues: dict[str, list[dict[str, Any]]]
    moved: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def peek(self, url: str) -> list[dict[str, Any]]:
        return list(self.queues.get(url, []))

    def move(self, url: str, to_url: str, message_id: str) -> dict[str, Any] | None:
        found = next((m for m in self.queues.get(url, []) if m["MessageId"] == message_id), None)
        if found is not None:
            self.queues[url].remove(found)
            self.moved.append((to_url, found))
        return found


def message(message_id: str, body: dict[str, Any], receives: int = 8) -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "Body": json.dumps(body),
        "Attributes": {"ApproximateReceiveCount": str(receives), "SentTimestamp": SENT},
    }


def app(store: MemoryStore, id_izin: str, **fields: Any) -> None:
    store.create_application(
        id_izin,
        {
            "id_izin": id_izin,
            "status": "PROSES",
            "current_step": 5,
            "step_name": "x",
            "data": {"perusahaan": {"nama": f"PT {id_izin}"}},
            "created_at": (NOW - timedelta(days=30)).isoformat(),
            **fields,
        },
    )


def test_a_dlq_message_is_described_by_its_application_and_the_last_failure() -> None:
    store = MemoryStore()
    app(store, "IP-OSS-1")
    store.append_audit(
        "IP-OSS-1",
        {"action": "oss.call_failed", "attempt": 8, "reason": "OSS answered 503"},
        now=NOW,
    )
    fake = FakeDeadLetters(
        {
            OSS_DLQ.url: [message("m-1", {"id_izin": "IP-OSS-1", "milestone": "inspeksi"})],
            SIINAS_DLQ.url: [message("m-2", {"id_izin": "IP-S-1", "task_token": "RAHASIA"})],
        }
    )
    [(oss, [shown]), (siinas, [upload])] = incidents.dead_messages(
        fake, [OSS_DLQ, SIINAS_DLQ], store
    )
    assert (oss, siinas) == (OSS_DLQ, SIINAS_DLQ)
    assert (shown.id_izin, shown.message_id, shown.receives) == ("IP-OSS-1", "m-1", 8)
    assert shown.what == "status ke OSS (inspeksi)"
    assert shown.error == "OSS tidak menerima status: percobaan ke-8 gagal, OSS answered 503."
    assert shown.sent_at == QUEUED
    assert upload.id_izin == "IP-S-1" and "RAHASIA" not in repr(upload)  # the token stays hidden


def test_redrive_moves_one_message_to_its_source_and_keeps_who_did_it() -> None:
    store = MemoryStore()
    app(store, "IP-OSS-1")
    fake = FakeDeadLetters(
        {OSS_DLQ.url: [message("m-1", {"id_izin": "IP-OSS-1", "milestone": "inspeksi"})]}
    )
    by = {"nama": KABID.nama, "nip": KABID.nip}
    moved = incidents.redrive(fake, OSS_DLQ, "m-1", store=store, by=by, now=NOW)
    assert moved.id_izin == "IP-OSS-1"
    assert [(to, m["MessageId"]) for to, m in fake.moved] == [("queue://oss", "m-1")]
    [entry] = [e for e in store.audit("IP-OSS-1") if e["action"] == "dlq.redriven"]
    assert (entry["nip"], entry["queue"], entry["message_id"]) == (KABID.nip, "oss", "m-1")
    with pytest.raises(incidents.NotInQueue):
        incidents.redrive(fake, OSS_DLQ, "m-1", store=store, by=by, now=NOW)


@pytest.fixture
def sqs() -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("sqs", region_name="ap-southeast-3")


def test_peeking_at_a_real_queue_loses_nothing_and_redrive_moves_only_that_message(
    sqs: Any,
) -> None:
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    source = sqs.create_queue(QueueName="source")["QueueUrl"]
    for n in range(23):  # more than one receive's ten
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"id_izin": f"IP-{n}"}))
    dead = SqsDeadLetters(sqs)
    first = dead.peek(dlq)
    again = dead.peek(dlq)  # handed back at once: all of them visible again
    assert len(first) == 23 and {m["MessageId"] for m in again} == {m["MessageId"] for m in first}

    target = first[17]
    moved = dead.move(dlq, source, target["MessageId"])
    assert moved is not None and moved["Body"] == target["Body"]
    left = dead.peek(dlq)
    assert len(left) == 22 and target["MessageId"] not in {m["MessageId"] for m in left}
    [arrived] = sqs.receive_message(
        QueueUrl=source, MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    assert arrived["Body"] == target["Body"]
    # The moment first queued goes along (the OSS status keeps its time).
    first_sent = arrived["MessageAttributes"][FIRST_SENT]["StringValue"]
    assert first_sent == target["Attributes"]["SentTimestamp"]
    assert dead.move(dlq, source, target["MessageId"]) is None  # gone: nothing sent twice
    assert "Messages" not in sqs.receive_message(QueueUrl=source, WaitTimeSeconds=0)


@dataclass
class Console:
    """The Kepala Bidang signed in to /konsol, wired to these incidents."""

    store: MemoryStore
    door: console.Incidents

    def __post_init__(self) -> None:
        self.auth = local_auth(self.store, ROSTER, NOW)
        _, cookie = sessions.start_session(self.auth, KABID)
        self.cookies = (cookie.split(";", 1)[0],)

    def __call__(self, method: str, form: dict[str, list[str]]) -> Page:
        request = Request("", form=form, cookies=self.cookies)
        return console.console_page(
            request, self.auth, method=method, assess=risk_at, doors=self.door, same_site=True
        )


def doors(
    store: MemoryStore, fake: FakeDeadLetters, issued: list[tuple[str, str]]
) -> console.Incidents:
    def issue(id_izin: str, event_key: str) -> str:
        issued.append((id_izin, event_key))
        _, digest = open_ticket(
            store,
            {"id_izin": id_izin, "assignee": OPERATOR.model_dump(mode="json"), "kind": "catat"},
        )
        return digest

    return console.Incidents(fake, [OSS_DLQ, SIINAS_DLQ], issue, CAL, CONFIG)


def hidden_form(page: Page, aksi: str, target: str) -> dict[str, list[str]]:
    found = re.search(
        rf'name="aksi" value="{aksi}">\s*'
        rf'<input type="hidden" name="id" value="{re.escape(target)}">\s*'
        r'<input type="hidden" name="csrf" value="([^"]+)"',
        page.html,
    )
    assert found is not None, page.html
    return {"aksi": [aksi], "id": [target], "csrf": [found.group(1)]}


def test_the_console_lists_dlq_messages_and_redrives_one_with_a_valid_form() -> None:
    store = MemoryStore()
    app(store, "IP-OSS-1")
    fake = FakeDeadLetters(
        {OSS_DLQ.url: [message("m-1", {"id_izin": "IP-OSS-1", "milestone": "inspeksi"})]}
    )
    call = Console(store, doors(store, fake, []))
    page = call("GET", {})
    assert re.findall(r'data-queue="oss" data-id="([^"]+)"', page.html) == ["IP-OSS-1"]
    form = hidden_form(page, "redrive", "oss:m-1")
    refused = call("POST", {**form, "csrf": ["palsu"]})
    assert refused.status == 403 and fake.moved == []
    done = call("POST", form)
    assert (done.status, done.headers["location"]) == (303, "/konsol?dikirim_ulang=IP-OSS-1")
    assert [m["MessageId"] for _, m in fake.moved] == ["m-1"]
    again = call("POST", form)
    assert again.status == 409 and "tidak ada lagi di DLQ" in again.html
    shown = call("GET", {})
    assert 'data-queue="oss"' not in shown.html


def waiting_app(store: MemoryStore, id_izin: str, since: datetime, *, ticket: str = "") -> None:
    app(store, id_izin, status="MENUNGGU_OSS", current_step=19)
    key = incidents.event_key_of(19)
    store.put_wait(
        id_izin,
        key,
        {
            "token": "tok",
            "step": 19,
            "since": since.isoformat(),
            **({"manual_ticket": ticket} if ticket else {}),
        },
    )


def test_a_wait_past_its_threshold_is_listed_with_where_its_link_went_and_re_sent() -> None:
    store = MemoryStore()
    _, old = open_ticket(
        store,
        {
            "id_izin": "IP-LAMA",
            "assignee": OPERATOR.model_dump(mode="json"),
            "created_at": (NOW - timedelta(days=1)).isoformat(),
        },
    )
    # Monday 09.00: ten working days earlier is late (5 allowed at step 19), two is not.
    waiting_app(store, "IP-LAMA", NOW - timedelta(days=14), ticket=old)
    waiting_app(store, "IP-BARU", NOW - timedelta(days=2))
    issued: list[tuple[str, str]] = []
    call = Console(store, doors(store, FakeDeadLetters({}), issued))
    page = call("GET", {})
    assert re.findall(r'class="note incident late-wait" data-id="([^"]+)"', page.html) == [
        "IP-LAMA"
    ]
    assert f"{OPERATOR.nama} &lt;{OPERATOR.email}&gt;" in page.html
    assert "/tasks/" not in page.html  # the link is the Operator's secret
    form = hidden_form(page, "kirim_ulang", "IP-LAMA")
    done = call("POST", form)
    assert (done.status, done.headers["location"]) == (303, "/konsol?tautan=IP-LAMA")
    assert issued == [("IP-LAMA", "oss:izin.status")]
    wait = store.wait("IP-LAMA", "oss:izin.status") or {}
    assert wait["manual_ticket"] != old
    assert (store.ticket(old) or {})["status"] == Status.SUPERSEDED
    [entry] = [e for e in store.audit("IP-LAMA") if e["action"] == "event.link_resent"]
    assert entry["nip"] == KABID.nip
    store.update_application("IP-LAMA", {"status": "PROSES"})
    store.update_wait("IP-LAMA", "oss:izin.status", {}, remove=("token",))
    gone = call("POST", form)
    assert gone.status == 409 and "tidak lagi menunggu" in gone.html


def test_the_console_reads_late_waits_and_the_dlqs_from_the_template_s_own_settings() -> None:
    resources = Template.load(TEMPLATE).resources
    console_env = resources["WorkspaceFunction"]["Properties"]["Environment"]["Variables"]
    deadline_env = resources["DeadlineFunction"]["Properties"]["Environment"]["Variables"]
    # Late for the console is late for the workflow (the threshold that emails the Operator).
    assert console_env["IZIN_EVENT_LATE_DAYS"] == deadline_env["IZIN_EVENT_LATE_DAYS"]
    refs = {
        name: value["Ref"]
        for name, value in console_env.items()
        if name.endswith(("_QUEUE_URL", "_DLQ_URL"))
    }
    assert refs == {
        "INBOUND_QUEUE_URL": "InboundQueue",
        "INBOUND_DLQ_URL": "InboundDeadLetterQueue",
        "SIINAS_QUEUE_URL": "SiinasQueue",
        "SIINAS_DLQ_URL": "SiinasFallbackDeadLetterQueue",
        "OSS_QUEUE_URL": "OssQueue",
        "OSS_DLQ_URL": "OssDeadLetterQueue",
    }
    # Each DLQ is the last stop of the queue it redrives to.
    redrive = {
        "InboundQueue": "InboundDeadLetterQueue",
        "SiinasQueue": "SiinasDeadLetterQueue",
        "OssQueue": "OssDeadLetterQueue",
    }
    for queue, dlq in redrive.items():
        policy = resources[queue]["Properties"]["RedrivePolicy"]
        assert policy["deadLetterTargetArn"] == {"Fn::GetAtt": [dlq, "Arn"]}
    fallback = resources["SiinasDeadLetterQueue"]["Properties"]["RedrivePolicy"]
    assert fallback["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["SiinasFallbackDeadLetterQueue", "Arn"]
    }
