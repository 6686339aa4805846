"""Webhooks from OSS and SIINAS (CONTRACT §1): verified, validated, deduplicated, queued.

Nothing is acknowledged that is not durably queued, and nothing refused is queued. The
answer's status is chosen here from the kind of refusal, never from an error's text.

Order of the checks: size (413), signature headers and timestamp (401), signature (401),
JSON and envelope (400), type (422), the type's data (400), then the delivery record
(200 duplicate) and the queue (202). A sender learns nothing of the body's validity
before its signature holds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from izin.event_types import event_type, types_of
from izin.events import InboundEvent
from izin.observability import logger

MAX_BODY = 256 * 1024
MAX_SKEW_SECONDS = 300
DELIVERY_TTL = timedelta(days=14)
SOURCES = ("oss", "siinas")
# Every status a refusal is answered with (the alarm on refusals watches each of them).
REFUSAL_STATUSES = frozenset({400, 401, 404, 413, 422})


@dataclass(frozen=True)
class Answer:
    """The webhook's HTTP answer."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        """Whether the delivery was refused (nothing queued)."""
        return self.status >= 400


class Queue(Protocol):
    """The inbound queue."""

    def send(self, message: dict[str, Any]) -> None:
        """Queue one message durably, or raise."""


class DeliveryStore(Protocol):
    """What a delivery record needs of the store (izin.store.Store has it)."""

    def put_delivery(self, source: str, event_id: str, fields: dict[str, Any]) -> bool:
        """Record a webhook delivery, once; False if that event was delivered before."""


class Envelope(BaseModel):
    """The body every webhook shares."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    event_id: str = Field(min_length=1, max_length=128, pattern=r"^[\w.:\-]+$")
    type: str = Field(min_length=1, max_length=64)
    occurred_at: datetime
    data: dict[str, Any]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Signature a sender computes: sha256= HMAC-SHA256 of "{timestamp}.{body}"."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def unknown_source(source: str) -> Answer:
    """The answer to a POST on /webhooks/{source} for a source we do not know."""
    return Answer(404, {"error": "unknown_source", "source": source, "known": list(SOURCES)})


def _refuse_constant(name: str) -> None:
    """JSON has no NaN or Infinity (Python's parser takes them): no store can keep them."""
    raise ValueError(f"{name} is not a JSON number")


def _json_problem(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error)


def _field_errors(error: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    return [
        {"field": prefix + ".".join(str(p) for p in e["loc"]), "error": e["msg"]}
        for e in error.errors()
    ]


def _invalid(fields: list[dict[str, str]]) -> Answer:
    return Answer(400, {"error": "invalid_body", "fields": fields})


def receive(
    source: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    now: datetime,
    store: DeliveryStore,
    queue: Queue,
    max_skew_seconds: int = MAX_SKEW_SECONDS,
) -> Answer:
    """Check one delivery and queue it; the answer says what became of it."""
    if len(body) > MAX_BODY:
        return Answer(413, {"error": "payload_too_large", "limit_bytes": MAX_BODY})
    headers = {name.lower(): value for name, value in headers.items()}
    timestamp = headers.get("x-timestamp", "").strip()
    sent_signature = headers.get("x-signature", "").strip()
    if not timestamp or not sent_signature:
        return Answer(401, {"error": "signature_missing"})
    try:
        skew = abs(now.timestamp() - int(timestamp))
    except (ValueError, OverflowError):  # not a number, or past what a float holds
        return Answer(401, {"error": "timestamp_invalid"})
    if skew > max_skew_seconds:
        return Answer(401, {"error": "timestamp_stale", "max_skew_seconds": max_skew_seconds})
    if not hmac.compare_digest(
        signature(secret, timestamp, body).encode(), sent_signature.encode()
    ):
        return Answer(401, {"error": "signature_invalid"})
    try:
        document = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError, JSONDecodeError too
        return Answer(400, {"error": "invalid_json", "detail": _json_problem(error)})
    if not isinstance(document, dict):
        return _invalid([{"field": "", "error": "must be a JSON object"}])
    try:
        envelope = Envelope.model_validate(document)
    except ValidationError as error:
        return _invalid(_field_errors(error))
    if headers.get("x-event-id", "") != envelope.event_id:
        return _invalid([{"field": "event_id", "error": "must equal the X-Event-Id header"}])
    kind = event_type(source, envelope.type)
    if kind is None:
        known = types_of(source)
        return Answer(422, {"error": "unknown_type", "type": envelope.type, "known": known})
    try:
        data = kind.model.model_validate(envelope.data)
    except ValidationError as error:
        return _invalid(_field_errors(error, "data."))
    logger.set_correlation_id(str(data.model_dump().get("id_izin", "")))
    # What is queued is what was validated (normalized text, defaults filled in): the
    # inbound function validates it again with the same model and stores exactly that.
    accepted = envelope.model_copy(update={"data": data.model_dump(mode="json")})
    return record_and_queue(source, accepted, store=store, queue=queue, now=now)


def record_and_queue(
    source: str,
    envelope: Envelope,
    *,
    store: DeliveryStore,
    queue: Queue,
    now: datetime,
    record: Mapping[str, Any] | None = None,
    recorded_by: str = "",
) -> Answer:
    """Record the delivery, then queue its event: 202, or 200 duplicate when the event was
    delivered before. A repeat is queued again, as the inbound function applies an event
    once: so a delivery that died between its record and its queue is never lost, and a
    delivery costs one write. `record` is kept with the delivery's record (what the sender
    sent that the event does not hold); `recorded_by` says who took the event, when not its
    sender's own push."""
    first = store.put_delivery(
        source,
        envelope.event_id,
        {
            **(record or {}),
            "received_at": now.isoformat(),
            "expires_at": int((now + DELIVERY_TTL).timestamp()),
        },
    )
    message = InboundEvent(
        source=source,
        event_id=envelope.event_id,
        type=envelope.type,
        occurred_at=envelope.occurred_at,
        data=envelope.data,
        recorded_by=recorded_by,
    )
    queue.send(message.model_dump(mode="json"))
    return Answer(202, {"status": "accepted"}) if first else Answer(200, {"status": "duplicate"})
