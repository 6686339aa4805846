"""The edges of the rendezvous and of the officers' tasks that the main suite does not reach:
deliverers that race, a waiting state's adapter that fails, the Operator's by-hand tasks.

On the in-memory store (it honours conditions as DynamoDB does), in milliseconds; a race is
played out by a store that lets the rival act at the one moment the race is decided.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from izin import events, sessions, tasks
from izin.memory_store import MemoryStore
from izin.store import Write
from izin.tasks.issue import move_open_tasks
from izin.tasks.page import TAKEN_ALL_THE_SAME
from izin.tickets import ticket_hash
from izin_local import samples

from tests.unit.test_workflow_logic import (
    ID,
    KASI,
    NOW,
    OPERATOR,
    ROSTER,
    FakeExecutions,
    World,
    record,
    status,
    ticket_of,
)

KOMITMEN = "siinas:komitmen.terpenuhi"
VERIFIKASI = "siinas:verifikasi.diajukan"
# The Operator's answers on the by-hand pages: step 17's upload, step 18's Berita Acara.
UPLOADED = {
    "nomor_tanda_terima": "TT-2026-77",
    "tanggal_unggah": "2026-12-01",
    "bukti": "Tangkapan layar SIINAS.",
}
RECORDED = {"nomor_berita_acara": "BA-18/2026", "tanggal": "2026-12-01", "bukti": "Salinan."}


class RacingStore(MemoryStore):
    """The in-memory store, with a rival that acts once, just before the named change
    (`rival`), and a deed that follows one once it is written (`after`): "update_wait" is a
    change of a waiter, "set_event" of a kept event, made alone or with others as one (a
    put, as keeping a new event pending, is no change; keeping one applied, claimed for the
    waiter in the same write, is)."""

    def __init__(self) -> None:
        super().__init__()
        self.rival: dict[str, Callable[[], object]] = {}
        self.after: dict[str, Callable[[], object]] = {}

    @staticmethod
    def _changes(sk: str) -> str:
        return (
            "set_event"
            if sk.startswith("EVENT#")
            else "update_wait"
            if sk.startswith("WAIT#")
            else ""
        )

    def _around(self, sks: list[str], write: Callable[[], Any]) -> Any:
        for sk in sks:
            if act := self.rival.pop(self._changes(sk), None):
                act()
        done = write()
        for sk in sks:
            if act := self.after.pop(self._changes(sk), None):
                act()
        return done

    def update_wait(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._around(
            ["WAIT#"], lambda: super(RacingStore, self).update_wait(*args, **kwargs)
        )

    def set_event(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._around(["EVENT#"], lambda: super(RacingStore, self).set_event(*args, **kwargs))

    def write_all(self, writes: Sequence[Write]) -> None:
        changes = [w.sk for w in writes if w.update or w.fields.get("status") == "applied"]
        self._around(changes, lambda: super(RacingStore, self).write_all(writes))


class Killed(BaseException):
    """Lambda ending a worker past its timeout: nothing after it runs, no handler catches it."""


def _kill() -> None:
    raise Killed


class SpentTokens:
    """Step Functions' callbacks: a token hands over once; again, it is gone (TaskGone). The
    execution's history holds each hand-over (`received`); with `lag`, a read of it misses
    the newest, as one made just after that hand-over may."""

    def __init__(self) -> None:
        self.outputs: list[tuple[str, dict[str, Any]]] = []
        self.kill_after_next = False
        self.lag = False

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        if token in [t for t, _ in self.outputs]:
            raise events.TaskGone(token)
        self.outputs.append((token, output))
        if self.kill_after_next:
            self.kill_after_next = False
            raise Killed

    def received(self, execution: str, event_id: str) -> bool:
        history = self.outputs[:-1] if self.lag else self.outputs
        return any(output["event_id"] == event_id for _, output in history)

    def succeeded(self, execution: str, token: str) -> bool:
        return token in [t for t, _ in self.outputs]


class FailingCallbacks(SpentTokens):
    """Step Functions that answers with an error (throttled, say) before it works again;
    `through`: the failing call took the event all the same, and only its answer was lost."""

    def __init__(self, failures: int, *, through: bool = False) -> None:
        super().__init__()
        self.failures, self.through = failures, through

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        if self.failures:
            self.failures -= 1
            if self.through:
                super().succeed(token, output)
            raise RuntimeError("ThrottlingException")
        super().succeed(token, output)


class GoneTokens(SpentTokens):
    """Step Functions for which some waiting states are gone (timed out, the execution
    stopped or continued in a new one): their tokens answer TaskGone."""

    def __init__(self) -> None:
        super().__init__()
        self.gone: set[str] = set()

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        if token in self.gone:
            raise events.TaskGone(token)
        super().succeed(token, output)


def started(world: World) -> World:
    assert world.event("oss", "permohonan.diajukan", samples.permohonan(ID), "evt-p") == "started"
    return world


def komitmen(world: World, event_id: str = "e1") -> str:
    return world.event("siinas", "komitmen.terpenuhi", samples.komitmen(ID), event_id)


def handed(outputs: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
    """Which event each waiting state was handed."""
    return [(token, output["event_id"]) for token, output in outputs]


def pending_events(world: World) -> list[str]:
    return [e["event_id"] for e in world.store.events(ID, KOMITMEN) if e["status"] == "pending"]


# -- an event before its application ----------------------------------------------------


def test_an_event_before_its_application_joins_the_trail_when_the_application_starts() -> None:
    world = World()
    assert komitmen(world, "early") == "kept"
    assert world.store.application(ID) is None and world.store.audit(ID) == []
    started(world)
    assert world.store.actions() == ["application.received", "execution.started", "event.received"]
    (received,) = [e for e in world.store.audit(ID) if e["action"] == "event.received"]
    assert (received["event_id"], received["actor"]) == ("early", "SIINAS")
    assert world.wait(18, KOMITMEN, "tok-18") is True  # still there for its wait
    assert [token for token, _ in world.callbacks.outputs] == ["tok-18"]


class KilledAfterStarting(FakeExecutions):
    """StartExecution goes through, then Lambda ends the deliverer (past its timeout); once."""

    def start(self, name: str, state: dict[str, Any]) -> bool:
        fresh = super().start(name, state)
        if fresh:
            raise Killed
        return fresh


def test_a_start_killed_after_starting_the_execution_is_noted_by_its_redelivery() -> None:
    """The redelivery finds the execution started: it still writes the mark, with
    `execution.started` and the events that came before, which the killed one never did."""
    world = World()
    assert komitmen(world, "early") == "kept"
    world.executions = KilledAfterStarting()
    with pytest.raises(Killed):
        started(world)
    assert world.store.actions() == ["application.received"]
    assert world.event("oss", "permohonan.diajukan", samples.permohonan(ID), "evt-p") == "started"
    assert world.executions.started == [ID]
    assert world.store.actions() == ["application.received", "execution.started", "event.received"]
    assert world.event("oss", "permohonan.diajukan", samples.permohonan(ID), "evt-p") == "duplicate"


# -- deliverers that race -----------------------------------------------------------------


def test_of_two_deliverers_racing_for_one_waiter_only_one_hands_it_the_event() -> None:
    """SQS hands one event to two workers at once: both read the waiter holding its token;
    the rival keeps the event and claims the waiter first. This worker's write, expecting
    the waiter as it read it, is refused, and the general way finds the event kept and
    handed over: a duplicate."""
    store = RacingStore()
    world = started(World(store=store))
    world.wait(18, KOMITMEN, "tok-18")
    store.rival["update_wait"] = lambda: komitmen(world)
    assert komitmen(world) == "duplicate"  # this worker's claim lost: the rival delivered it
    assert [token for token, _ in world.callbacks.outputs] == ["tok-18"]
    assert store.actions().count("event.applied") == 1
    assert store.actions().count("event.received") == 1


def test_a_wait_registered_between_an_event_s_read_and_its_write_still_meets_it() -> None:
    """The event's worker reads no waiter; before it writes, the waiting state registers
    its waiter and reads no event. The event's write holds only while no waiter holds a
    token: refused, the event is kept the general way (written, then the waiter read) and
    handed to the waiter. Without that check both would wait for the other forever."""
    store = RacingStore()
    world = started(World(store=store))
    reads: list[object] = []
    rendezvous = store.rendezvous

    def wait_registers_after_the_read(id_izin: str, event_key: str) -> Any:
        read = rendezvous(id_izin, event_key)
        if not reads:  # the event's first read: the wait comes between it and the write
            reads.append(read)
            assert world.wait(18, KOMITMEN, "tok-18") is False  # no event yet
        return read

    store.rendezvous = wait_registers_after_the_read  # type: ignore[method-assign]
    assert komitmen(world) == "delivered"
    assert handed(world.callbacks.outputs) == [("tok-18", "e1")]
    assert pending_events(world) == []


def test_an_event_applied_meanwhile_gives_the_waiter_back_its_token_for_the_next() -> None:
    store = RacingStore()
    world = started(World(store=store))

    def applied_elsewhere() -> None:
        (event,) = store.events(ID, KOMITMEN)
        store.set_event(event, {"status": "applied"})

    assert komitmen(world, "e1") == "kept"  # before its wait: kept pending
    store.rival["set_event"] = applied_elsewhere
    assert world.wait(18, KOMITMEN, "tok-18") is False  # its claim lost: applied elsewhere
    assert world.callbacks.outputs == []
    assert (store.wait(ID, KOMITMEN) or {}).get("token") == "tok-18"
    assert komitmen(world, "e2") == "delivered"  # the waiter still takes the next one
    assert handed(world.callbacks.outputs) == [("tok-18", "e2")]


def claim_on(world: World, event_key: str) -> object:
    """The token a waiter's unfinished claim holds, if any."""
    return (world.store.wait(ID, event_key) or {}).get("claimed_token")


def verifikasi(world: World, event_id: str) -> str:
    return world.event("siinas", "verifikasi.diajukan", samples.verifikasi(ID), event_id)


def playing(world: World, callbacks: SpentTokens) -> SpentTokens:
    world.callbacks = callbacks  # type: ignore[assignment]
    return callbacks


@pytest.mark.parametrize("through", [False, True], ids=["refused", "answer_lost"])
def test_a_failing_hand_over_is_finished_once_by_the_event_s_redelivery(through: bool) -> None:
    """Step Functions answers with an error. It may have taken the event all the same (its
    answer lost on the way back), so nothing is undone: the claim stays, and the redelivery
    finishes it, the event handed over once and the trail saying so once."""
    world = started(World())
    callbacks = playing(world, FailingCallbacks(failures=1, through=through))
    world.wait(18, KOMITMEN, "tok-18")
    with pytest.raises(RuntimeError, match="Throttling"):
        komitmen(world, "e1")  # SQS redelivers: Retry sees the error unwrapped
    assert "event.applied" not in world.store.actions()
    assert claim_on(world, KOMITMEN) == "tok-18"
    assert komitmen(world, "e1") == "delivered"  # the redelivery: a duplicate, yet delivered
    assert handed(callbacks.outputs) == [("tok-18", "e1")]
    assert world.store.actions().count("event.applied") == 1
    assert pending_events(world) == [] and claim_on(world, KOMITMEN) is None
    assert komitmen(world, "e1") == "duplicate"


@pytest.mark.parametrize("killed_at", ["before_its_write", "applied", "handed_over"])
def test_a_deliverer_killed_mid_hand_over_is_finished_by_the_event_s_redelivery(
    killed_at: str,
) -> None:
    """The bench's 200 applications found two stranded at step 02: InboundFunction timed out
    after claiming the waiter, the token went with it, and every redelivery found no token.
    Now the claim keeps the token until the hand-over is over."""
    store = RacingStore()
    world = started(World(store=store))
    callbacks = playing(world, SpentTokens())
    world.wait(18, KOMITMEN, "tok-18")
    if killed_at == "before_its_write":  # the event and the claim not yet written
        store.rival["set_event"] = _kill
    elif killed_at == "applied":  # before Step Functions hears of it
        store.after["set_event"] = _kill
    else:  # after the hand-over, before the claim is settled
        callbacks.kill_after_next = True
    with pytest.raises(Killed):
        komitmen(world, "e1")
    # Killed before its one write, nothing was kept; after it, the event is kept applied
    # and the waiter claimed for it, its token kept until the hand-over is confirmed.
    kept = [e["status"] for e in store.events(ID, KOMITMEN)]
    assert kept == ([] if killed_at == "before_its_write" else ["applied"])
    assert claim_on(world, KOMITMEN) == (None if killed_at == "before_its_write" else "tok-18")
    assert komitmen(world, "e1") == "delivered"  # SQS redelivers the same event
    assert handed(callbacks.outputs) == [("tok-18", "e1")]  # handed over once
    assert pending_events(world) == []
    assert store.actions().count("event.applied") == 1
    wait = store.wait(ID, KOMITMEN) or {}
    assert "token" not in wait and "claimed_token" not in wait
    assert komitmen(world, "e1") == "duplicate"  # and nothing more happens after


@pytest.mark.parametrize("token", ["tok-18", "tok-18-lanjut"], ids=["retried", "new_state"])
def test_a_wait_after_a_deliverer_killed_mid_hand_over_gets_the_claimed_event(
    token: str,
) -> None:
    """The deliverer was killed after marking the event applied, before Step Functions
    heard of it. The waiting state's invocation retried with the same token finishes the
    claim; a new state (a new execution, or the wait started again) finds the history shows
    no hand-over to the old one and takes the event. Either way it is handed over once."""
    store = RacingStore()
    world = started(World(store=store))
    callbacks = playing(world, SpentTokens())
    world.wait(18, KOMITMEN, "tok-18")
    store.after["set_event"] = _kill
    with pytest.raises(Killed):
        komitmen(world, "e1")
    assert world.wait(18, KOMITMEN, token) is True  # delivered at once
    assert handed(callbacks.outputs) == [(token, "e1")]
    assert store.actions().count("event.applied") == 1
    wait = store.wait(ID, KOMITMEN) or {}
    assert "token" not in wait and "claimed_token" not in wait
    assert komitmen(world, "e1") == "duplicate"  # its redelivery: nothing more


def test_an_event_claimed_whose_state_is_gone_is_left_for_the_next_wait_to_decide() -> None:
    """The deliverer was killed after claiming the waiter; the state is gone before the
    event's redelivery. Step Functions' TaskGone cannot tell a state gone from a token spent
    and the history shows no hand-over: nothing is undone on that, and the next wait, which
    finds the claim, hands the event over."""
    store = RacingStore()
    world = started(World(store=store))
    callbacks = GoneTokens()
    playing(world, callbacks)
    world.wait(18, KOMITMEN, "tok-18")
    store.after["update_wait"] = _kill
    with pytest.raises(Killed):
        komitmen(world, "e1")
    callbacks.gone.add("tok-18")
    assert komitmen(world, "e1") == "duplicate"  # kept before; nothing to hand it to
    assert "event.applied" not in store.actions()
    assert claim_on(world, KOMITMEN) == "tok-18"
    assert world.wait(18, KOMITMEN, "tok-18-baru") is True
    assert handed(callbacks.outputs) == [("tok-18-baru", "e1")]
    assert store.actions().count("event.applied") == 1


@pytest.mark.parametrize("lag", [False, True], ids=["history_current", "history_behind"])
def test_a_duplicate_that_finishes_the_hand_over_first_leaves_the_event_taken(lag: bool) -> None:
    """A deliverer marks the event; a duplicate of it (SQS delivers at least once) finds the
    claim and hands the event over first; the deliverer's own call answers TaskGone. Whether
    or not the history it then reads shows the hand-over yet, the event stays taken: when
    the execution is back at step 02 (step 03's TIDAK), the new wait waits for another."""
    store = RacingStore()
    world = started(World(store=store))
    callbacks = playing(world, SpentTokens())
    callbacks.lag = lag
    world.wait(2, VERIFIKASI, "tok-02")
    store.after["set_event"] = lambda: events.deliver_pending(
        store, callbacks, ID, VERIFIKASI, now=NOW
    )
    assert verifikasi(world, "e1") == "kept"  # the duplicate delivered it
    assert handed(callbacks.outputs) == [("tok-02", "e1")]
    assert store.actions().count("event.applied") == 1
    assert claim_on(world, VERIFIKASI) is None
    assert world.wait(2, VERIFIKASI, "tok-02-lagi") is False
    assert handed(callbacks.outputs) == [("tok-02", "e1")]


class NewWaitDuringHandOver(SpentTokens):
    """Step Functions takes the event, and the execution is back at the same wait (step
    03's TIDAK) before the deliverer hears back."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        super().succeed(token, output)
        if token == "tok-02":
            self.world.wait(2, VERIFIKASI, "tok-02-lagi")


def test_a_hand_over_confirmed_by_its_deliverer_and_by_the_next_wait_is_written_once() -> None:
    """The next wait finds the claim and confirms it from the history; the deliverer then
    hears back and would confirm it too: the trail's entry is written once, the new wait
    kept."""
    world = started(World(store=RacingStore()))
    callbacks = playing(world, NewWaitDuringHandOver(world))
    world.wait(2, VERIFIKASI, "tok-02")
    assert verifikasi(world, "e1") == "delivered"
    assert handed(callbacks.outputs) == [("tok-02", "e1")]
    assert world.store.actions().count("event.applied") == 1
    wait = world.store.wait(ID, VERIFIKASI) or {}
    assert wait.get("token") == "tok-02-lagi" and "claimed_token" not in wait


@pytest.mark.parametrize("via_step_04", [True, False], ids=["04_incomplete", "03_tidak"])
def test_an_event_handed_over_before_its_deliverer_was_killed_is_not_handed_again(
    via_step_04: bool,
) -> None:
    """The deliverer handed the event over and was killed before writing so; the execution
    went on and waits at step 02 again (step 04 found the file incomplete, or straight from
    step 03's TIDAK): that wait finds the old claim, yet the history shows the event taken,
    so it waits for a new one. The trail gets the hand-over's entry it missed."""
    store = RacingStore()
    world = started(World(store=store))
    callbacks = playing(world, SpentTokens())
    world.wait(2, VERIFIKASI, "tok-02")
    callbacks.kill_after_next = True
    with pytest.raises(Killed):
        verifikasi(world, "e1")
    if via_step_04:
        world.issue(4, token="tok-04")  # the execution went on to the Operator's step 04
    assert world.wait(2, VERIFIKASI, "tok-02-lagi") is False  # back at 02: waits
    assert handed(callbacks.outputs) == [("tok-02", "e1")]  # handed over once
    assert store.actions().count("event.applied") == 1
    wait = store.wait(ID, VERIFIKASI) or {}
    assert wait.get("token") == "tok-02-lagi" and "claimed_token" not in wait
    assert verifikasi(world, "e1") == "duplicate"  # SQS redelivers it: it was taken
    assert handed(callbacks.outputs) == [("tok-02", "e1")]


def test_a_record_by_hand_link_noted_while_its_event_is_delivered_is_stopped() -> None:
    """The deliverer read the waiter before its record-by-hand link was noted on it, and
    claims it after: the claim, made on the waiter as read, loses, reads it again and
    takes it with the link, which the hand-over then stops."""
    store = RacingStore()
    world = started(World(store=store))
    world.wait(18, KOMITMEN, "tok-18")
    digest = world.manual(tasks.Kind.RECORD, event=KOMITMEN)
    store.rival["update_wait"] = lambda: events.remember_manual_ticket(
        store, ID, KOMITMEN, digest, now=NOW
    )
    assert komitmen(world, "e1") == "delivered"
    assert status(world, digest) == tasks.Status.SUPERSEDED
    assert handed(world.callbacks.outputs) == [("tok-18", "e1")]


def test_a_record_by_hand_ticket_issued_after_its_event_is_superseded_at_once() -> None:
    world = started(World())
    world.wait(18, KOMITMEN, "tok-18")
    assert komitmen(world) == "delivered"
    digest = world.manual(tasks.Kind.RECORD, event=KOMITMEN)
    events.remember_manual_ticket(world.store, ID, KOMITMEN, digest, now=NOW)
    assert status(world, digest) == tasks.Status.SUPERSEDED


# -- the Operator's tasks by hand ---------------------------------------------------------


def by_hand(world: World, link: str, **fields: str) -> tasks.Page:
    """The Operator's answer on a by-hand task's page."""
    return world.post(link, nip=OPERATOR, decision="done", **fields)


def test_an_upload_by_hand_completes_step_17_with_its_receipt_and_is_audited() -> None:
    world = started(World())
    world.manual(tasks.Kind.UPLOAD, token="tok-17")
    link = world.mailer.last_ticket(0)
    page = by_hand(world, link, **UPLOADED)
    assert page.status == 200 and "Berita Acara Pemenuhan Komitmen" in page.html
    ((token, output),) = world.callbacks.outputs
    operator = ROSTER.by_nip(OPERATOR)
    assert (token, output) == (
        "tok-17",
        {"unggah": "manual", "id_unggah": "TT-2026-77", "oleh": operator.nama, "nip": OPERATOR},
    )
    kept = world.store.step_data(ID, 17)
    assert kept["nomor_tanda_terima"] == "TT-2026-77" and kept["nip"] == OPERATOR
    (entry,) = [e for e in world.store.audit(ID) if e["action"] == "bap.uploaded"]
    assert "TT-2026-77" in entry["note"] and entry["bukti"] == "Tangkapan layar SIINAS."
    assert world.post(link, nip=OPERATOR, decision="done").status == 409  # once


def test_an_upload_by_hand_whose_answer_was_lost_is_audited_with_its_decision() -> None:
    """SendTaskSuccess took the upload and its answer was lost: the history says it went on,
    and the trail gets the upload's `bap.uploaded` beside `task.decided`, as when answered."""
    world = started(World())
    playing(world, FailingCallbacks(failures=1, through=True))
    world.manual(tasks.Kind.UPLOAD, token="tok-17")
    page = by_hand(world, world.mailer.last_ticket(0), **UPLOADED)
    assert page.status == 200 and TAKEN_ALL_THE_SAME in page.html
    decided = world.store.actions()[-2:]
    assert decided == ["task.decided", "bap.uploaded"]


def test_an_event_recorded_by_hand_reaches_the_waiting_state_as_the_operator_s() -> None:
    world = started(World())
    world.wait(18, KOMITMEN, "tok-18")
    digest = world.manual(tasks.Kind.RECORD, event=KOMITMEN)
    events.remember_manual_ticket(world.store, ID, KOMITMEN, digest, now=NOW)
    link = world.mailer.last_ticket(0)
    page = by_hand(world, link, **RECORDED)
    assert page.status == 200 and "tercatat (delivered)" in page.html
    (event,) = world.store.events(ID, KOMITMEN)
    assert event["recorded_by"] == OPERATOR and event["event_id"].startswith("manual-")
    assert event["status"] == "applied" and status(world, digest) == tasks.Status.DECIDED
    assert [token for token, _ in world.callbacks.outputs] == ["tok-18"]
    (received,) = [e for e in world.store.audit(ID) if e["action"] == "event.received"]
    assert received["recorded_by"] == OPERATOR
    assert record(world)["status"] != "TERHENTI"


def test_a_move_of_a_task_decided_meanwhile_moves_nothing() -> None:
    world = started(World())
    first = len(world.mailer.sent)
    reminded = world.issue(4, reminders=1)
    link = world.mailer.last_ticket()
    assert link != reminded and len(world.mailer.sent) == first + 2
    assert world.post(reminded, nip=OPERATOR, decision="done").status == 200
    world.cookies = ()  # the Kasi's own browser
    page = world.post(link, nip=KASI.nip, decision="done", petugas=OPERATOR)
    assert page.status == 410
    assert "task.reassigned" not in world.store.actions()
    assert [token for token, _ in world.callbacks.outputs] == ["token-1"]


# -- the second factor, and a hand-over that fails ------------------------------------------


def test_the_right_nip_without_a_code_decides_nothing_and_costs_no_attempt() -> None:
    world = started(World())
    ticket = world.issue(4)
    page = world.post(ticket, nip=OPERATOR, decision="done", kode="")
    assert page.status == 403 and "NIP saja tidak cukup" in page.html
    refused = world.store.audit(ID)[-1]
    assert (refused["action"], refused["reason"]) == ("task.refused", "tanpa_kode")
    assert ticket_of(world, ticket)["status"] == tasks.Status.OPEN
    assert ticket_of(world, ticket).get("wrong_nips", 0) == 0
    assert world.post(ticket, nip=OPERATOR, decision="done").status == 200


def test_a_wrong_code_counts_toward_the_lock_as_a_wrong_nip_does() -> None:
    world = started(World())
    ticket = world.issue(4)
    page = world.post(ticket, nip=OPERATOR, decision="done", kode="000000")
    assert page.status == 403 and world.callbacks.outputs == []
    assert ticket_of(world, ticket)["wrong_nips"] == 1
    assert world.store.actions()[-1] == "task.wrong_code"


def test_a_link_that_is_no_ticket_is_not_found_and_touches_nothing() -> None:
    world = started(World())
    before = world.store.actions()
    for link in ("../etc/passwd", "x" * 500, ""):
        assert tasks.show_task(tasks.Request(link), world.ctx()).status == 404
    assert world.store.actions() == before


def test_a_hand_over_that_fails_reopens_the_ticket_for_another_try() -> None:
    callbacks = FailingCallbacks(failures=1)
    world = started(World())
    world.callbacks = callbacks  # type: ignore[assignment]
    ticket = world.issue(4)
    with pytest.raises(RuntimeError, match="Throttling"):
        world.post(ticket, nip=OPERATOR, decision="done")
    assert ticket_of(world, ticket)["status"] == tasks.Status.OPEN
    # The decision's entry, written with the claim, is retracted: the trail keeps both and
    # shows neither as a decision; the application is the officer's again.
    decided, not_taken = world.store.trail[-2:]
    assert (decided["action"], not_taken["action"]) == ("task.decided", "task.not_taken")
    assert not_taken["retracts"] == decided["decision_id"]
    assert "task.decided" not in [e["action"] for e in world.store.audit(ID)]
    application = world.store.application(ID) or {}
    assert application["open_ticket"] == ticket_hash(ticket)
    assert application["holder"]["nip"] == OPERATOR
    world.now += timedelta(seconds=30)  # its code was spent on the failed try: the next one
    assert world.post(ticket, nip=OPERATOR, decision="done").status == 200
    assert [token for token, _ in callbacks.outputs] == ["token-1"]
    assert [e["action"] for e in world.store.audit(ID)].count("task.decided") == 1


class ParkedThenFailing(SpentTokens):
    """The execution parked while SendTaskSuccess was under way, which then failed."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        later = (self.world.now + timedelta(seconds=1)).isoformat()
        self.world.store.update_application(
            ID, {"status": "TERHENTI", "updated_at": later}, remove=("open_ticket",)
        )
        raise RuntimeError("ThrottlingException")


def test_a_failed_hand_over_gives_no_holder_back_to_an_application_parked_meanwhile() -> None:
    world = started(World())
    playing(world, ParkedThenFailing(world))
    ticket = world.issue(4)
    with pytest.raises(RuntimeError, match="Throttling"):
        world.post(ticket, nip=OPERATOR, decision="done")
    application = world.store.application(ID) or {}
    assert application["status"] == "TERHENTI" and "open_ticket" not in application
    assert application["holder"]["role"] == "sistem"
    assert ticket_of(world, ticket)["status"] == tasks.Status.OPEN
    assert world.store.actions()[-1] == "task.not_taken"


class RetriedAfterLostAnswer(SpentTokens):
    """SendTaskSuccess took the decision, its answer was lost, and the SDK's retry of the
    call found the token spent: TaskGone, though the state took it."""

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        super().succeed(token, output)
        raise events.TaskGone("TaskTimedOut")


def test_a_decision_taken_by_a_hand_over_s_first_try_stands_when_its_retry_meets_gone() -> None:
    world = started(World())
    playing(world, RetriedAfterLostAnswer())
    ticket = world.issue(4)
    page = world.post(ticket, nip=OPERATOR, decision="done")
    assert page.status == 200 and TAKEN_ALL_THE_SAME in page.html
    assert ticket_of(world, ticket)["status"] == tasks.Status.DECIDED
    actions = [e["action"] for e in world.store.audit(ID)]
    assert actions.count("task.decided") == 1 and "task.too_late" not in actions


def test_a_decision_whose_answer_was_lost_stands_and_is_not_reopened() -> None:
    """SendTaskSuccess took the decision and its answer was lost: the execution's history
    says the step went on, so the ticket stays decided, the trail gets `task.decided`, and
    the officer sees the decision taken, not an error to try again (which could only meet
    "too late", a changed mind saved beside the decision the execution went on with)."""
    world = started(World())
    callbacks = playing(world, FailingCallbacks(failures=1, through=True))
    ticket = world.issue(4)
    page = world.post(ticket, nip=OPERATOR, decision="done")
    assert page.status == 200 and TAKEN_ALL_THE_SAME in page.html
    assert ticket_of(world, ticket)["status"] == tasks.Status.DECIDED
    assert world.store.actions().count("task.decided") == 1
    assert "task.too_late" not in world.store.actions()
    world.now += timedelta(seconds=30)
    assert world.post(ticket, nip=OPERATOR, decision="done").status == 409  # decided
    assert [token for token, _ in callbacks.outputs] == ["token-1"]


class KilledAfterHandOver(SpentTokens):
    """Step Functions took the decision, and the function died before it wrote anything more."""

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        super().succeed(token, output)
        raise Killed


def test_a_decision_taken_keeps_its_trail_entry_when_the_function_dies_right_after() -> None:
    """The decision's entry and the application's holder are written with the claim, before
    Step Functions is told: a kill right after SendTaskSuccess loses neither."""
    world = started(World())
    playing(world, KilledAfterHandOver())
    ticket = world.issue(4)
    with pytest.raises(Killed):
        world.post(ticket, nip=OPERATOR, decision="done")
    assert ticket_of(world, ticket)["status"] == tasks.Status.DECIDED
    decided = [e for e in world.store.audit(ID) if e["action"] == "task.decided"]
    assert [(e["step"], e["nip"], e["decision"]) for e in decided] == [(4, OPERATOR, "done")]
    application = world.store.application(ID) or {}
    assert application["holder"]["role"] == "sistem" and "open_ticket" not in application


def test_a_decision_step_functions_refuses_is_retracted_not_erased() -> None:
    """The state gone (the execution stopped): the ticket expires, and the trail keeps the
    decision's entry with `task.too_late` retracting it; what reads the trail sees no
    decision (`Store.audit`), the audit export sees both."""
    world = started(World())
    callbacks = GoneTokens()
    playing(world, callbacks)
    ticket = world.issue(4)
    callbacks.gone.add(ticket_of(world, ticket)["task_token"])
    assert world.post(ticket, nip=OPERATOR, decision="done").status == 410
    decided, too_late = world.store.audit_as_written(ID)[-2:]
    assert (decided["action"], too_late["action"]) == ("task.decided", "task.too_late")
    assert too_late["retracts"] == decided["decision_id"] and too_late["decision"] == "done"
    effective = [e["action"] for e in world.store.audit(ID)]
    assert "task.decided" not in effective and effective[-1] == "task.too_late"
    # The holder the claim took is given back; the expired ticket holds nothing.
    application = world.store.application(ID) or {}
    assert application["holder"]["nip"] == OPERATOR and "open_ticket" not in application


def test_a_holder_that_moved_since_the_page_read_it_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The POST read the application held by its ticket; by the claim, it no longer is (the
    park took `open_ticket` away): the claim is made again without the holder, which the
    decision then leaves as it found it, and the decision's entry is written once."""
    world = started(World())
    ticket = world.issue(4)
    digest = ticket_hash(ticket)
    world.store.update_application(ID, {"holder": {"role": "admin"}}, remove=("open_ticket",))
    read = world.store.application
    monkeypatch.setattr(
        world.store, "application", lambda id_izin: {**(read(id_izin) or {}), "open_ticket": digest}
    )
    assert world.post(ticket, nip=OPERATOR, decision="done").status == 200
    monkeypatch.undo()
    assert (world.store.application(ID) or {})["holder"] == {"role": "admin"}
    assert [e["action"] for e in world.store.trail].count("task.decided") == 1


# -- the open task from the workspace (/meja/tugas/{id_izin}): the session is the factor ----


def signed_in_as(world: World, nip: str) -> None:
    """The browser carries a session of this officer (as after /masuk)."""
    _, cookie = sessions.start_session(world.ctx().auth, ROSTER.by_nip(nip))
    world.cookies = (cookie.split(";", 1)[0],)


def own(world: World, **form: str) -> tasks.Page:
    """The workspace's page of the application's open task: GET, or POST with a form."""
    request = tasks.Request("", form={k: [v] for k, v in form.items()}, cookies=world.cookies)
    if form:
        return tasks.decide_own_task(request, world.ctx(), ID)
    return tasks.show_own_task(request, world.ctx(), ID)


def test_the_workspace_s_task_page_needs_a_session_and_shows_no_secret() -> None:
    world = started(World())
    ticket = world.issue(4)
    assert own(world).status == 303 and own(world).headers["location"] == "/masuk"
    assert own(world, decision="done").status == 401
    signed_in_as(world, OPERATOR)
    page = own(world)
    assert page.status == 200 and ticket not in page.html  # found by hash, never by secret
    csrf = str(ticket_of(world, ticket)["csrf"])
    assert own(world, decision="done", csrf=csrf).status == 200
    assert [token for token, _ in world.callbacks.outputs] == ["token-1"]
    assert own(world).status == 404  # decided: no open task left


def test_another_officer_s_session_neither_sees_nor_decides_the_task() -> None:
    world = started(World())
    ticket = world.issue(4)
    signed_in_as(world, KASI.nip)
    assert own(world).status == 403
    csrf = str(ticket_of(world, ticket)["csrf"])
    assert own(world, decision="done", csrf=csrf).status == 403
    refusals = [e for e in world.store.audit(ID) if e["action"] == "task.refused"]
    assert [e["reason"] for e in refusals] == ["bukan_penerima_tugas"] * 2
    assert world.callbacks.outputs == []


# -- moving open tasks (a Plh named, an officer back from leave) -------------------------


def move_operator_s_tasks(world: World, to: str) -> list[str]:
    """Hand the Operator's open tasks to `to`, acting for the Operator."""
    operator = ROSTER.by_nip(OPERATOR)
    return move_open_tasks(
        lambda holder: holder.get("nip") == OPERATOR,
        to,
        by={"nama": KASI.nama, "nip": KASI.nip},
        reason="Cuti.",
        behalf={
            "jenis": "Plh",
            "delegation": "d-1",
            "nama": operator.nama,
            "nip": OPERATOR,
            "role": operator.role.value,
            "jabatan": operator.jabatan,
        },
        action="task.delegated",
        **world.issuer(),
    )


def test_a_plh_named_takes_the_holder_s_open_task_and_only_that() -> None:
    world = started(World())
    ticket = world.issue(4)
    assert move_operator_s_tasks(world, KASI.nip) == [ID]
    assert status(world, ticket_hash(ticket)) == tasks.Status.SUPERSEDED
    moved = world.store.ticket(str(record(world)["open_ticket"])) or {}
    assert moved["assignee"]["nip"] == KASI.nip and moved["atas_nama"]["nip"] == OPERATOR
    assert moved["task_token"] == "token-1"  # the same waiting state
    assert "task.delegated" in world.store.actions()
    assert move_operator_s_tasks(world, KASI.nip) == []  # the Kasi holds it now


def test_a_hand_over_reads_the_open_applications_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every open one however old (the open applications' index), and nothing of the
    finished ones: it read every application (the newest 5000) before."""
    world = started(World())
    world.issue(4)
    read: list[str] = []
    listed = world.store.listed

    def reading(index_pk: str, limit: int, *, until: str = "") -> list[dict[str, Any]]:
        read.append(index_pk)
        return listed(index_pk, limit, until=until)

    monkeypatch.setattr(world.store, "listed", reading)
    assert move_operator_s_tasks(world, KASI.nip) == [ID]
    assert read == ["OPEN"]


def test_a_task_decided_or_an_application_parked_meanwhile_is_not_moved() -> None:
    world = started(World())
    ticket = world.issue(4)
    world.store.update_ticket(ticket_hash(ticket), {"status": tasks.Status.DECIDED})
    assert move_operator_s_tasks(world, KASI.nip) == []
    world.store.update_application(ID, {"status": "TERHENTI"})
    assert move_operator_s_tasks(world, KASI.nip) == []
    assert status(world, ticket_hash(ticket)) == tasks.Status.DECIDED


def test_a_task_moves_only_to_an_officer_of_its_role_unless_for_someone() -> None:
    world = started(World())
    ticket = world.issue(4)
    with pytest.raises(ValueError, match="does not hold the role"):
        tasks.reassign_task(
            ticket_hash(ticket), KASI.nip, by={"nama": KASI.nama, "nip": KASI.nip}, **world.issuer()
        )
    assert status(world, ticket_hash(ticket)) == tasks.Status.OPEN
