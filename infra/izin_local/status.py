"""`izin status [ID] [--json]`: applications, their step, who holds it, time against the SLA.

Beside them, the webhook events that could not be applied and sit in the inbound DLQ (the
alarm InboundDeadLetterAlarm rings for them): under their application, or as a row of
their own when their application never came to be (a permohonan that failed).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from izin.calendar import HolidayCalendar, working_seconds_between
from izin.models import execution_name

DEAD_LETTER_QUEUE = "InboundDeadLetterQueue"  # the template's logical id, in the queue's name


def use_endpoint(endpoint_url: str) -> None:
    """Talk to this AWS endpoint (the local runtime's), unless the environment says otherwise.

    An empty endpoint means AWS itself, with the machine's own credentials and region.
    """
    if not endpoint_url:
        return
    os.environ.setdefault("AWS_ENDPOINT_URL", endpoint_url)
    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-southeast-3")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")


class TableNotFound(LookupError):
    """No table was named, and not exactly one at the endpoint is the runtime's."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"no one table ending in IzinTable among {names}")
        self.names = names


def find_table(table: str | None) -> str:
    """The table: named, or the one whose name ends in IzinTable."""
    if table:
        return table
    import boto3

    names = boto3.client("dynamodb").list_tables()["TableNames"]
    matches = [n for n in names if n.endswith("IzinTable")]
    if len(matches) != 1:
        raise TableNotFound(names)
    return matches[0]


def sla_text(deadline: str | None, now: datetime, calendar: HolidayCalendar) -> str:
    """Time against the SLA in working hours: "sisa 5,5 jam kerja" or "lewat 2,0 jam kerja"."""
    if not deadline:
        return "-"
    seconds = working_seconds_between(now, datetime.fromisoformat(deadline), calendar)
    hours = f"{abs(seconds) / 3600:.1f}".replace(".", ",")
    return f"sisa {hours} jam kerja" if seconds >= 0 else f"lewat {hours} jam kerja"


def summary(item: dict[str, Any], now: datetime, calendar: HolidayCalendar) -> dict[str, Any]:
    """What `izin status` shows of one application."""
    holder = item.get("holder") or {}
    return {
        "id_izin": item.get("id_izin"),
        "execution": item.get("execution") or execution_name(str(item.get("id_izin") or "")),
        "perusahaan": (item.get("data") or {}).get("perusahaan", {}).get("nama"),
        "status": item.get("status"),
        "current_step": item.get("current_step"),
        "step_name": item.get("step_name"),
        "holder": holder.get("nama"),
        "holder_role": holder.get("role"),
        "deadline": item.get("deadline"),
        "sla": sla_text(item.get("deadline"), now, calendar),
        "outcome": item.get("outcome"),
        "reason": item.get("reason"),
        # TERHENTI: the execution and the state that failed, where `izin resume` starts again.
        "parked_in": item.get("parked_in"),
        "sla_breaches": item.get("sla_breaches", 0),
        "updated_at": item.get("updated_at"),
    }


def dead_letters() -> dict[str, list[dict[str, Any]]]:
    """The events in the inbound DLQ, by id_izin, read without taking them off the queue."""
    import boto3

    sqs = boto3.client("sqs")
    urls = [
        url
        for url in sqs.list_queues().get("QueueUrls", [])
        if DEAD_LETTER_QUEUE in url.rsplit("/", 1)[-1]
    ]
    seen: dict[str, Any] = {}
    for url in urls:
        for _ in range(20):  # SQS hands out up to 10 at a time, some again: until none is new
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,  # a look, not a take: each stays on the queue
                AttributeNames=["SentTimestamp"],
            ).get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update((m["MessageId"], m) for m in fresh)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for message in seen.values():
        event = _event_of(message["Body"])
        sent = int(message.get("Attributes", {}).get("SentTimestamp", "0")) / 1000
        event["dead_lettered_at"] = datetime.fromtimestamp(sent, UTC).isoformat()
        by_id.setdefault(str(event.pop("id_izin")), []).append(event)
    return by_id


def _event_of(body: str) -> dict[str, Any]:
    try:
        queued = json.loads(body)
        data = queued.get("data") or {}
        return {
            "id_izin": data.get("id_izin", "?"),
            "source": queued.get("source"),
            "type": queued.get("type"),
            "event_id": queued.get("event_id"),
        }
    except (ValueError, AttributeError):
        return {"id_izin": "?", "source": None, "type": None, "event_id": None}


def print_status(
    id_izin: str | None, *, as_json: bool, endpoint_url: str, table: str | None
) -> int:
    """Print one application (with its audit trail) or all of them."""
    use_endpoint(endpoint_url)
    from izin.store import DynamoStore

    store = DynamoStore(find_table(table))
    now, calendar = datetime.now(UTC), HolidayCalendar.load()
    failed = dead_letters()
    if id_izin:
        item = store.application(id_izin)
        if item is None and id_izin not in failed:
            print(f"izin status: no application {id_izin}", file=sys.stderr)
            return 1
        shown = (summary(item, now, calendar) if item else _unknown(id_izin)) | {
            "dead_letters": failed.get(id_izin, []),
            "audit": store.audit(id_izin),
        }
        if as_json:
            print(json.dumps(shown, indent=2, ensure_ascii=False, default=str))
            return 0
        for key, value in shown.items():
            if key not in ("audit", "dead_letters"):
                print(f"{key:>14}: {value}")
        for event in shown["dead_letters"]:
            print(f"{'DLQ':>14}: {_dead_letter_line(event)}")
        print("         audit:")
        for entry in shown["audit"]:
            print(
                f"  {entry['at']}  langkah {entry.get('step', '-'):>2}  {entry.get('actor', '')}: "
                f"{entry.get('action')} {entry.get('note') or entry.get('decision') or ''}"
            )
        return 0
    rows = [
        summary(item, now, calendar) | {"dead_letters": failed.pop(str(item.get("id_izin")), [])}
        for item in store.applications()
    ]
    # Events whose application does not exist: a permohonan that could not be applied.
    rows += [_unknown(key) | {"dead_letters": events} for key, events in failed.items()]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return 0
    print(f"{'id_izin':<24} {'status':<16} {'langkah':<8} {'pemegang':<28} SLA")
    for row in rows:
        print(
            f"{row['id_izin']:<24} {row['status']:<16} {row['current_step']!s:<8} "
            f"{(row['holder'] or '-')[:28]:<28} {row['sla']}"
        )
        for event in row["dead_letters"]:
            print(f"{'':<24} DLQ  {_dead_letter_line(event)}")
    return 0


def _unknown(id_izin: str) -> dict[str, Any]:
    """The row of an id known only from the DLQ."""
    return {
        "id_izin": id_izin,
        "execution": "-",
        "status": "GAGAL_DITERAPKAN",
        "current_step": "-",
        "holder": None,
        "sla": "-",
    }


def _dead_letter_line(event: dict[str, Any]) -> str:
    return (
        f"{event['source']} {event['type']} {event['event_id']} tidak dapat diterapkan "
        f"(sejak {event['dead_lettered_at']}; lihat log InboundFunction, docs/runbook.md)"
    )
