"""Webhooks from OSS and SIINAS (CONTRACT §1): verified, validated, deduplicated, queued.

Nothing is acknowledged that is not durably queued, and nothing refused is queued. The
answer's status is chosen here from the kind of refusal, never from an error's text.
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

from izin.events import EVENT_TYPES, InboundEvent
from izin.store import Store

MAX_BODY = 256 * 1024
DELIVERY_TTL = timedelta(days=14)


@dataclass(frozen=True)
class Answer:
    """The webhook's HTTP answer."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


class Queue(Protocol):
    """The inbound queue."""

    def send(self, message: dict[str, Any]) -> None:
        """Queue one message durably, or raise."""


class Envelope(BaseModel):
    """The body every webhook shares."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(min_length=1, max_length=128, pattern=r"^[\w.:\-]+$")
    type: str = Field(min_length=1, max_length=64)
    occurred_at: datetime
    data: dict[str, Any]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Signature a sender computes: sha256= HMAC-SHA256 of "{timestamp}.{body}"."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _field_errors(error: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    return [
        {"field": prefix + ".".join(str(p) for p in e["loc"]), "error": e["msg"]}
        for e in error.errors()
    ]


def receive(
    source: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    now: datetime,
    store: Store,
    queue: Queue,
    max_skew_seconds: int = 300,
) -> Answer:
    """Check one delivery and queue it; the answer says what became of it."""
    if len(body) > MAX_BODY:
        return Answer(413, {"error": "payload_too_large", "limit_bytes": MAX_BODY})
    timestamp = headers.get("x-timestamp", "")
    sent_signature = headers.get("x-signature", "")
    if not timestamp or not sent_signature:
        return Answer(401, {"error": "signature_missing"})
    try:
        skew = abs(now.timestamp() - int(timestamp))
    except ValueError:
        return Answer(401, {"error": "timestamp_invalid"})
    if skew > max_skew_seconds:
        return Answer(401, {"error": "timestamp_stale", "max_skew_seconds": max_skew_seconds})
    if not hmac.compare_digest(signature(secret, timestamp, body), sent_signature):
        return Answer(401, {"error": "signature_invalid"})
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return Answer(400, {"error": "invalid_json", "detail": str(error)})
    if not isinstance(document, dict):
        return Answer(
            400, {"error": "invalid_body", "fields": [{"field": "", "error": "not an object"}]}
        )
    try:
        envelope = Envelope.model_validate(document)
    except ValidationError as error:
        return Answer(400, {"error": "invalid_body", "fields": _field_errors(error)})
    event_id_header = headers.get("x-event-id", "")
    if event_id_header != envelope.event_id:
        return Answer(
            400,
            {
                "error": "invalid_body",
                "fields": [{"field": "event_id", "error": "must equal the X-Event-Id header"}],
            },
        )
    model = EVENT_TYPES.get((source, envelope.type))
    if model is None:
        known = sorted(t for s, t in EVENT_TYPES if s == source)
        return Answer(422, {"error": "unknown_type", "type": envelope.type, "known": known})
    try:
        model.model_validate(envelope.data)
    except ValidationError as error:
        return Answer(400, {"error": "invalid_body", "fields": _field_errors(error, "data.")})
    return _queue_once(source, envelope, store=store, queue=queue, now=now)


def _queue_once(
    source: str, envelope: Envelope, *, store: Store, queue: Queue, now: datetime
) -> Answer:
    """Queue the event unless this delivery was queued before (200 duplicate)."""
    pk = f"DELIVERY#{source}#{envelope.event_id}"
    first = store.put(
        pk,
        "DELIVERY",
        {
            "status": "pending",
            "received_at": now.isoformat(),
            "expires_at": int((now + DELIVERY_TTL).timestamp()),
        },
        if_absent=True,
    )
    if not first:
        seen = store.get(pk, "DELIVERY") or {}
        if seen.get("status") == "queued":
            return Answer(200, {"status": "duplicate"})
        # Another delivery of it is in flight, or died before queueing: queue it too (the
        # inbound function applies an event once), so a crash never loses it.
    message = InboundEvent(
        source=source,  # type: ignore[arg-type]
        event_id=envelope.event_id,
        type=envelope.type,
        occurred_at=envelope.occurred_at,
        data=envelope.data,
    )
    queue.send(message.model_dump(mode="json"))
    store.update(pk, "DELIVERY", {"status": "queued", "queued_at": now.isoformat()})
    return Answer(202, {"status": "accepted"}) if first else Answer(200, {"status": "duplicate"})
