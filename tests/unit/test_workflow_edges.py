"""The edges of the rendezvous and of the officers' tasks that the main suite does not reach:
deliverers that race, a waiting state's adapter that fails, the Operator's by-hand tasks.

On the in-memory store (it honours conditions as DynamoDB does), in milliseconds; a race is
played out by a store that lets the rival act at the one moment the race is decided.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from izin import events, sessions, tasks
from izin.memory_store import MemoryStore
from izin.tasks.issue import move_open_tasks
from izin.tickets import ticket_hash
from izin_local import samples

from tests.unit.test_workflow_logic import (
    ID,
    KASI,
    NOW,
    OPERATOR,
    ROSTER,
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
    """The in-memory store, with a rival that acts once, just before the named write."""

    def __init__(self) -> None:
        super().__init__()
        self.rival: dict[str, Callable[[], object]] = {}

    def _rival_before(self, method: str) -> None:
        act = self.rival.pop(method, None)
        if act is not None:
            act()

    def update_wait(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._rival_before("update_wait")
        return super().update_wait(*args, **kwargs)

    def set_event(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._rival_before("set_event")
        return super().set_event(*args, **kwargs)


class FailingCallbacks:
    """Step Functions that answers with an error (throttled, say) before it works again."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.outputs: list[tuple[str, dict[str, Any]]] = []

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("ThrottlingException")
        self.outputs.append((token, output))


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


# -- deliverers that race -----------------------------------------------------------------


def test_of_two_deliverers_racing_for_one_waiter_only_one_hands_it_the_event() -> None:
    store = RacingStore()
    world = started(World(store=store))
    world.wait(18, KOMITMEN, "tok-18")
    # The rival (another worker delivering the same waiter) claims it first.
    store.rival["update_wait"] = lambda: events.deliver_pending(
        store, world.callbacks, ID, KOMITMEN, now=NOW
    )
    assert komitmen(world) == "kept"  # this worker's claim lost: the rival delivered it
    assert [token for token, _ in world.callbacks.outputs] == ["tok-18"]
    assert store.actions().count("event.applied") == 1


def test_an_event_applied_meanwhile_gives_the_waiter_back_its_token_for_the_next() -> None:
    store = RacingStore()
    world = started(World(store=store))
    world.wait(18, KOMITMEN, "tok-18")

    def applied_elsewhere() -> None:
        (event,) = store.events(ID, KOMITMEN)
        store.set_event(event, {"status": "applied"})

    store.rival["set_event"] = applied_elsewhere
    assert komitmen(world, "e1") == "kept"  # kept, not delivered: someone else applied it
    assert world.callbacks.outputs == []
    assert (store.wait(ID, KOMITMEN) or {}).get("token") == "tok-18"
    assert komitmen(world, "e2") == "delivered"  # the waiter still takes the next one
    assert handed(world.callbacks.outputs) == [("tok-18", "e2")]


def test_a_failing_hand_over_leaves_event_and_waiter_as_they_were_for_a_retry() -> None:
    callbacks = FailingCallbacks(failures=1)
    world = started(World())
    world.callbacks = callbacks  # type: ignore[assignment]
    world.wait(18, KOMITMEN, "tok-18")
    with pytest.raises(RuntimeError, match="Throttling"):
        komitmen(world, "e1")  # SQS redelivers: Retry sees the error unwrapped
    assert pending_events(world) == ["e1"]
    assert (world.store.wait(ID, KOMITMEN) or {}).get("token") == "tok-18"
    assert "event.applied" not in world.store.actions()
    assert komitmen(world, "e1") == "delivered"  # the redelivery: a duplicate, yet delivered
    assert handed(callbacks.outputs) == [("tok-18", "e1")]
    assert pending_events(world) == []


class Killed(BaseException):
    """Lambda ending a worker past its timeout: nothing after it runs, no handler catches it."""


def _kill() -> None:
    raise Killed


class SpentTokens:
    """Step Functions' callbacks: a token hands over once; again, it is gone (TaskGone)."""

    def __init__(self) -> None:
        self.outputs: list[tuple[str, dict[str, Any]]] = []
        self.kill_after_next = False

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        if token in [t for t, _ in self.outputs]:
            raise events.TaskGone(token)
        self.outputs.append((token, output))
        if self.kill_after_next:
            self.kill_after_next = False
            raise Killed


@pytest.mark.parametrize("killed_at", ["claimed", "applied", "handed_over"])
def test_a_deliverer_killed_mid_hand_over_is_finished_by_the_event_s_redelivery(
    killed_at: str,
) -> None:
    """The bench's 200 applications found two stranded at step 02: InboundFunction timed out
    after claiming the waiter, the token went with it, and every redelivery found no token.
    Now the claim keeps the token until the hand-over is over."""
    store, callbacks = RacingStore(), SpentTokens()
    world = started(World(store=store))
    world.callbacks = callbacks  # type: ignore[assignment]
    world.wait(18, KOMITMEN, "tok-18")
    if killed_at == "claimed":  # before the event is marked applied
        store.rival["set_event"] = _kill
    elif killed_at == "applied":  # before Step Functions hears of it
        original = store.set_event

        def applied_then_killed(*args: Any, **kwargs: Any) -> dict[str, Any]:
            original(*args, **kwargs)
            raise Killed

        store.set_event = applied_then_killed  # type: ignore[method-assign]
    else:  # after the hand-over, before the claim is settled
        callbacks.kill_after_next = True
    with pytest.raises(Killed):
        komitmen(world, "e1")
    store.__dict__.pop("set_event", None)
    assert komitmen(world, "e1") == "delivered"  # SQS redelivers the same event
    assert handed(callbacks.outputs) == [("tok-18", "e1")]  # handed over once
    assert pending_events(world) == []
    assert store.actions().count("event.applied") == 1
    wait = store.wait(ID, KOMITMEN) or {}
    assert "token" not in wait and "claimed_token" not in wait
    assert komitmen(world, "e1") == "duplicate"  # and nothing more happens after


def test_a_wait_registered_after_an_unfinished_hand_over_gets_the_claimed_event() -> None:
    """The deliverer was killed after marking the event applied, and the state it claimed
    is gone before the event's redelivery (a new execution, or the wait started again):
    the new wait gets the event, and the old claim is dropped."""
    store, callbacks = RacingStore(), SpentTokens()
    world = started(World(store=store))
    world.callbacks = callbacks  # type: ignore[assignment]
    world.wait(18, KOMITMEN, "tok-18")
    original = store.set_event

    def applied_then_killed(*args: Any, **kwargs: Any) -> dict[str, Any]:
        original(*args, **kwargs)
        raise Killed

    store.set_event = applied_then_killed  # type: ignore[method-assign]
    with pytest.raises(Killed):
        komitmen(world, "e1")
    store.__dict__.pop("set_event", None)
    assert world.wait(18, KOMITMEN, "tok-18-lanjut") is True  # delivered at once
    assert handed(callbacks.outputs) == [("tok-18-lanjut", "e1")]
    wait = store.wait(ID, KOMITMEN) or {}
    assert "token" not in wait and "claimed_token" not in wait
    assert komitmen(world, "e1") == "duplicate"  # its redelivery: nothing more


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


def test_an_event_claimed_never_handed_and_whose_state_is_gone_waits_for_the_next_wait() -> None:
    """The deliverer was killed after claiming the waiter, before marking the event applied;
    the state is gone before the event's redelivery. The redelivery must not take Step
    Functions' TaskGone for a hand-over done: the event is pending again and the next wait
    is handed it."""
    store, callbacks = RacingStore(), GoneTokens()
    world = started(World(store=store))
    world.callbacks = callbacks  # type: ignore[assignment]
    world.wait(18, KOMITMEN, "tok-18")
    store.rival["set_event"] = _kill
    with pytest.raises(Killed):
        komitmen(world, "e1")
    callbacks.gone.add("tok-18")
    assert komitmen(world, "e1") == "duplicate"  # kept before; nothing to hand it to
    assert pending_events(world) == ["e1"]
    assert "event.applied" not in store.actions()
    assert world.wait(18, KOMITMEN, "tok-18-baru") is True
    assert handed(callbacks.outputs) == [("tok-18-baru", "e1")]
    assert store.actions().count("event.applied") == 1


class ReplacedDuringHandOver(SpentTokens):
    """Step Functions takes the event, and meanwhile a newer waiter (its token unclaimed)
    replaces the one the deliverer claimed."""

    def __init__(self, store: RacingStore) -> None:
        super().__init__()
        self.store = store

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        super().succeed(token, output)
        self.store.put_wait(ID, KOMITMEN, {"token": "tok-newer", "step": 18})


def test_a_hand_over_whose_waiter_was_replaced_still_writes_its_trail_entry() -> None:
    """The trail's entry and the settled claim are written as one; when the claim is gone
    (a newer waiter replaced it), the entry is written alone and the newer waiter kept."""
    store = RacingStore()
    world = started(World(store=store))
    world.callbacks = ReplacedDuringHandOver(store)  # type: ignore[assignment]
    world.wait(18, KOMITMEN, "tok-18")
    assert komitmen(world, "e1") == "delivered"
    assert handed(world.callbacks.outputs) == [("tok-18", "e1")]
    assert store.actions().count("event.applied") == 1
    assert (store.wait(ID, KOMITMEN) or {}).get("token") == "tok-newer"


def test_an_event_handed_over_before_its_deliverer_was_killed_is_not_handed_again() -> None:
    """The deliverer handed the event over and was killed before writing so; the execution
    went on (step 04 found the file incomplete) and waits at step 02 again: that wait finds
    the old claim, yet the event was taken, so it waits for a new one. The trail gets the
    hand-over's entry it missed."""
    store, callbacks = RacingStore(), SpentTokens()
    world = started(World(store=store))
    world.callbacks = callbacks  # type: ignore[assignment]
    world.wait(2, VERIFIKASI, "tok-02")
    callbacks.kill_after_next = True
    with pytest.raises(Killed):
        world.event("siinas", "verifikasi.diajukan", samples.verifikasi(ID), "e1")
    world.issue(4, token="tok-04")  # the execution went on to the Operator's step 04
    assert world.wait(2, VERIFIKASI, "tok-02-lagi") is False  # back at 02: waits
    assert handed(callbacks.outputs) == [("tok-02", "e1")]  # handed over once
    assert store.actions().count("event.applied") == 1
    wait = store.wait(ID, VERIFIKASI) or {}
    assert wait.get("token") == "tok-02-lagi" and "claimed_token" not in wait
    # SQS redelivers the event: it was taken, nothing more happens.
    assert world.event("siinas", "verifikasi.diajukan", samples.verifikasi(ID), "e1") == (
        "duplicate"
    )
    assert handed(callbacks.outputs) == [("tok-02", "e1")]


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
    assert "task.decided" not in world.store.actions()
    world.now += timedelta(seconds=30)  # its code was spent on the failed try: the next one
    assert world.post(ticket, nip=OPERATOR, decision="done").status == 200
    assert [token for token, _ in callbacks.outputs] == ["token-1"]


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
