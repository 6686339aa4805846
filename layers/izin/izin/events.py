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
from izin.callbacks import Callbacks, TaskGone
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
    callbacks: Callbacks,
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
    known = store.application(id_izin) is not None
    try:  # the event kept, once, and the trail's entry of it (for a known application) as one
        with store.together() as batch:
            batch.keep_event(
                id_izin,
                event.key,
                event.occurred_at.isoformat(),
                event.event_id,
                {
                    "event_id": event.event_id,
                    "source": event.source,
                    "type": event.type,
                    "status": "pending",
                    "data": data.model_dump(mode="json"),
                    "received_at": now.isoformat(),
                    "recorded_by": event.recorded_by,
                },
            )
            if known:
                batch.append_audit(
                    id_izin,
                    {
                        "action": "event.received",
                        "actor": event.source.upper(),
                        "type": event.type,
                        "event_id": event.event_id,
                        "recorded_by": event.recorded_by,
                    },
                    now=now,
                )
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
    if not executions.start(execution_name(permohonan.id_izin), initial_state(permohonan)):
        return "duplicate"
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
    callbacks: Callbacks,
    *,
    id_izin: str,
    step: int,
    event_key: str,
    token: str,
    now: datetime,
) -> bool:
    """A state waits for an event: keep its token, and deliver an event already here.

    A wait registered again (it was late, or continues in a new execution) keeps the
    Operator's record-by-hand link it had."""
    earlier = store.wait(id_izin, event_key) or {}
    if earlier.get("claimed_token") and earlier["claimed_token"] != token:
        _release_claim(store, id_izin, event_key, earlier, step, now=now)
    # A wait that goes on (late, or in a new execution) keeps its start and its link.
    kept = {
        k: earlier[k] for k in ("manual_ticket", "since") if earlier.get(k) and "token" in earlier
    }
    waiting = {"token": token, "step": step, "since": now.isoformat(), **kept}
    source = event_key.split(":", 1)[0]
    sop_step = sop.step(step)
    # The token kept and the record saying what it waits for, as one; only then are the
    # events already here read (an event kept meanwhile finds the token).
    with store.together() as batch:
        batch.put_wait(id_izin, event_key, waiting)
        batch.update_application(
            id_izin,
            {
                "status": f"MENUNGGU_{source.upper()}",
                "current_step": step,
                "step_name": sop_step.state_name,
                "holder": {"role": source, "nama": source.upper(), "nip": ""},
                "updated_at": now.isoformat(),
            },
            remove=("deadline",),
        )
    return deliver_pending(store, callbacks, id_izin, event_key, now=now, wait=waiting)


def deliver_pending(
    store: Store,
    callbacks: Callbacks,
    id_izin: str,
    event_key: str,
    *,
    now: datetime,
    wait: Mapping[str, Any] | None = None,
) -> bool:
    """Hand the oldest pending event to the waiting state, if both are there; once.

    A deliverer may be killed at any point (a Lambda past its timeout): its claim keeps the
    token as `claimed_token` until the hand-over is done, and the event's redelivery (SQS
    again, or the console's redrive) finishes what it began. `wait`: the waiter as the
    caller has just written it (else it is read); the claim below holds only if no one has
    claimed it since.
    """
    if wait is None:
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
    token = wait["token"]
    try:  # claim the waiter: only one deliverer wins its token
        claimed = store.update_wait(
            id_izin,
            event_key,
            {"claimed_event": event["event_id"], "claimed_token": token},
            expect={"token": token},
            remove=("token",),
        )
    except ConditionFailed:
        return False
    if not _mark_applied(store, event, now):
        _restore_wait(store, id_izin, event_key, token)
        return False
    try:
        callbacks.succeed(token, event_output(event_key, event))
    except TaskGone:
        _unapply(store, event)
        _settle_claim(store, id_izin, event_key, token)
        logger.warning("waiting state gone; event kept", extra={"event_id": event["event_id"]})
        return False
    except Exception:
        _unapply(store, event)
        _restore_wait(store, id_izin, event_key, token)
        raise
    _after_applied(store, id_izin, event_key, event, token, now=now)
    supersede(store, claimed.get("manual_ticket"), now=now, by=f"event:{event['event_id']}")
    return True


def _finish_claim(
    store: Store,
    callbacks: Callbacks,
    id_izin: str,
    event_key: str,
    wait: Mapping[str, Any],
    kept: list[dict[str, Any]],
    *,
    now: datetime,
) -> bool:
    """Finish a hand-over whose deliverer claimed the waiter and was killed before the end
    (`kept`: the events of its kind)."""
    token = str(wait["claimed_token"])
    event = _claimed(kept, wait)
    if event is None:
        return False
    unmarked = event.get("status") == "pending"  # killed before it marked: it never handed
    if unmarked and not _mark_applied(store, event, now):
        return False  # another redelivery is finishing it
    try:
        callbacks.succeed(token, event_output(event_key, event))
    except TaskGone:
        if unmarked:  # nobody handed it over: the state is gone, the event is the next wait's
            _unapply(store, event)
            _settle_claim(store, id_izin, event_key, token)
            logger.warning("waiting state gone; event kept", extra={"event_id": event["event_id"]})
            return False
        # Handed over before the deliverer was killed (the token is spent), or the state is
        # gone: nothing is left to hand over either way.
        logger.warning("claimed hand-over already done", extra={"event_id": event["event_id"]})
    noted = any(
        entry.get("action") == "event.applied" and entry.get("event_id") == event["event_id"]
        for entry in store.audit(id_izin)
    )
    if noted:
        _settle_claim(store, id_izin, event_key, token)
    else:
        _after_applied(store, id_izin, event_key, event, token, now=now)
    supersede(store, wait.get("manual_ticket"), now=now, by=f"event:{event['event_id']}")
    return True


def _release_claim(
    store: Store,
    id_izin: str,
    event_key: str,
    wait: Mapping[str, Any],
    step: int,
    *,
    now: datetime,
) -> None:
    """A hand-over its deliverer began and never finished, found by a new wait for the same
    event. If the execution went on past this step since (it is back here through a loop:
    step 04's incomplete file returns to 02), the event was handed over before its deliverer
    was killed: it stays taken, and the trail gets the entry the deliverer never wrote.
    Otherwise (the wait timed out, or goes on in a new execution) the event it claimed is
    pending again, for the new waiter."""
    event = _claimed(store.events(id_izin, event_key), wait)
    if event is None or event.get("status") != "applied":
        return
    application = store.application(id_izin) or {}
    if int(application.get("current_step") or 0) > step:
        _after_applied(store, id_izin, event_key, event, str(wait["claimed_token"]), now=now)
        supersede(store, wait.get("manual_ticket"), now=now, by=f"event:{event['event_id']}")
        logger.warning(
            "an unfinished hand-over's event was taken: the new wait waits for another",
            extra={"event_id": event["event_id"]},
        )
        return
    _unapply(store, event)
    logger.warning(
        "an unfinished hand-over's event goes to the new wait",
        extra={"event_id": event["event_id"]},
    )


def _claimed(events: list[dict[str, Any]], wait: Mapping[str, Any]) -> dict[str, Any] | None:
    """The event a waiter's claim names, among `events` (None: not among them)."""
    return next((e for e in events if e["event_id"] == wait.get("claimed_event")), None)


def _mark_applied(store: Store, event: dict[str, Any], now: datetime) -> bool:
    """The event applied, if it is still pending (False: someone else applied it)."""
    try:
        store.set_event(
            event,
            {"status": "applied", "applied_at": now.isoformat()},
            expect={"status": "pending"},
        )
    except ConditionFailed:
        return False
    return True


def _settle_claim(store: Store, id_izin: str, event_key: str, token: str) -> None:
    """The hand-over is over: the waiter keeps no token (a newer wait is left alone)."""
    with contextlib.suppress(ConditionFailed):
        _settle(store, id_izin, event_key, token)


def _settle(store: Store, id_izin: str, event_key: str, token: str) -> None:
    store.update_wait(
        id_izin, event_key, {}, expect={"claimed_token": token}, remove=("claimed_token",)
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


def _restore_wait(store: Store, id_izin: str, event_key: str, token: str) -> None:
    with contextlib.suppress(ConditionFailed):  # a newer wait registered meanwhile
        store.update_wait(
            id_izin,
            event_key,
            {"token": token},
            expect={"token": None, "claimed_token": token},
            remove=("claimed_token", "claimed_event"),
        )


def _unapply(store: Store, event: dict[str, Any]) -> None:
    store.set_event(event, {"status": "pending"}, remove=("applied_at",))


def event_output(event_key: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """What the waiting state receives: the event's decision-relevant fields only."""
    data = event["data"]
    return {"event_id": event["event_id"], **{f: data[f] for f in EVENTS[event_key].result_fields}}


def _after_applied(
    store: Store,
    id_izin: str,
    event_key: str,
    event: Mapping[str, Any],
    token: str,
    *,
    now: datetime,
) -> None:
    """What the record keeps of a handed-over event and the trail's entry, with the claim
    settled, as one; the claim is settled already when a newer wait replaced it."""
    data = event["data"]
    kind = EVENTS[event_key]
    kept = {name: data[name] for name in kind.kept if data.get(name)}
    entry = {
        "action": "event.applied",
        "step": kind.sop_step,
        "actor": event["source"].upper(),
        "type": event["type"],
        "event_id": event["event_id"],
        "note": kind.audit_note(data),
    }

    def record(batch: Store) -> None:
        if kept:
            batch.update_application(id_izin, kept)
        batch.append_audit(id_izin, entry, now=now)

    try:
        with store.together() as batch:
            record(batch)
            _settle(batch, id_izin, event_key, token)
    except ConditionFailed:  # a newer wait replaced the claimed one: nothing to settle
        with store.together() as batch:
            record(batch)
