"""OSS's `checkLicenseStatus` reconciliation (#16): what OSS already decided, applied.

An application waits at step 19 for OSS's `izin.status`. When that webhook is lost or
late, OSS may well have decided already: once a wait is older than a configured number of
hari kerja, ask OSS (PIA's `{"CHECKLICENSESTATUS": {"id_izin"}}`, header `user_key`), and
when OSS says 50 (efektif) or 90 (belum efektif), queue that outcome as the `izin.status`
webhook would be queued: the inbound function applies it, the trail saying it came from
reconciliation. Any other status is left to wait.

PIA's guide spells the answer's key three ways (`responcheckLicenseStatus`,
`responcheckStatusLicense`, `responsecheckStatusLicense`): each is read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from izin import sop
from izin.calendar import HolidayCalendar, working_deadline
from izin.integrations import CallFailed, Http
from izin.observability import logger
from izin.webhooks import DeliveryStore, Envelope, Queue, record_and_queue

ANSWER_KEYS = ("responcheckLicenseStatus", "responcheckStatusLicense", "responsecheckStatusLicense")
# OSS's final statuses (PIA Lampiran 10) and what `izin.status` calls them.
FINAL = {"50": "efektif", "90": "belum_efektif"}
RECORDED_BY = "rekonsiliasi OSS (checkLicenseStatus)"
WAIT_KEY = "oss:izin.status"
# The step that waits for OSS's outcome, as the SOP table says.
WAITING_STEP = next(
    s.number
    for s in sop.STEPS
    for f in s.flow
    if isinstance(f, sop.AwaitEvent) and f.event == WAIT_KEY
)


@dataclass(frozen=True)
class LicenseStatus:
    """What OSS says of one permit."""

    kd_status: str
    uraian: str


@dataclass(frozen=True)
class Checked:
    """One application looked at, and what became of it."""

    id_izin: str
    kd_status: str = ""
    applied: bool = False
    error: str = ""


def check_license_status(http: Http, base_url: str, user_key: str, id_izin: str) -> LicenseStatus:
    """Ask OSS for the permit's status; CallFailed when OSS cannot say."""
    answer = http.post(
        f"{base_url.rstrip('/')}/checkLicenseStatus",
        {"CHECKLICENSESTATUS": {"id_izin": id_izin}},
        {"user_key": user_key},
    )
    if not 200 <= answer.status < 300:
        raise CallFailed(f"OSS answered {answer.status}")
    try:
        document = json.loads(answer.body)
    except ValueError as error:
        raise CallFailed(f"OSS's answer is not JSON: {error}") from error
    reply = _reply(document)
    data = reply.get("dataIZIN")
    if not isinstance(data, Mapping):
        raise CallFailed(f"OSS's answer has no dataIZIN: kode {reply.get('kode')!r}")
    if str(data.get("id_izin", "")) != id_izin:
        raise CallFailed(f"OSS answered for id_izin {data.get('id_izin')!r}")
    return LicenseStatus(str(data.get("kd_status", "")).strip(), str(data.get("uraian_status", "")))


def _reply(document: Any) -> Mapping[str, Any]:
    if isinstance(document, Mapping):
        for key in ANSWER_KEYS:
            if isinstance(document.get(key), Mapping):
                reply: Mapping[str, Any] = document[key]
                return reply
    raise CallFailed("OSS's answer has none of " + ", ".join(ANSWER_KEYS))


def waiting(applications: Iterable[Mapping[str, Any]]) -> list[str]:
    """The applications waiting at step 19 for OSS's outcome."""
    return [
        str(a["id_izin"])
        for a in applications
        if a.get("current_step") == WAITING_STEP and a.get("status") == "MENUNGGU_OSS"
    ]


def waited_long_enough(
    wait: Mapping[str, Any] | None,
    *,
    now: datetime,
    days: float,
    workday_seconds: float | None,
    calendar: Callable[[], HolidayCalendar],
) -> bool:
    """Whether a wait (its `since`) is older than `days` hari kerja (of `workday_seconds`
    each when the clock is a test's)."""
    since = (wait or {}).get("since")
    if not since:
        return False
    start = datetime.fromisoformat(str(since))
    if workday_seconds:
        return now >= start + timedelta(seconds=days * workday_seconds)
    return now >= working_deadline(start, math.ceil(days), calendar())


def reconcile(
    candidates: Iterable[str],
    *,
    waited_enough: Callable[[str], bool],
    ask: Callable[[str], LicenseStatus],
    store: DeliveryStore,
    queue: Queue,
    now: datetime,
) -> list[Checked]:
    """Ask OSS about each application that has waited long enough; queue final outcomes."""
    results = []
    for id_izin in candidates:
        if not waited_enough(id_izin):
            continue
        try:
            status = ask(id_izin)
        except CallFailed as failure:
            logger.warning("checkLicenseStatus failed", extra={"id_izin": id_izin})
            results.append(Checked(id_izin, error=str(failure)))
            continue
        if status.kd_status not in FINAL:
            results.append(Checked(id_izin, status.kd_status))
            continue
        outcome = Envelope(
            event_id=f"oss-reconcile-{id_izin}-{status.kd_status}"[:128],
            type="izin.status",
            occurred_at=now,
            data={
                "id_izin": id_izin,
                "kd_status": status.kd_status,
                "status": FINAL[status.kd_status],
                "keterangan": f"Dari rekonsiliasi OSS (checkLicenseStatus): {status.uraian}"[:2000],
            },
        )
        record_and_queue("oss", outcome, store=store, queue=queue, now=now, recorded_by=RECORDED_BY)
        results.append(Checked(id_izin, status.kd_status, applied=True))
    return results
