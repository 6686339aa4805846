"""The Kepala Bidang's morning digest (izin.digest): the applications at risk, by email,
on working days only; and DigestFunction's schedule in the template."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from izin import wiring
from izin.calendar import WIB, HolidayCalendar
from izin.digest import send_digest
from izin.mail import Email
from izin.memory_store import MemoryStore
from izin.risk import assess
from izin.roster import load_roster
from izin.sop import Role
from izin_local.config import TEMPLATE
from izin_local.template import Template
from izin_local.testing import ROSTER as ROSTER_FILE

ROSTER = load_roster(ROSTER_FILE)
CAL = HolidayCalendar.load()
MONDAY = datetime(2026, 12, 28, 7, 0, tzinfo=WIB)


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    def send(self, email: Email) -> None:
        self.sent.append(email)


def app(id_izin: str, *, days_ago: int, deadline: datetime | None, status: str = "PROSES") -> Any:
    return {
        "id_izin": id_izin,
        "status": status,
        "current_step": 6,
        "holder": {"nama": "Kasi", "nip": "1"},
        "data": {"perusahaan": {"nama": f"PT {id_izin}"}},
        "created_at": (MONDAY - timedelta(days=days_ago)).astimezone(UTC).isoformat(),
        **({"deadline": deadline.isoformat()} if deadline else {}),
    }


APPLICATIONS = [
    app("IP-TERLAMBAT", days_ago=3, deadline=MONDAY - timedelta(hours=20)),
    app("IP-HARI-INI", days_ago=2, deadline=MONDAY + timedelta(hours=6)),
    app("IP-FIKTIF", days_ago=40, deadline=MONDAY + timedelta(days=3)),  # service level near
    app("IP-TEPAT", days_ago=1, deadline=MONDAY + timedelta(days=3)),
    app("IP-SELESAI", days_ago=60, deadline=None, status="SELESAI"),
]


def run(now: datetime, applications: list[Any] = APPLICATIONS) -> tuple[dict[str, Any], Outbox]:
    outbox = Outbox()
    outcome = send_digest(
        applications,
        assess=functools.partial(assess, now=now, calendar=CAL, service_level_days=20, warn_days=3),
        roster=ROSTER,
        mailer=outbox,
        calendar=CAL,
        public_base_url="https://izin.example/",
        now=now,
    )
    return outcome, outbox


def test_a_working_morning_sends_the_kepala_bidang_the_applications_at_risk() -> None:
    outcome, outbox = run(MONDAY)
    assert outcome == {"sent": True, "count": 3}
    [email] = outbox.sent
    assert email.to == (ROSTER.first(Role.KEPALA_BIDANG).email,)
    assert "3 permohonan" in email.subject
    for id_izin in ("IP-TERLAMBAT", "IP-HARI-INI", "IP-FIKTIF"):
        assert f"https://izin.example/permohonan/{id_izin}" in email.text
        assert id_izin in email.html
    assert "IP-TEPAT" not in email.text and "IP-SELESAI" not in email.text
    assert "langkah terlambat" in email.text and "berisiko fiktif positif" in email.text
    assert "/tasks/" not in email.text  # no ticket: the page is behind sign-in
    # The fewest hari kerja left first: the one nearest fiktif positif leads.
    assert email.text.index("IP-FIKTIF") < email.text.index("IP-HARI-INI")


def test_nothing_goes_on_a_day_off_or_when_nothing_is_at_risk() -> None:
    christmas = datetime(2026, 12, 25, 7, 0, tzinfo=WIB)  # a Friday, Natal
    assert run(christmas)[0] == {"sent": False, "reason": "hari libur"}
    assert run(christmas)[1].sent == []
    calm = [app("IP-TEPAT", days_ago=1, deadline=MONDAY + timedelta(days=3))]
    outcome, outbox = run(MONDAY, calm)
    assert outcome["sent"] is False and outbox.sent == []


def test_the_digest_runs_on_weekday_mornings_in_the_dinas_s_time() -> None:
    function = Template.load(TEMPLATE).resources["DigestFunction"]["Properties"]
    [schedule] = function["Events"].values()
    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["ScheduleExpression"] == "cron(0 7 ? * MON-FRI *)"
    assert schedule["Properties"]["ScheduleExpressionTimezone"] == "Asia/Pontianak"


def test_digest_function_reads_the_index_and_mails_the_kepala_bidang(
    monkeypatch: pytest.MonkeyPatch, handler: Callable[[str], Callable[..., dict[str, Any]]]
) -> None:
    store, outbox = MemoryStore(), Outbox()
    for application in APPLICATIONS:
        store.create_application(application["id_izin"], application)
    store.close_application("IP-SELESAI", now=MONDAY)  # at its outcome, as step 20 leaves it
    read: list[str] = []  # the open applications' index, every one however old: only that
    listed = store.listed

    def reading(index_pk: str, limit: int, *, until: str = "") -> list[dict[str, Any]]:
        read.append(index_pk)
        return listed(index_pk, limit, until=until)

    monkeypatch.setattr(store, "listed", reading)
    monkeypatch.setattr(wiring, "store", lambda: store)
    monkeypatch.setattr(wiring, "mailer", lambda: outbox)
    monkeypatch.setattr(wiring, "calendar", lambda: CAL)
    monkeypatch.setattr(wiring, "roster", lambda: ROSTER)
    monkeypatch.setattr(wiring, "now", lambda: MONDAY.astimezone(UTC))
    assert handler("digest")({}) == {"sent": True, "count": 3}
    assert read == ["OPEN"]
    [email] = outbox.sent
    assert email.to == (ROSTER.first(Role.KEPALA_BIDANG).email,)
