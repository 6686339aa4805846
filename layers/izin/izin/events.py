"""Events from OSS and SIINAS, applied to their application (SOP steps 1–3, 18, 19–20).

OSS's `permohonan.diajukan` starts the application's execution, once, whatever the order
or the repeats. Every other event is kept as an item of the application, and handed to the
state that waits for it (`WAIT#…`, registered by the await-event function). Whichever comes
first, the event or the wait, the second one delivers; a conditional write on the waiter
makes sure a waiting state gets exactly one event, and an event is applied once. An event
for an application not started yet simply waits for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from izin import sop
from izin.callbacks import Handovers, TaskGone
from izin.event_types import EVENTS, START, Source
from izin.models import IzinStatus, Permohonan, execution_name
from izin.observability import logger
from izin.sla import record_clock
from izin.store import ConditionFailed, Store
from izin.tickets import supersede


class InboundEvent(BaseModel):
    """A webhook event as queued for the inbound function."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    source: Source
    event_id: str = Field(min_length=1, max_length=128)
    type: str
    occurred_at: datetime
    data: dict[str, Any]
    # An officer's NIP when recorded by hand (manual fallback); reconcile.RECORDED_BY when
    # OSS's checkLicenseStatus said it.
    recorded_by: str = ""

    @property
    def key(self) -> str:
        """ "siinas:verifikasi.diajukan"."""
        return f"{self.source}:{self.type}"


# A waiter (None: none) and the events of its kind, as one read found them (Store.rendezvous).
Found = tuple[Mapping[str, Any] | None, list[dict[str, Any]]]


class Executions(Protocol):
    """Starts an application's workflow."""

    def start(self, name: str, state: dict[str, Any]) -> bool:
        """Start an execution with this name; False when one already has it."""


def initial_state(permohonan: Permohonan) -> dict[str, Any]:
    """The execution's input: the application's identity and the slots its states fill."""
    return {
        "id_izin": permohonan.id_izin,
        "nib": permohonan.nib,
        "perusahaan": permohonan.perusahaan.nama,
        "sla": {"step": 0, "reminders": 0},
        "batas": {"step": 0, "late": 0},
        "documents": {},
    }


def apply_event(
    event: InboundEvent,
    *,
    store: Store,
    executions: Executions,
    callbacks: Handovers,
    now: datetime,
) -> str:
    """Apply one event; returns what happened ("started", "delivered", "kept", …)."""
    data = EVENTS[event.key].model.model_validate(event.data)
    if event.key == START.key:
        assert isinstance(data, Permohonan)
        return start_application(data, event, store=store, executions=executions, now=now)
    id_izin = str(data.model_dump()["id_izin"])
    if isinstance(data, IzinStatus) and data.moves_the_clock:
        # Not the outcome step 19 waits for: OSS stopped or restarted the SLA's clock.
        kept = record_clock(
            store, id_izin, data.kd_status, event.event_id, at=event.occurred_at, now=now
        )
        return "clock" if kept else "duplicate"
    fields = {
        "event_id": event.event_id,
        "source": event.source,
        "type": event.type,
        "status": "pending",
        "data": data.model_dump(mode="json"),
        "received_at": now.isoformat(),
        "recorded_by": event.recorded_by,
    }
    received = {
        "action": "event.received",
        "actor": event.source.upper(),
        "type": event.type,
        "event_id": event.event_id,
        "recorded_by": event.recorded_by,
    }

    def keep(known: bool) -> None:
        """The event kept, once, with the trail's entry of it when the application is known
        (the check and the writes as one: no read before)."""
        with store.together() as batch:
            if known:
                batch.require_application(id_izin)
            batch.keep_event(
                id_izin, event.key, event.occurred_at.isoformat(), event.event_id, fields
            )
            if known:
                batch.append_audit(id_izin, received, now=now)

    # Read first: when the way is clear, the event is kept with what it meets in one write.
    read = store.rendezvous(id_izin, event.key)
    if any(e.get("event_id") == event.event_id for e in read[1]):
        # Kept before (a redelivery): what is left is a claim to finish, as read.
        delivered = deliver_pending(store, callbacks, id_izin, event.key, now=now, found=read)
        return "delivered" if delivered else "duplicate"
    met = _keep_meeting(store, callbacks, event, id_izin, fields, received, read, now=now)
    if met is not None:
        return met
    try:
        keep(known=True)
        fresh = True
    except ConditionFailed:  # kept before (a redelivery), or an application not yet known
        try:  # (SIINAS's event first): kept without a trail, which its application starts
            keep(known=False)
            fresh = True
        except ConditionFailed:  # kept before: a redelivery
            fresh = False
    delivered = deliver_pending(store, callbacks, id_izin, event.key, now=now)
    return "delivered" if delivered else ("kept" if fresh else "duplicate")


def start_application(
    permohonan: Permohonan,
    event: InboundEvent,
    *,
    store: Store,
    executions: Executions,
    now: datetime,
) -> str:
    """Record the application and start its execution, each at most once."""
    step = sop.step(START.sop_step)
    # The record and its trail's first entry, as one; none when received before.
    with contextlib.suppress(ConditionFailed), store.together() as batch:
        batch.create_application(
            permohonan.id_izin,
            {
                "id_izin": permohonan.id_izin,
                "data": permohonan.model_dump(mode="json"),
                "status": "PROSES",
                "current_step": step.number,
                "step_name": step.state_name,
                "holder": {"role": "pemohon", "nama": permohonan.perusahaan.nama, "nip": ""},
                "created_at": now.isoformat(),
                "updated_at": now.isoformat(),
            },
        )
        batch.append_audit(
            permohonan.id_izin,
            {
                "action": "application.received",
                "step": step.number,
                "actor": "OSS",
                "event_id": event.event_id,
                "note": "permohonan Izin Perluasan diterima dari OSS",
            },
            now=now,
        )
    # Started before, its mark may still be due: the start's deliverer was killed between
    # StartExecution and the mark (the mark below is written once, whoever gets there).
    executions.start(execution_name(permohonan.id_izin), initial_state(permohonan))
    # Events that came before the application existed join its trail with its start.
    pending = [e for e in store.events(permohonan.id_izin) if e.get("status") == "pending"]
    # Deliveries applied at once may each see their start succeed (StartExecution is
    # idempotent for the same name and input): only the first to mark it reports it.
    try:
        with store.together() as batch:
            batch.mark_started(permohonan.id_izin, {"started_at": now.isoformat()})
            batch.append_audit(
                permohonan.id_izin,
                {
                    "action": "execution.started",
                    "actor": "sistem",
                    "execution": execution_name(permohonan.id_izin),
                },
                now=now,
            )
            for kept in pending:
                batch.append_audit(
                    permohonan.id_izin,
                    {
                        "action": "event.received",
                        "actor": kept["source"].upper(),
                        "type": kept["type"],
                        "event_id": kept["event_id"],
                    },
                    now=now,
                )
    except ConditionFailed:
        return "duplicate"
    return "started"


def register_wait(
    store: Store,
    callbacks: Handovers,
    *,
    id_izin: str,
    step: int,
    event_key: str,
    token: str,
    execution: str,
    now: datetime,
) -> bool:
    """A state waits for an event: keep its token, and deliver an event already here.

    `execution`: the waiting execution's ARN, whose history tells, if a hand-over to it is
    ever left unconfirmed, whether the event reached it. A wait registered again (it was
    late, or continues in a new execution) keeps the Operator's record-by-hand link it had.

    A first wait (no waiter of its kind holds a token or a claim: none was ever registered,
    or the last one was delivered) is one write, on that condition; any other is read first.
    """
    fresh = {"token": token, "step": step, "since": now.isoformat(), "execution": execution}
    try:
        _write_wait(store, id_izin, event_key, fresh, step=step, now=now, first=True)
        waiting = fresh
    except ConditionFailed:
        earlier = store.wait(id_izin, event_key) or {}
        waiting = _going_on(store, callbacks, id_izin, event_key, earlier, fresh, now=now)
        _write_wait(store, id_izin, event_key, waiting, step=step, now=now)
    return deliver_pending(store, callbacks, id_izin, event_key, now=now, wait=waiting)


def _going_on(
    store: Store,
    callbacks: Handovers,
    id_izin: str,
    event_key: str,
    earlier: Mapping[str, Any],
    fresh: Mapping[str, Any],
    *,
    now: datetime,
) -> dict[str, Any]:
    """The waiter to write over `earlier`, one holding a token or a claim."""
    token = fresh["token"]
    claim = earlier.get("claimed_token")
    goes_on = "token" in earlier or claim == token
    if claim and claim != token:
        goes_on = not _release_claim(store, callbacks, id_izin, event_key, earlier, now=now)
    # A wait that goes on (late, or in a new execution) keeps its start and its link.
    kept = {k: earlier[k] for k in ("manual_ticket", "since") if earlier.get(k) and goes_on}
    waiting = {**fresh, **kept}
    if claim == token:  # this very state again (its invocation retried): finish its claim
        del waiting["token"]
        waiting |= {k: earlier[k] for k in ("claimed_token", "claimed_event")}
    return waiting


def _write_wait(
    store: Store,
    id_izin: str,
    event_key: str,
    waiting: Mapping[str, Any],
    *,
    step: int,
    now: datetime,
    first: bool = False,
) -> None:
    """The token kept and the record saying what it waits for, as one; only then are the
    events already here read (an event kept meanwhile finds the token). `first`: only where
    no waiter holds a token or a claim (ConditionFailed otherwise), and what a delivered
    waiter kept is dropped, as a put over it would."""
    source = event_key.split(":", 1)[0]
    with store.together() as batch:
        if first:
            batch.update_wait(
                id_izin,
                event_key,
                dict(waiting),
                expect={"token": None, "claimed_token": None},
                remove=("manual_ticket", "claimed_event"),
            )
        else:
            batch.put_wait(id_izin, event_key, dict(waiting))
        batch.update_application(
            id_izin,
            {
                "status": f"MENUNGGU_{source.upper()}",
                "current_step": step,
                "step_name": sop.step(step).state_name,
                "holder": {"role": source, "nama": source.upper(), "nip": ""},
                "updated_at": now.isoformat(),
            },
            remove=("deadline",),
        )


def _keep_meeting(
    store: Store,
    callbacks: Handovers,
    event: InboundEvent,
    id_izin: str,
    fields: dict[str, Any],
    received: dict[str, Any],
    read: Found,
    *,
    now: datetime,
) -> str | None:
    """The event kept in one write with what it meets, when the waiter and the events `read`
    leave the way clear: a waiter holding a token is claimed for it in that write (the event
    kept applied) and handed it; with none, the write holds only while no waiter holds a
    token or a claim, so a wait registered since the read (it wrote, then read no event) is
    met the general way. None: the way was not clear, or the write was refused for what it
    expected; nothing written. Either way, an event and its waiter always meet."""
    wait, kept = read
    if (wait and wait.get("claimed_token")) or any(e.get("status") == "pending" for e in kept):
        return None  # a claim to finish, or an older event first: the general way
    meets = wait if wait and wait.get("token") else None
    stored = {**fields, **_applied(now)} if meets else fields
    occurred = event.occurred_at.isoformat()
    try:
        with store.together() as batch:
            batch.require_application(id_izin)
            batch.keep_event(id_izin, event.key, occurred, event.event_id, stored)
            batch.append_audit(id_izin, received, now=now)
            if meets:
                claimed = _claim(batch, id_izin, event.key, meets, event.event_id)
            else:
                batch.require_idle_wait(id_izin, event.key)
    except ConditionFailed:
        return None
    if not meets:
        return "kept"
    handed = _hand_over(store, callbacks, id_izin, event.key, claimed, stored, now=now)
    return "delivered" if handed else "kept"


def deliver_pending(
    store: Store,
    callbacks: Handovers,
    id_izin: str,
    event_key: str,
    *,
    now: datetime,
    wait: Mapping[str, Any] | None = None,
    found: Found | None = None,
) -> bool:
    """Hand the oldest pending event to the waiting state, if both are there; once.

    The deliverer claims the waiter (its token becomes `claimed_token`, naming the event)
    and marks the event applied, in one write, then hands it over. A deliverer may be
    killed at any point (a Lambda past its timeout), or fail, or race a duplicate of its
    event: the claim stays until the hand-over is confirmed, by SendTaskSuccess's answer
    or the execution's history, and whoever confirms it settles the claim and writes the
    trail's entry, once. The event's redelivery (SQS again, the console's redrive) finishes
    a claim; the next wait of its kind decides one left unconfirmed (register_wait).
    `wait`: the waiter as the caller has just written it (else it is read); `found`: the
    waiter and the events of its kind as the caller has just read them.
    """
    for _ in range(2):  # a claim lost to a waiter changed since it was read: read it again
        delivered = _deliver(store, callbacks, id_izin, event_key, now=now, wait=wait, found=found)
        if delivered is not None:
            return delivered
        wait, found = None, None
    return False


def _deliver(
    store: Store,
    callbacks: Handovers,
    id_izin: str,
    event_key: str,
    *,
    now: datetime,
    wait: Mapping[str, Any] | None,
    found: Found | None = None,
) -> bool | None:
    """`deliver_pending` once; None: the claim's write lost (another deliverer took the
    token, the event was applied meanwhile, or the waiter changed since it was read)."""
    if found is not None:
        wait, kept = found
    elif wait is None:
        wait, kept = store.rendezvous(id_izin, event_key)
    else:
        kept = store.events(id_izin, event_key)
    if wait and wait.get("claimed_token"):
        return _finish_claim(store, callbacks, id_izin, event_key, wait, kept, now=now)
    if not wait or not wait.get("token"):
        return False
    pending = [e for e in kept if e.get("status") == "pending"]
    if not pending:
        return False
    event = pending[0]
    try:  # the waiter claimed and the event applied, as one: one deliverer wins the token
        with store.together() as batch:
            claimed = _claim(batch, id_izin, event_key, wait, str(event["event_id"]))
            batch.set_event(event, _applied(now), expect={"status": "pending"})
    except ConditionFailed:
        return None
    return _hand_over(store, callbacks, id_izin, event_key, claimed, event, now=now)


def _claim(
    batch: Store, id_izin: str, event_key: str, wait: Mapping[str, Any], event_id: str
) -> dict[str, Any]:
    """In a together() block: the waiter, as read, claimed for the event (its token becomes
    `claimed_token`); the waiter as the claim leaves it. As read: its token, and its
    record-by-hand link (noted once a wait is registered), which the hand-over's
    confirmation stops."""
    token = str(wait["token"])
    named = {"claimed_event": event_id, "claimed_token": token}
    read = {"token": token, "manual_ticket": wait.get("manual_ticket")}
    batch.update_wait(id_izin, event_key, named, expect=read, remove=("token",))
    return {**{k: v for k, v in wait.items() if k != "token"}, **named}


def _applied(now: datetime) -> dict[str, Any]:
    """What an event applied keeps of it."""
    return {"status": "applied", "applied_at": now.isoformat()}


def _finish_claim(
    store: Store,
    callbacks: Handovers,
    id_izin: str,
    event_key: str,
    wait: Mapping[str, Any],
    kept: list[dict[str, Any]],
    *,
    now: datetime,
) -> bool:
    """Finish a hand-over someone claimed and did not see through (killed, failed, or still
    at it): mark the event if its deliverer did not, and hand it over (`kept`: the events of
    its kind)."""
    token = str(wait["claimed_token"])
    event = _claimed(kept, wait)
    if event is None:
        return False
    if event.get("status") == "pending" and not _mark_applied(
        store, id_izin, event_key, event, token, now
    ):
        return False  # another redelivery is finishing it, or a new wait took the claim over
    return _hand_over(store, callbacks, id_izin, event_key, wait, event, now=now)


def _hand_over(
    store: Store,
    callbacks: Handovers,
    id_izin: str,
    event_key: str,
    wait: Mapping[str, Any],
    event: dict[str, Any],
    *,
    now: datetime,
) -> bool:
    """SendTaskSuccess with a claimed waiter's token: the event handed over, and confirmed.

    TaskGone: the token was spent (a duplicate of this event finished the claim first) or
    its state is gone (timed out, stopped, continued in a new execution). The execution's
    history tells which once it records the hand-over; until then, nothing is undone: the
    claim stays for the next wait of its kind to decide. Any other error leaves the claim
    as well (the answer may be lost after Step Functions took the event): the event's
    redelivery finishes it. True: this call confirmed the hand-over."""
    token = str(wait["claimed_token"])
    try:
        callbacks.succeed(token, event_output(event_key, event))
    except TaskGone:
        if wait.get("execution") and callbacks.received(wait["execution"], event["event_id"]):
            return _confirm(store, id_izin, event_key, wait, event, now=now)
        logger.warning(
            "hand-over not confirmed: the next wait decides", extra={"event_id": event["event_id"]}
        )
        return False
    _confirm(store, id_izin, event_key, wait, event, now=now)
    return True


def _release_claim(
    store: Store,
    callbacks: Handovers,
    id_izin: str,
    event_key: str,
    wait: Mapping[str, Any],
    *,
    now: datetime,
) -> bool:
    """A claim left unconfirmed, found by a new wait for the same event: the claimed
    token's state is over, so its execution's history now holds the whole truth. Handed
    over (the execution went on, and is here again through a loop: step 03's TIDAK, or step
    04's incomplete file back to 02), the event stays taken and the claim is confirmed;
    never handed, the event is pending again, for the new wait. True: it was taken (the new
    wait is a new one, not the old one going on)."""
    event = _claimed(store.events(id_izin, event_key), wait)
    if event is None or event.get("status") != "applied":
        return False  # still pending: its deliverer never marked it, the new wait gets it
    if wait.get("execution") and callbacks.received(wait["execution"], event["event_id"]):
        if _confirm(store, id_izin, event_key, wait, event, now=now):
            logger.warning(
                "an unconfirmed hand-over's event was taken: the new wait waits for another",
                extra={"event_id": event["event_id"]},
            )
        return True
    try:
        with store.together() as batch:
            batch.set_event(event, {"status": "pending"}, expect={"status": "applied"})
            _settle(batch, id_izin, event_key, str(wait["claimed_token"]))
    except ConditionFailed:  # settled meanwhile by whoever confirmed it
        return False
    logger.warning(
        "an unconfirmed hand-over's event goes to the new wait",
        extra={"event_id": event["event_id"]},
    )
    return False


def _claimed(events: list[dict[str, Any]], wait: Mapping[str, Any]) -> dict[str, Any] | None:
    """The event a waiter's claim names, among `events` (None: not among them)."""
    return next((e for e in events if e["event_id"] == wait.get("claimed_event")), None)


def _mark_applied(
    store: Store, id_izin: str, event_key: str, event: dict[str, Any], token: str, now: datetime
) -> bool:
    """The event applied, if it is still pending and the claim on `token` still stands
    (False: someone else applied it, or a new wait released the claim)."""
    try:
        with store.together() as batch:
            batch.set_event(event, _applied(now), expect={"status": "pending"})
            named = {"claimed_event": event["event_id"]}
            batch.update_wait(id_izin, event_key, named, expect={"claimed_token": token, **named})
    except ConditionFailed:
        return False
    return True


def _settle(store: Store, id_izin: str, event_key: str, token: str) -> None:
    """The hand-over is over: the waiter keeps no claim (a newer wait is left alone)."""
    store.update_wait(
        id_izin,
        event_key,
        {},
        expect={"claimed_token": token},
        remove=("claimed_token", "claimed_event"),
    )


def remember_manual_ticket(
    store: Store, id_izin: str, event_key: str, ticket_hash: str, *, now: datetime
) -> None:
    """Keep the Operator's record-by-hand ticket with the wait; stop it if the event came first."""
    try:
        store.update_wait(
            id_izin,
            event_key,
            {"manual_ticket": ticket_hash},
            present=("token",),
        )
    except ConditionFailed:
        supersede(store, ticket_hash, now=now, by="event")


def mark_events_seen(store: Store) -> int:
    """Give every event of an open application its id's marker where it has none (kept
    before the markers existed), so that the event sent again with another `occurred_at`
    (OSS's reconciliation) is a duplicate: once, after the deploy that brought them (`izin
    backfill-open`). How many were marked."""
    return sum(
        store.mark_event_seen(str(a["id_izin"]), f"{e['source']}:{e['type']}", str(e["event_id"]))
        for a in store.open_applications()
        for e in store.events(str(a["id_izin"]))
    )


def event_output(event_key: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """What the waiting state receives: the event's decision-relevant fields only."""
    data = event["data"]
    return {"event_id": event["event_id"], **{f: data[f] for f in EVENTS[event_key].result_fields}}


def _confirm(
    store: Store,
    id_izin: str,
    event_key: str,
    wait: Mapping[str, Any],
    event: Mapping[str, Any],
    *,
    now: datetime,
) -> bool:
    """A hand-over confirmed: what the record keeps of the event, the trail's entry and the
    claim settled, as one, and the Operator's record-by-hand link stopped. Written only while
    the claim stands, so once whoever confirms it (False: someone else did)."""
    data = event["data"]
    kind = EVENTS[event_key]
    kept = {name: data[name] for name in kind.kept if data.get(name)}
    try:
        with store.together() as batch:
            if kept:
                batch.update_application(id_izin, kept)
            batch.append_audit(
                id_izin,
                {
                    "action": "event.applied",
                    "step": kind.sop_step,
                    "actor": event["source"].upper(),
                    "type": event["type"],
                    "event_id": event["event_id"],
                    "note": kind.audit_note(data),
                },
                now=now,
            )
            _settle(batch, id_izin, event_key, str(wait["claimed_token"]))
    except ConditionFailed:
        return False
    supersede(store, wait.get("manual_ticket"), now=now, by=f"event:{event['event_id']}")
    return True
