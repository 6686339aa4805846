"""The console's incidents beyond TERHENTI (issue #15): messages in the dead-letter queues,
each with Redrive, and waits on SIINAS or OSS past their threshold, each with the
Operator's record-by-hand link (re-sent on request).

The DLQs shown are the last stop of each integration (template.yaml): InboundDeadLetterQueue
(webhook events the inbound function could not apply), SiinasFallbackDeadLetterQueue (a
BAP upload whose manual fallback failed as well; SiinasDeadLetterQueue itself is consumed
by that fallback) and OssDeadLetterQueue (receiveLicenseStatus calls). Redrive moves ONE
message back to the queue of the worker it was meant for (InboundQueue, SiinasQueue,
OssQueue): SQS's StartMessageMoveTask moves a whole queue, so the message is received,
sent to the source and deleted (send before delete: at least once; every worker is
idempotent on the body).

Peeking never loses a message: what is received is held only for HOLD_SECONDS and handed
back at once (ChangeMessageVisibility 0), in a `finally`; a function that dies in between
leaves the messages to reappear when the hold ends. The DLQs have no consumer of their
own, so a receive counts against nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from izin import sop
from izin.calendar import HolidayCalendar, working_seconds_between
from izin.events import remember_manual_ticket
from izin.risk import day_seconds
from izin.settings import Settings
from izin.sla import DEFAULT_EVENT_LATE_DAYS
from izin.store import Item, Store
from izin.tickets import supersede

# How long a peeked message stays hidden if the hand-back fails (then it reappears).
HOLD_SECONDS = 20
# The messages one DLQ shows (and searches for the one to redrive) at most.
MAX_MESSAGES = 50
# Where a redriven message keeps the moment it was first queued (the OSS status's time).
FIRST_SENT = "izin-first-sent"

Raw = Mapping[str, Any]  # an SQS message as ReceiveMessage returns it


@dataclass(frozen=True)
class DeadLetterQueue:
    """One DLQ, and the queue its messages go back to."""

    key: str  # "inbound" | "siinas" | "oss"
    title: str
    url: str
    source_url: str


def dead_letter_queues(config: Settings) -> list[DeadLetterQueue]:
    """The DLQs of this stack that the function's environment names."""
    queues = [
        DeadLetterQueue(
            "inbound",
            "Peristiwa masuk (webhook OSS/SIINAS)",
            config.inbound_dlq_url,
            config.inbound_queue_url,
        ),
        DeadLetterQueue(
            "siinas", "Unggah BAP ke SIINAS", config.siinas_dlq_url, config.siinas_queue_url
        ),
        DeadLetterQueue(
            "oss", "Status ke OSS (receiveLicenseStatus)", config.oss_dlq_url, config.oss_queue_url
        ),
    ]
    return [q for q in queues if q.url and q.source_url]


class DeadLetters(Protocol):
    """Reads a DLQ without consuming it, and moves one message out of it."""

    def peek(self, url: str) -> Sequence[Raw]:
        """The queue's messages (at most MAX_MESSAGES), left in the queue."""

    def move(self, url: str, to_url: str, message_id: str) -> Raw | None:
        """Move one message to `to_url`; None when it is not (or no longer) in `url`."""


class SqsDeadLetters:
    """DeadLetters on SQS: receive with a short hold, hand back what is not moved."""

    def __init__(self, sqs: Any) -> None:
        self.sqs = sqs

    def peek(self, url: str) -> list[Raw]:
        with self._held(url) as held:
            return list(held)

    def move(self, url: str, to_url: str, message_id: str) -> Raw | None:
        with self._held(url, until=message_id) as held:
            found = next((m for m in held if m["MessageId"] == message_id), None)
            if found is None:
                return None
            self.sqs.send_message(
                QueueUrl=to_url, MessageBody=found["Body"], MessageAttributes=carried(found)
            )
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=found["ReceiptHandle"])
            held.remove(found)
            return found

    @contextmanager
    def _held(self, url: str, until: str = "") -> Iterator[list[Raw]]:
        """The queue's messages, each hidden until the block ends, then handed back."""
        held: list[Raw] = []
        try:
            while len(held) < MAX_MESSAGES and not any(m["MessageId"] == until for m in held):
                got = self.sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=min(10, MAX_MESSAGES - len(held)),
                    VisibilityTimeout=HOLD_SECONDS,
                    WaitTimeSeconds=0,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not got:
                    break
                held += got
            yield held
        finally:
            for message in held:
                with suppress(Exception):  # it reappears when the hold ends anyway
                    self.sqs.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )


def carried(message: Raw) -> dict[str, Any]:
    """The message attributes a redriven message keeps, with the moment first queued."""
    attributes = {
        name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    sent = str((message.get("Attributes") or {}).get("SentTimestamp", ""))
    if FIRST_SENT not in attributes and sent:
        attributes[FIRST_SENT] = {"DataType": "Number", "StringValue": sent}
    return attributes


@dataclass(frozen=True)
class DeadMessage:
    """One DLQ message as the console shows it (never its body: a task token is a secret)."""

    queue: str
    message_id: str
    id_izin: str
    what: str
    receives: int
    sent_at: datetime | None
    error: str


def _body(message: Raw) -> dict[str, Any]:
    try:
        body = json.loads(str(message.get("Body", "")))
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def describe(queue: str, message: Raw, store: Store) -> DeadMessage:
    """A message in words: its application, what it was to do, why it failed."""
    body = _body(message)
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    id_izin = str(body.get("id_izin") or (data or {}).get("id_izin") or "")
    attributes = message.get("Attributes") or {}
    receives = int(attributes.get("ApproximateReceiveCount", 0) or 0)
    first = (message.get("MessageAttributes") or {}).get(FIRST_SENT, {}).get("StringValue")
    stamp = first or attributes.get("SentTimestamp")
    sent_at = datetime.fromtimestamp(int(stamp) / 1000, UTC) if stamp else None
    if queue == "inbound":
        what = f"peristiwa {str(body.get('source', '')).upper()} {body.get('type', '?')}"
    elif queue == "siinas":
        what = f"unggah BAP ke SIINAS (langkah {sop.step_with(sop.Upload).number})"
    else:
        what = f"status ke OSS ({body.get('milestone', '?')})"
    return DeadMessage(
        queue,
        str(message["MessageId"]),
        id_izin,
        what,
        receives,
        sent_at,
        _error(queue, id_izin, store),
    )


def _error(queue: str, id_izin: str, store: Store) -> str:
    """Why the message failed, from the application's trail where it says."""
    if not id_izin:
        return "Pesan tanpa ID izin: isinya tidak terbaca oleh fungsi penerimanya."
    if queue == "inbound":
        return (
            "Peristiwa tidak dapat diterapkan pada permohonan setelah semua percobaan "
            "(penyebab rinci di log InboundFunction)."
        )
    failures = [e for e in store.audit(id_izin) if e.get("action") == f"{queue}.call_failed"]
    if queue == "siinas":
        prefix = "Unggah ke SIINAS gagal, lalu tugas manual Operator pun gagal dibuka"
    else:
        prefix = "OSS tidak menerima status"
    if not failures:
        return f"{prefix}."
    last = failures[-1]
    return f"{prefix}: percobaan ke-{last.get('attempt', '?')} gagal, {last.get('reason', '')}."


def dead_messages(
    dead_letters: DeadLetters, queues: Iterable[DeadLetterQueue], store: Store
) -> list[tuple[DeadLetterQueue, list[DeadMessage]]]:
    """Each DLQ with its messages, described."""
    return [(q, [describe(q.key, m, store) for m in dead_letters.peek(q.url)]) for q in queues]


class NotInQueue(LookupError):
    """The message to redrive is not (or no longer) in its DLQ."""


def redrive(
    dead_letters: DeadLetters,
    queue: DeadLetterQueue,
    message_id: str,
    *,
    store: Store,
    by: Mapping[str, str],
    now: datetime,
) -> DeadMessage:
    """Move one message back to its source queue, and keep who did it in the trail."""
    moved = dead_letters.move(queue.url, queue.source_url, message_id)
    if moved is None:
        raise NotInQueue(message_id)
    shown = describe(queue.key, moved, store)
    if shown.id_izin and store.application(shown.id_izin):
        store.append_audit(
            shown.id_izin,
            {
                "action": "dlq.redriven",
                "actor": by["nama"],
                "nip": by["nip"],
                "queue": queue.key,
                "message_id": message_id,
                "note": f"{shown.what} dikirim ulang dari DLQ oleh {by['nama']}",
            },
            now=now,
        )
    return shown


# -- waits on SIINAS or OSS past their threshold -------------------------------------------


@dataclass(frozen=True)
class LateWait:
    """An application waiting on SIINAS or OSS longer than EventLateDays allows."""

    id_izin: str
    company: str
    step: int
    source: str  # "SIINAS" | "OSS"
    event_key: str
    since: datetime
    days_waited: float
    late_after: float
    sent_to: str  # who the record-by-hand link went to ("" if none yet)
    sent_at: str


def event_key_of(step: int) -> str:
    """The event a step waits for ("siinas:komitmen.terpenuhi"); "" for no wait."""
    return next((f.event for f in sop.step(step).flow if isinstance(f, sop.AwaitEvent)), "")


def late_waits(
    store: Store,
    waiting: Iterable[Mapping[str, Any]],
    *,
    now: datetime,
    calendar: HolidayCalendar,
    config: Settings,
) -> list[LateWait]:
    """The waiting applications past their step's threshold, longest wait first."""
    found = []
    for application in waiting:
        step = int(application.get("current_step") or 0)
        key = event_key_of(step) if 1 <= step <= len(sop.STEPS) else ""
        wait = store.wait(str(application["id_izin"]), key) if key else None
        if not wait or not wait.get("token") or not wait.get("since"):
            continue
        since = datetime.fromisoformat(str(wait["since"]))
        if config.workday_seconds:
            waited = (now - since).total_seconds() / config.workday_seconds
        else:
            waited = working_seconds_between(since, now, calendar) / day_seconds()
        late_after = config.event_late_days.get(step, DEFAULT_EVENT_LATE_DAYS)
        if waited < late_after:
            continue
        ticket = store.ticket(str(wait["manual_ticket"])) if wait.get("manual_ticket") else None
        assignee = (ticket or {}).get("assignee") or {}
        sent_to = f"{assignee['nama']} <{assignee['email']}>" if assignee.get("email") else ""
        data = application.get("data") or {}
        found.append(
            LateWait(
                id_izin=str(application["id_izin"]),
                company=str((data.get("perusahaan") or {}).get("nama", "")),
                step=step,
                source=key.split(":", 1)[0].upper(),
                event_key=key,
                since=since,
                days_waited=round(waited, 2),
                late_after=late_after,
                sent_to=sent_to,
                sent_at=str((ticket or {}).get("created_at", "")),
            )
        )
    found.sort(key=lambda w: w.since)
    return found


class NotWaiting(LookupError):
    """The application no longer waits on SIINAS or OSS."""


IssueRecordLink = Callable[[str, str], str]  # (id_izin, event_key) -> the new ticket's hash


def resend_record_link(
    id_izin: str,
    *,
    store: Store,
    issue: IssueRecordLink,
    by: Mapping[str, str],
    now: datetime,
) -> str:
    """Email the Operator a new record-by-hand link; the old one stops working (410)."""
    application = store.application(id_izin) or {}
    step = int(application.get("current_step") or 0)
    key = event_key_of(step) if 1 <= step <= len(sop.STEPS) else ""
    wait = store.wait(id_izin, key) if key else None
    if not wait or not wait.get("token"):
        raise NotWaiting(id_izin)
    digest = issue(id_izin, key)
    supersede(store, wait.get("manual_ticket"), now=now, by=digest)
    remember_manual_ticket(store, id_izin, key, digest, now=now)
    store.append_audit(
        id_izin,
        {
            "action": "event.link_resent",
            "step": step,
            "actor": by["nama"],
            "nip": by["nip"],
            "note": f"tautan pencatatan manual {key} dikirim ulang ke Operator oleh {by['nama']}",
        },
        now=now,
    )
    return digest


def waiting(applications: Iterable[Item]) -> list[Item]:
    """The applications waiting on SIINAS or OSS."""
    return [a for a in applications if str(a.get("status", "")).startswith("MENUNGGU_")]
