"""Posting events as OSS and SIINAS would: signed, timestamped, with an event id (CONTRACT §1)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

from izin.webhooks import signature

DEFAULT_SECRETS = {"oss": "local-oss-secret", "siinas": "local-siinas-secret"}


def envelope(
    event_type: str, data: dict[str, Any], *, event_id: str | None = None
) -> dict[str, Any]:
    """A webhook body: event id, type, time of the event, data."""
    return {
        "event_id": event_id or f"evt-{uuid.uuid4().hex}",
        "type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": data,
    }


def post_event(
    base_url: str,
    source: str,
    body: dict[str, Any],
    *,
    secret: str,
    timestamp: int | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST one signed event; returns the status and the JSON answer."""
    raw = json.dumps(body, ensure_ascii=False).encode()
    sent_at = str(timestamp if timestamp is not None else int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - a local or configured URL
        f"{base_url.rstrip('/')}/webhooks/{source}",
        data=raw,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Event-Id": str(body.get("event_id", "")),
            "X-Timestamp": sent_at,
            "X-Signature": signature(secret, sent_at, raw),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
