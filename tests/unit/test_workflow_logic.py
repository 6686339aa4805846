"""The decide-once, supersede, lock and rendezvous logic, on the in-memory store (no AWS).

Each test runs in milliseconds: the officers' tasks (tasks, tickets), the events of OSS and
SIINAS meeting the state that waits for them (events), the automatic steps (progress).
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from izin import events, progress, tasks
from izin.auth import code_for
from izin.callbacks import TaskGone
from izin.events import InboundEvent
from izin.mail import Email
from izin.memory_store import MemoryStore
from izin.models import StepRequest
from izin.roster import Role, load_roster
from izin.tickets import Status, ticket_hash
from izin_local import samples
from izin_local.testing import ROSTER as ROSTER_FILE
from izin_local.testing import local_auth

ID = "IP-UNIT-0001"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
ROSTER = load_roster(ROSTER_FILE)
SECRETS = {o.nip: o.totp_secret for o in ROSTER.officers}
BASE = "https://izin.example"
EXECUTION = f"arn:aws:states:ap-southeast-3:123456789012:execution:izin-izin-perluasan:{ID}"


class FakeCallbacks:
    """The waiting states: what each token was given; a token can be made gone."""

    def __init__(self) -> None:
        self.outputs: list[tuple[str, dict[str, Any]]] = []
        self.gone: set[str] = set()

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        if token in self.gone:
            raise TaskGone("TaskTimedOut")
        self.outputs.append((token, output))

    def received(self, execution: str, event_id: str) -> bool:
        """The execution's history: one execution here, whose states were handed `outputs`."""
        return any(output.get("event_id") == event_id for _, output in self.outputs)

    def succeeded(self, execution: str, token: str) -> bool:
        return token in [t for t, _ in self.outputs]


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    def send(self, email: Email) -> None:
        self.sent.append(email)

    def last_ticket(self, index: int = -1) -> str:
        """The ticket in the task link of the newest email (or of the email at `index`)."""
        match = re.search(r"/tasks/([A-Za-z0-9_-]+)", self.sent[index].text)
        assert match, self.sent[index].text
        return match.group(1)


class FakeExecutions:
    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, name: str, state: dict[str, Any]) -> bool:
        if name in self.started:
            return False
        self.started.append(name)
        return True


@dataclass
class World:
    store: MemoryStore = field(default_factory=MemoryStore)
    callbacks: FakeCallbacks = field(default_factory=FakeCallbacks)
    mailer: FakeMailer = field(default_factory=FakeMailer)
    executions: FakeExecutions = field(default_factory=FakeExecutions)
    now: datetime = NOW
    # The browser's cookies: the session a correct NIP + code started rides on later posts.
    cookies: tuple[str, ...] = ()

    def event(self, source: str, type_: str, data: dict[str, Any], event_id: str) -> str:
        event = InboundEvent(
            source=source, event_id=event_id, type=type_, occurred_at=self.now, data=data
        )
        return self.record(event)

    def record(self, event: InboundEvent) -> str:
        """Apply an event, as the inbound function does (and the page, recording by hand)."""
        return events.apply_event(
            event,
            store=self.store,
            executions=self.executions,
            callbacks=self.callbacks,
            now=self.now,
        )

    def wait(self, step: int, event_key: str, token: str) -> bool:
        return events.register_wait(
            self.store,
            self.callbacks,
            id_izin=ID,
            step=step,
            event_key=event_key,
            token=token,
            execution=EXECUTION,
            now=self.now,
        )

    def issue(self, step: int, token: str = "token-1", reminders: int = 0) -> str:
        request = StepRequest(
            id_izin=ID,
            step=step,
            task_token=token,
            execution=EXECUTION,
            reminders=reminders,
            timeout_seconds=3600,
            deadline=self.now + timedelta(days=1),
        )
        first = len(self.mailer.sent)
        tasks.issue_task(request, **self.issuer())
        return self.mailer.last_ticket(first)  # the officer's email comes first

    def manual(self, kind: str, token: str | None = None, event: str = "") -> str:
        """Ask the Operator to do by hand what OSS or SIINAS did not; the ticket's hash."""
        return tasks.issue_manual_task(
            kind, ID, token, event=event, execution=EXECUTION if token else "", **self.issuer()
        )

    def issuer(self) -> dict[str, Any]:
        """What issuing a task is handed: the store, the mailer, the roster, the clock."""
        return {
            "store": self.store,
            "mailer": self.mailer,
            "roster": ROSTER,
            "public_base_url": BASE,
            "now": self.now,
        }

    def ctx(self) -> tasks.TaskContext:
        return tasks.TaskContext(
            store=self.store,
            roster=ROSTER,
            callbacks=self.callbacks,
            mailer=self.mailer,
            now=self.now,
            auth=local_auth(self.store, ROSTER, self.now),
            public_base_url=BASE,
            record_event=self.record,
        )

    def post(self, ticket: str, **form: str | list[str]) -> tasks.Page:
        """POST the task's form as a browser would: the page's CSRF token, the NIP's
        current code (computed from the roster's secret, unless the test gives one)."""
        sent = {k: v if isinstance(v, list) else [v] for k, v in form.items()}
        sent.setdefault("csrf", [str((self.store.ticket(ticket_hash(ticket)) or {}).get("csrf"))])
        secret = SECRETS.get(str(form.get("nip", "")))
        if secret and "kode" not in form:
            sent["kode"] = [code_for(secret, self.now)]
        request = tasks.Request(ticket, form=sent, cookies=self.cookies)
        page = tasks.decide_task(request, self.ctx())
        if page.cookies:
            self.cookies = tuple(c.split(";", 1)[0] for c in page.cookies)
        return page


@pytest.fixture
def world() -> World:
    w = World()
    assert w.event("oss", "permohonan.diajukan", samples.permohonan(ID), "evt-permohonan") == (
        "started"
    )
    return w


OPERATOR = ROSTER.first(Role.OPERATOR).nip


def record(world: World) -> dict[str, Any]:
    """The application's record, which must exist."""
    item = world.store.application(ID)
    assert item is not None
    return item


def ticket_of(world: World, ticket: str) -> dict[str, Any]:
    """A ticket's item, by the secret in its link."""
    item = world.store.ticket(ticket_hash(ticket))
    assert item is not None
    return item


def assignee(world: World, ticket: str) -> str:
    """The NIP a ticket is for."""
    return str(ticket_of(world, ticket)["assignee"]["nip"])


def status(world: World, digest: str) -> str:
    """A ticket's status, by its hash."""
    item = world.store.ticket(digest)
    assert item is not None
    return str(item["status"])


# -- starting an application ----------------------------------------------------------


def test_an_application_starts_once_whatever_the_repeats(world: World) -> None:
    again = world.event("oss", "permohonan.diajukan", samples.permohonan(ID), "evt-again")
    assert again == "duplicate" and world.executions.started == [ID]
    assert world.store.actions() == ["application.received", "execution.started"]


def test_an_application_s_start_is_two_writes_and_its_events_one_read() -> None:
    """The record with `application.received`, then the execution's mark with
    `execution.started` and the events that came before it: two writes and one Query."""
    world = World()
    world.event("siinas", "verifikasi.diajukan", samples.verifikasi(ID), "evt-early")
    world.store.calls.clear()
    assert world.event("oss", "permohonan.diajukan", samples.permohonan(ID), "evt-p") == "started"
    assert world.store.calls == {"write_all": 2, "query": 1}
    assert world.store.actions() == [
        "application.received",
        "execution.started",
        "event.received",
    ]


# -- rendezvous: an event and the state that waits for it -----------------------------


def test_an_event_before_its_wait_is_delivered_when_the_wait_comes(world: World) -> None:
    verifikasi = samples.verifikasi(ID)
    assert world.event("siinas", "verifikasi.diajukan", verifikasi, "evt-v1") == "kept"
    assert world.callbacks.outputs == []
    assert world.wait(2, "siinas:verifikasi.diajukan", "tok-2") is True
    assert world.callbacks.outputs == [
        ("tok-2", {"event_id": "evt-v1", "komitmen_data_industri": True})
    ]
    assert record(world)["berkas"] == verifikasi["berkas"]  # kept on the record
    (applied,) = [e for e in world.store.audit(ID) if e["action"] == "event.applied"]
    assert applied["step"] == 3  # the registry's step of the event


def test_a_wait_before_its_event_is_handed_the_event_when_it_comes(world: World) -> None:
    assert world.wait(18, "siinas:komitmen.terpenuhi", "tok-18") is False
    assert record(world)["status"] == "MENUNGGU_SIINAS"
    assert world.event("siinas", "komitmen.terpenuhi", samples.komitmen(ID), "e1") == ("delivered")
    assert world.event("siinas", "komitmen.terpenuhi", samples.komitmen(ID), "e1") == ("duplicate")
    assert [token for token, _ in world.callbacks.outputs] == ["tok-18"]


def test_a_first_wait_is_one_write_and_one_read(world: World) -> None:
    """A first wait writes the waiter (on condition that none holds a token or a claim) and
    the record's status as one, then looks for an event already here: the waiter it
    replaces is not read, nor the one it has written (DynamoDB calls, issue #9)."""
    world.store.calls.clear()
    assert world.wait(18, "siinas:komitmen.terpenuhi", "tok-18") is False
    assert world.store.calls == {"write_all": 1, "query": 1}


def test_a_wait_going_on_reads_the_waiter_it_replaces(world: World) -> None:
    """A wait registered again (late, or continued in a new execution) keeps its start and
    its record-by-hand link: the first write's condition fails, and the waiter is read."""
    world.wait(18, "siinas:komitmen.terpenuhi", "tok-18")
    started = (world.store.wait(ID, "siinas:komitmen.terpenuhi") or {})["since"]
    events.remember_manual_ticket(world.store, ID, "siinas:komitmen.terpenuhi", "t" * 64, now=NOW)
    world.now = NOW + timedelta(days=3)
    world.store.calls.clear()
    assert world.wait(18, "siinas:komitmen.terpenuhi", "tok-18-lanjut") is False
    assert world.store.calls == {"write_all": 2, "get": 1, "query": 1}
    wait = world.store.wait(ID, "siinas:komitmen.terpenuhi") or {}
    assert (wait["token"], wait["since"], wait["manual_ticket"]) == (
        "tok-18-lanjut",
        started,
        "t" * 64,
    )


def test_a_wait_after_a_delivered_one_starts_afresh(world: World) -> None:
    """Back at a wait whose last event was delivered (step 04's incomplete file back to
    02): a new wait, with a start of its own and without the old record-by-hand link."""
    world.wait(2, "siinas:verifikasi.diajukan", "tok-02")
    events.remember_manual_ticket(world.store, ID, "siinas:verifikasi.diajukan", "t" * 64, now=NOW)
    world.event("siinas", "verifikasi.diajukan", samples.verifikasi(ID), "evt-v1")
    world.now = NOW + timedelta(days=2)
    world.store.calls.clear()
    assert world.wait(2, "siinas:verifikasi.diajukan", "tok-02-lagi") is False
    assert world.store.calls == {"write_all": 1, "query": 1}
    wait = world.store.wait(ID, "siinas:verifikasi.diajukan") or {}
    assert wait["token"] == "tok-02-lagi" and wait["since"] == world.now.isoformat()
    assert not {"manual_ticket", "claimed_token", "claimed_event"} & set(wait)


def test_an_event_for_a_waiting_state_is_handed_over_in_three_calls(world: World) -> None:
    """Read the waiter with the events; keep the event applied with its trail entry and the
    waiter claimed for it (if its application's record exists and the waiter is as read:
    one write, no read before); then, after the hand-over, the record's fields, the trail's
    entry and the settled claim as one (DynamoDB calls, issue #9; four before session 30,
    when the event was kept before the waiter was read)."""
    world.wait(18, "siinas:komitmen.terpenuhi", "tok-18")
    world.store.calls.clear()
    assert world.event("siinas", "komitmen.terpenuhi", samples.komitmen(ID), "e1") == "delivered"
    assert world.store.calls == {"write_all": 2, "query": 1}
    wait = world.store.wait(ID, "siinas:komitmen.terpenuhi") or {}
    assert "token" not in wait and "claimed_token" not in wait  # settled
    assert world.store.actions()[-1] == "event.applied"


def test_an_event_and_its_trail_entry_are_kept_as_one(world: World) -> None:
    """A new event of a known application: the event and `event.received` in one write (a
    redelivery writes neither), then the search for its waiter."""
    world.store.calls.clear()
    assert world.event("siinas", "komitmen.terpenuhi", samples.komitmen(ID), "e1") == "kept"
    # The waiter (none) and the events of its kind, in one read; then the event, its entry,
    # the check that its application exists and that still no waiter holds a token, as one.
    assert world.store.calls == {"write_all": 1, "query": 1}
    received = [e for e in world.store.audit(ID) if e["action"] == "event.received"]
    assert world.event("siinas", "komitmen.terpenuhi", samples.komitmen(ID), "e1") == "duplicate"
    assert [e for e in world.store.audit(ID) if e["action"] == "event.received"] == received
    assert len(received) == 1


def test_an_event_sent_again_with_a_later_time_is_applied_once(world: World) -> None:
    """OSS's reconciliation queues a final status under one event id at each of its runs,
    each occurring at its run's time: the second is a duplicate, kept and handed once."""
    assert world.event("oss", "izin.status", samples.izin_status(ID), "oss-reconcile") == "kept"
    world.now = NOW + timedelta(days=1)
    assert world.event("oss", "izin.status", samples.izin_status(ID), "oss-reconcile") == (
        "duplicate"
    )
    assert len(world.store.events(ID, "oss:izin.status")) == 1
    assert world.wait(19, "oss:izin.status", "tok-19") is True
    assert world.wait(19, "oss:izin.status", "tok-19b") is False  # nothing more to hand
    assert [t for t, _ in world.callbacks.outputs] == ["tok-19"]
    received = [e for e in world.store.audit(ID) if e["action"] == "event.received"]
    assert len(received) == 1


def test_a_waiting_state_gets_exactly_one_event(world: World) -> None:
    world.wait(19, "oss:izin.status", "tok-19")
    assert world.event("oss", "izin.status", samples.izin_status(ID), "s1") == "delivered"
    assert world.event("oss", "izin.status", samples.izin_status(ID), "s2") == "kept"
    assert len(world.callbacks.outputs) == 1
    assert world.wait(19, "oss:izin.status", "tok-19b") is True  # a later wait takes the next
    assert [o["event_id"] for _, o in world.callbacks.outputs] == ["s1", "s2"]


def test_an_event_for_a_gone_state_stays_pending_for_the_next_wait(world: World) -> None:
    world.wait(19, "oss:izin.status", "tok-old")
    world.callbacks.gone.add("tok-old")
    assert world.event("oss", "izin.status", samples.izin_status(ID), "s1") == "kept"
    assert world.wait(19, "oss:izin.status", "tok-new") is True
    assert world.callbacks.outputs[0][0] == "tok-new"


def test_the_record_by_hand_ticket_stops_when_the_event_arrives(world: World) -> None:
    world.wait(18, "siinas:komitmen.terpenuhi", "tok-18")
    digest = world.manual(tasks.Kind.RECORD, event="siinas:komitmen.terpenuhi")
    events.remember_manual_ticket(world.store, ID, "siinas:komitmen.terpenuhi", digest, now=NOW)
    world.event("siinas", "komitmen.terpenuhi", samples.komitmen(ID), "e1")
    assert status(world, digest) == Status.SUPERSEDED


# -- an officer's task: decide once, supersede, lock ----------------------------------


def test_a_task_is_decided_once(world: World) -> None:
    ticket = world.issue(4)
    assert world.post(ticket, nip=OPERATOR, decision="done").status == 200
    assert world.post(ticket, nip=OPERATOR, decision="done").status == 409
    ((token, output),) = world.callbacks.outputs
    assert token == "token-1" and output["step"] == 4 and output["decision"] == "done"
    assert world.store.step_data(ID, 4)["kelengkapan"] == "lengkap"


def test_a_get_changes_nothing_but_the_trail(world: World) -> None:
    ticket = world.issue(4)
    before = world.store.ticket(ticket_hash(ticket))
    assert tasks.show_task(tasks.Request(ticket), world.ctx()).status == 200
    assert world.store.ticket(ticket_hash(ticket)) == before
    assert world.store.actions()[-1] == "task.viewed" and world.callbacks.outputs == []


def test_a_new_link_supersedes_the_old_one(world: World) -> None:
    first = world.issue(4)
    second = world.issue(4, token="token-2", reminders=1)
    assert world.post(first, nip=OPERATOR, decision="done").status == 410
    assert world.post(second, nip=OPERATOR, decision="done").status == 200
    assert [token for token, _ in world.callbacks.outputs] == ["token-2"]


def test_five_wrong_nips_lock_the_task_and_tell_the_supervisor(world: World) -> None:
    ticket = world.issue(4)
    answers = [world.post(ticket, nip="1" * 18, decision="done").status for _ in range(5)]
    assert answers == [403] * 5
    assert status(world, ticket_hash(ticket)) == Status.LOCKED
    assert world.post(ticket, nip=OPERATOR, decision="done").status == 403
    kasi = ROSTER.first(Role.KASI)
    assert str(kasi.email) in world.mailer.sent[-1].to
    assert world.callbacks.outputs == []


def _all_at_once(world: World, ticket: str, nips: list[str]) -> list[int]:
    """POST the step with each NIP from its own thread, all released together."""
    barrier = threading.Barrier(len(nips))

    def post(nip: str) -> int:
        barrier.wait()
        return world.post(ticket, nip=nip, decision="done").status

    with ThreadPoolExecutor(max_workers=len(nips)) as pool:
        return list(pool.map(post, nips))


def test_thirty_concurrent_wrong_nips_count_five_and_lock_once(world: World) -> None:
    ticket = world.issue(4)
    assert _all_at_once(world, ticket, ["1" * 18] * 30) == [403] * 30
    item = world.store.ticket(ticket_hash(ticket))
    assert item is not None and (item["status"], item["wrong_nips"]) == (Status.LOCKED, 5)
    assert world.store.actions().count("task.wrong_nip") == 5
    assert world.store.actions().count("task.locked") == 1


def test_the_right_nip_among_nineteen_wrong_ones_decides_only_before_the_lock(
    world: World,
) -> None:
    ticket = world.issue(4)
    answers = _all_at_once(world, ticket, ["1" * 18] * 10 + [OPERATOR] + ["1" * 18] * 9)
    item = world.store.ticket(ticket_hash(ticket))
    assert item is not None
    if answers[10] == 200:
        assert item["status"] == Status.DECIDED and item["wrong_nips"] < 5
        assert len(world.callbacks.outputs) == 1
    else:
        assert (item["status"], item["wrong_nips"]) == (Status.LOCKED, 5)
        assert world.callbacks.outputs == []
    assert set(answers) - {200} <= {403, 409}


def test_a_ticket_at_the_limit_decides_nothing_whatever_its_status(world: World) -> None:
    ticket = world.issue(4)
    # A ticket counted to the limit before the lock was one write with the count.
    world.store.update_ticket(ticket_hash(ticket), {"wrong_nips": 5})
    assert world.post(ticket, nip=OPERATOR, decision="done").status == 403
    assert world.callbacks.outputs == []
    assert world.post(ticket, nip="1" * 18, decision="done").status == 403
    assert status(world, ticket_hash(ticket)) == Status.LOCKED


def test_a_decision_for_a_state_that_no_longer_waits_expires_the_ticket(world: World) -> None:
    ticket = world.issue(4)
    world.callbacks.gone.add("token-1")
    assert world.post(ticket, nip=OPERATOR, decision="done").status == 410
    assert status(world, ticket_hash(ticket)) == Status.EXPIRED


def test_an_invalid_form_is_shown_again_and_decides_nothing(world: World) -> None:
    ticket = world.issue(4)
    assert world.post(ticket, nip=OPERATOR, decision="yes").status == 422
    assert status(world, ticket_hash(ticket)) == Status.OPEN


def test_an_empty_nip_is_not_an_attempt(world: World) -> None:
    ticket = world.issue(4)
    for _ in range(6):
        page = world.post(ticket, nip="  ", decision="done")
        assert page.status == 422 and "Isi NIP Anda." in page.html
    item = world.store.ticket(ticket_hash(ticket))
    assert item is not None and (item["status"], item["wrong_nips"]) == (Status.OPEN, 0)
    assert world.post(ticket, decision="done").status == 422  # no field at all: the same
    assert "task.wrong_nip" not in world.store.actions()


def test_the_fifth_wrong_nip_locks_and_each_before_it_says_what_is_left(world: World) -> None:
    ticket = world.issue(4)
    for left in (4, 3, 2, 1):
        page = world.post(ticket, nip="1" * 18, decision="done")
        assert page.status == 403 and f"Sisa percobaan: {left}." in page.html
        assert status(world, ticket_hash(ticket)) == Status.OPEN
    assert world.post(ticket, nip="1" * 18, decision="done").status == 403
    item = world.store.ticket(ticket_hash(ticket))
    assert item is not None and (item["status"], item["wrong_nips"]) == (Status.LOCKED, 5)


# -- no silent defaults --------------------------------------------------------------------


def test_unticking_every_member_is_a_422_by_the_field_not_the_default_team(
    world: World,
) -> None:
    ticket = world.issue(7)
    shown = tasks.show_task(tasks.Request(ticket), world.ctx()).html
    assert '<input type="hidden" name="anggota" value="">' in shown
    kasi = ROSTER.first(Role.KASI).nip
    # What a browser sends with every box unticked: the page's empty hidden field alone.
    page = world.post(ticket, nip=kasi, decision="done", anggota="")
    assert page.status == 422 and 'id="e-anggota"' in page.html
    assert "Pilih paling sedikit satu." in page.html
    assert " checked" not in page.html  # shown again as sent: empty
    assert status(world, ticket_hash(ticket)) == Status.OPEN and world.callbacks.outputs == []


def test_the_findings_start_empty_and_are_asked_for(world: World) -> None:
    ticket = world.issue(10)
    page = tasks.show_task(tasks.Request(ticket), world.ctx()).html
    assert "></textarea>" in page and "Tidak ada temuan.</textarea>" not in page
    assert "berfungsi.</textarea>" not in page
    ketua = ROSTER.holders(Role.TIM_TEKNIS)[0].nip
    refused = world.post(ticket, nip=ketua, decision="done")
    assert refused.status == 422
    assert 'id="e-temuan"' in refused.html and 'id="e-kondisi_mesin"' in refused.html
    filled = {"nip": ketua, "decision": "done", **samples.field_inspection()}
    assert world.post(ticket, **filled).status == 200


# -- assignments hold: a reassignment, the team, the reminders -------------------------------

TEAM = [o.nip for o in ROSTER.holders(Role.TIM_TEKNIS)]
KASI = ROSTER.first(Role.KASI)


def assign_team(world: World) -> None:
    """Step 7 decided: the first Tim Teknis holder leads, the others are members."""
    world.store.save_step(
        ID,
        7,
        {
            "ketua": TEAM[0],
            "anggota": TEAM[1:],
            "tanggal_mulai": "2026-12-02",
            "tanggal_selesai": "2026-12-09",
            "decision": "done",
        },
    )


def reassign(world: World, ticket: str, to_nip: str) -> None:
    tasks.reassign_task(
        ticket_hash(ticket),
        to_nip,
        store=world.store,
        mailer=world.mailer,
        roster=ROSTER,
        public_base_url=BASE,
        now=world.now,
        by=KASI.model_dump(mode="json"),
        reason="Ketua sedang cuti.",
    )


def test_a_reassignment_holds_for_the_later_steps_of_that_role(world: World) -> None:
    assign_team(world)
    step8 = world.issue(8, token="t8")
    assert assignee(world, step8) == TEAM[0]
    sent_before = len(world.mailer.sent)
    reassign(world, step8, TEAM[1])
    moved, told = world.mailer.sent[sent_before:]
    budi, yuliana = ROSTER.by_nip(TEAM[0]), ROSTER.by_nip(TEAM[1])
    assert moved.to == (str(yuliana.email),) and "Langkah 08 " in moved.subject
    assert told.to == (str(budi.email),) and "dialihkan" in told.subject
    assert yuliana.nama in told.text and "Ketua sedang cuti." in told.text
    assert "/tasks/" not in told.text
    (entry,) = [e for e in world.store.audit(ID) if e["action"] == "task.reassigned"]
    assert (entry["from_nip"], entry["to_nip"]) == (TEAM[0], TEAM[1])
    assert (entry["from"], entry["to"], entry["nip"]) == (budi.nama, yuliana.nama, KASI.nip)
    for step in (10, 11):
        ticket = world.issue(step, token=f"t{step}")
        assert assignee(world, ticket) == TEAM[1]
        assert world.mailer.sent[-1].to == (str(yuliana.email),)
    kasi_task = world.issue(12)  # another role's step stays with its holder
    assert assignee(world, kasi_task) == KASI.nip


def test_every_member_of_the_team_is_sent_the_surat_tugas(world: World) -> None:
    assign_team(world)
    first = len(world.mailer.sent)
    world.issue(8)
    task, *copies = world.mailer.sent[first:]
    assert task.to == (str(ROSTER.by_nip(TEAM[0]).email),)
    assert sorted(c.to for c in copies) == sorted((str(ROSTER.by_nip(n).email),) for n in TEAM[1:])
    for copy in copies:
        assert "Surat Tugas" in copy.subject and "/tasks/" not in copy.text
        assert all(ROSTER.by_nip(n).nama in copy.text for n in TEAM)
        assert "2 Desember 2026 s.d. 9 Desember 2026" in copy.text
    again = len(world.mailer.sent)
    world.issue(8, token="token-2", reminders=1)  # a reminder does not send it again
    assert all("Surat Tugas" not in m.subject for m in world.mailer.sent[again:])


def test_a_reminder_goes_to_the_holder_alone_and_the_supervisor_gets_a_link_apart(
    world: World,
) -> None:
    first = len(world.mailer.sent)
    reminded = world.issue(4, reminders=1)
    reminder, supervisor = world.mailer.sent[first:]
    operator = ROSTER.first(Role.OPERATOR)
    assert (reminder.to, reminder.cc) == ((str(operator.email),), ())
    assert reminder.text.count("/tasks/") == 1 and "PENGINGAT 1" in reminder.subject
    assert (supervisor.to, supervisor.cc) == ((str(KASI.email),), ())
    link = world.mailer.last_ticket()
    assert link != reminded and reminded not in supervisor.text + supervisor.html
    assert ticket_of(world, link)["kind"] == tasks.Kind.REASSIGN
    assert assignee(world, link) == KASI.nip
    assert world.post(link, nip=KASI.nip, decision="done").status == 200  # it moves the task


# -- a parked application's data, repaired ------------------------------------------------


def park_at_step_10(world: World, temuan: str) -> dict[str, Any]:
    """The application TERHENTI with step 10's data as an officer had entered it."""
    data = {
        "tanggal_pemeriksaan": "2026-12-01",
        "kesesuaian_lokasi": "sesuai",
        "kapasitas_terpasang_aktual": 60,
        "kondisi_mesin": "Baik.",
        "temuan": temuan,
        "decision": "done",
        "oleh": "Ir. Tim",
        "nip": "1" * 18,
    }
    world.store.save_step(ID, 10, data)
    world.store.update_application(ID, {"status": "TERHENTI"}, remove=("open_ticket",))
    return data


def repair_link(world: World, step: int) -> str:
    link = tasks.issue_repair(
        ID, step, store=world.store, roster=ROSTER, public_base_url=BASE, now=world.now
    )
    return link.rsplit("/", 1)[-1]


def test_the_operator_corrects_a_parked_step_s_data_and_it_is_audited(world: World) -> None:
    before = park_at_step_10(world, "Temuan yang terlalu panjang " * 3)
    ticket = repair_link(world, 10)
    page = tasks.show_task(tasks.Request(ticket), world.ctx())
    assert page.status == 200 and "Temuan yang terlalu panjang" in page.html
    assert world.post(ticket, nip=OPERATOR, decision="done", temuan="Ringkas.").status == 200
    assert world.store.step_data(ID, 10) == before | {"temuan": "Ringkas."}
    (entry,) = [e for e in world.store.audit(ID) if e["action"] == "application.repaired"]
    assert entry["changed"] == {"temuan": {"sebelum": before["temuan"], "sesudah": "Ringkas."}}
    assert entry["nip"] == OPERATOR and world.callbacks.outputs == []
    assert record(world)["status"] == "TERHENTI"  # until `izin resume`


def test_a_repair_is_only_for_a_parked_application_with_that_step_s_data(world: World) -> None:
    with pytest.raises(tasks.NotRepairable):
        repair_link(world, 10)  # not parked
    park_at_step_10(world, "x")
    with pytest.raises(tasks.NotRepairable):
        repair_link(world, 11)  # no data kept
    ticket = repair_link(world, 10)
    world.store.update_application(ID, {"status": "PROSES"})  # resumed meanwhile
    assert world.post(ticket, nip=OPERATOR, decision="done", temuan="y").status == 410
    assert world.store.step_data(ID, 10)["temuan"] == "x"


def test_a_repair_keeps_the_form_s_bounds(world: World) -> None:
    park_at_step_10(world, "x")
    ticket = repair_link(world, 10)
    assert world.post(ticket, nip=OPERATOR, decision="done", temuan="a\x00b").status == 422
    world.cookies = ()  # another browser: the Operator's session (from the 422) not in it
    assert world.post(ticket, nip="1" * 18, decision="done").status == 403


# -- automatic steps --------------------------------------------------------------------


def test_the_last_step_records_the_outcome(world: World) -> None:
    answer = progress.record_step(world.store, ROSTER, ID, 20, now=NOW, status="efektif")
    assert answer == {"step": 20, "outcome": "BERLAKU_EFEKTIF"}
    finished = record(world)
    assert (finished["status"], finished["current_step"]) == ("SELESAI", 20)


# -- send-backs go to whoever owns what must change ------------------------------------------

KABID = ROSTER.first(Role.KEPALA_BIDANG)


def team_of_two(world: World) -> None:
    """Step 7: the ketua and one member, who decided step 8 in the system (so signed the
    BAP by that decision: no line of the BAP is left to sign on paper)."""
    world.store.save_step(
        ID,
        7,
        {
            "ketua": TEAM[0],
            "anggota": TEAM[1:2],
            "tanggal_mulai": "2026-12-02",
            "tanggal_selesai": "2026-12-09",
            "decision": "done",
        },
    )
    world.store.save_step(ID, 8, {"nip": TEAM[1], "decision": "no"})


BAP_FIELDS = {"kesimpulan": "siap", "wakil_perusahaan": "Ir. Lukas Tan", **samples.bap()}


def answer_bap(world: World, token: str, **changed: str) -> tasks.Page:
    """The ketua answers step 11 with the sample figures (and `changed`)."""
    ticket = world.issue(11, token=token)
    return world.post(ticket, nip=TEAM[0], decision="done", **(BAP_FIELDS | changed))


def test_a_no_that_names_the_bap_returns_it_to_the_tim_teknis_prefilled(world: World) -> None:
    team_of_two(world)
    assert answer_bap(world, "t11").status == 200
    check = world.issue(13, token="t13")
    note = "Perbaiki jumlah TKA pada BAP: tiga orang."
    page = world.post(check, nip=KABID.nip, decision="no", catatan=note, kembalikan_ke="bap")
    assert page.status == 200
    assert "Tim Teknis (langkah 11)" in page.html
    token, output = world.callbacks.outputs[-1]
    assert token == "t13" and (output["decision"], output["kembalikan_ke"]) == ("no", "bap")

    world.now += timedelta(hours=1)
    again = world.issue(11, token="t11-again")
    form = tasks.show_task(tasks.Request(again), world.ctx()).html
    assert note in form and "kepada Tim Teknis (langkah 11)" in form
    assert 'id="f-tka_l" name="tka_l"' in form and 'value="2"' in form  # the earlier figure
    assert "Boiler, 1 unit, 45 ton uap/jam</textarea>" in form
    done = world.post(again, nip=TEAM[0], decision="done", **(BAP_FIELDS | {"tka_l": "3"}))
    assert done.status == 200
    assert "Tenaga kerja asing laki-laki" in done.html and "<del>2</del>" in done.html
    assert "<ins>3</ins>" in done.html
    assert world.store.step_data(ID, 11)["tka_l"] == 3
    history = " ".join(e.get("note", "") + str(e.get("data", "")) for e in world.store.audit(ID))
    assert "Perbaiki jumlah TKA" in history


def test_a_no_with_only_a_note_returns_to_the_kasi_as_before(world: World) -> None:
    check = world.issue(14, token="t14")
    kadis = ROSTER.first(Role.KEPALA_DINAS)
    page = world.post(check, nip=kadis.nip, decision="no", catatan="Perbaiki nomor surat.")
    assert page.status == 200
    assert "Berkas dikembalikan kepada Kasi (langkah 12)" in page.html
    _, output = world.callbacks.outputs[-1]
    assert output["kembalikan_ke"] == "surat_pengantar"  # the field's default: the Kasi
    world.now += timedelta(hours=1)
    kasi_page = tasks.show_task(tasks.Request(world.issue(12, token="t12")), world.ctx()).html
    assert "Perbaiki nomor surat." in kasi_page and "kepada Kasi (langkah 12)" in kasi_page


def test_an_unknown_return_is_refused_by_the_field(world: World) -> None:
    check = world.issue(13, token="t13")
    page = world.post(check, nip=KABID.nip, decision="no", catatan="x", kembalikan_ke="pemohon")
    assert page.status == 422 and 'id="e-kembalikan_ke"' in page.html
    assert world.callbacks.outputs == []


def test_the_decider_reads_the_previous_answers_first(world: World) -> None:
    world.store.save_step(
        ID, 6, {"disposisi": "Segera, perusahaan ekspor.", "decision": "done", "oleh": KABID.nama}
    )
    team_of_two(world)
    assert answer_bap(world, "t11", catatan="Boiler baru diuji coba.").status == 200
    world.now += timedelta(hours=1)
    kasi = world.post(
        world.issue(12, token="t12"),
        nip=KASI.nip,
        decision="done",
        laporan="Tim menemukan boiler baru; mohon perhatian.",
    )
    assert kasi.status == 200
    page = tasks.show_task(tasks.Request(world.issue(13, token="t13")), world.ctx()).html
    card = page[page.index('id="ringkasan"') : page.index('id="keputusan"')]
    assert f"langkah 12 (Kasi, {KASI.nama})" in card
    assert "Tim menemukan boiler baru; mohon perhatian." in card  # the Kasi's report
    assert "Segera, perusahaan ekspor." in card  # the disposisi
    assert "Kesimpulan BAP (Tim Teknis)" in card and "SIAP" in card
    assert "Boiler baru diuji coba." in card
    # Hashes and history come after the decision, folded.
    assert "<details>" in page[page.index('id="keputusan"') :]
