"""`izin status [ID] [--json]`: applications, their step, who holds it, time against the SLA."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from izin.calendar import HolidayCalendar, working_seconds_between


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
        "sla_breaches": item.get("sla_breaches", 0),
        "updated_at": item.get("updated_at"),
    }


def print_status(
    id_izin: str | None, *, as_json: bool, endpoint_url: str, table: str | None
) -> int:
    """Print one application (with its audit trail) or all of them."""
    use_endpoint(endpoint_url)
    from izin.store import DynamoStore

    store = DynamoStore(find_table(table))
    now, calendar = datetime.now(UTC), HolidayCalendar.load()
    if id_izin:
        item = store.application(id_izin)
        if item is None:
            print(f"izin status: no application {id_izin}", file=sys.stderr)
            return 1
        shown = summary(item, now, calendar) | {"audit": store.audit(id_izin)}
        if as_json:
            print(json.dumps(shown, indent=2, ensure_ascii=False, default=str))
            return 0
        for key, value in shown.items():
            if key != "audit":
                print(f"{key:>14}: {value}")
        print("         audit:")
        for entry in shown["audit"]:
            print(
                f"  {entry['at']}  langkah {entry.get('step', '-'):>2}  {entry.get('actor', '')}: "
                f"{entry.get('action')} {entry.get('note') or entry.get('decision') or ''}"
            )
        return 0
    rows = [summary(item, now, calendar) for item in store.applications()]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return 0
    print(f"{'id_izin':<24} {'status':<16} {'langkah':<8} {'pemegang':<28} SLA")
    for row in rows:
        print(
            f"{row['id_izin']:<24} {row['status']:<16} {row['current_step']!s:<8} "
            f"{(row['holder'] or '-')[:28]:<28} {row['sla']}"
        )
    return 0
