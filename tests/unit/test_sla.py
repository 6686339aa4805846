"""A human step's deadline in hari kerja, the reminders after it, and their cap; and OSS's
statuses that move the SLA (#16): 41 stops the clock and 42 starts it again, 43 stops it
and 44 restarts it from zero. A step's deadline moves by the time stopped, the step waits
on without a breach, and the trail says why."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from izin import events
from izin.calendar import WIB, HolidayCalendar, add_working_seconds, working_seconds_between
from izin.events import InboundEvent
from izin.memory_store import MemoryStore
from izin.models import SLA_CLOCK_STATUSES, IzinStatus
from izin.settings import Settings
from izin.sla import (
    CLOCK,
    ApplicationNotYet,
    SlaExhausted,
    plan_deadline,
    record_clock,
    sla_days,
    stopped,
)
from pydantic import ValidationError

CALENDAR = HolidayCalendar.load()
THURSDAY_10 = datetime(2026, 11, 26, 10, 0, tzinfo=WIB)
T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # Tuesday 10:00 WIB
STEP = 5  # the SOP gives it 1 hari kerja


def settings(**values: object) -> Settings:
    base = {
        "TABLE_NAME": "t",
        "BUCKET_NAME": "b",
        "PUBLIC_BASE_URL": "http://x",
        "MAIL_FROM": "a@b.id",
    }
    return Settings.model_validate({**base, **values})


def test_the_sop_s_slas_then_the_configured_then_the_default() -> None:
    plain = settings()
    assert [sla_days(n, plain) for n in (5, 8, 11, 14)] == [1, 1, 2, 1]
    assert sla_days(4, plain) == 2
    tuned = settings(IZIN_SLA_DAYS='{"4": 1, "5": 3}', IZIN_DEFAULT_SLA_DAYS="4")
    assert (sla_days(4, tuned), sla_days(5, tuned), sla_days(6, tuned)) == (1, 3, 4)


def test_one_hari_kerja_from_thursday_morning_ends_friday_afternoon() -> None:
    deadline = plan_deadline(
        5, {"step": 0}, now=THURSDAY_10, calendar=CALENDAR, settings=settings()
    )
    assert deadline.deadline == datetime(2026, 11, 27, 16, 0, tzinfo=WIB)
    assert deadline.timeout_seconds == 30 * 3600
    assert deadline.reminders == 0


def test_a_shrunken_clock_waits_the_workday_seconds() -> None:
    deadline = plan_deadline(
        11,
        {"step": 0},
        now=THURSDAY_10,
        calendar=CALENDAR,
        settings=settings(IZIN_WORKDAY_SECONDS="3"),
    )
    assert deadline.timeout_seconds == 6
    assert deadline.deadline == datetime(2026, 11, 30, 16, 0, tzinfo=WIB)  # still the real date


def test_coming_back_to_the_same_step_counts_a_reminder_up_to_the_cap() -> None:
    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    previous = {"step": 8, "reminders": 0}
    for expected in (1, 2, 3):
        planned = plan_deadline(8, previous, now=now, calendar=CALENDAR, settings=settings())
        assert planned.reminders == expected
        previous = planned.model_dump()
    with pytest.raises(SlaExhausted):
        plan_deadline(8, previous, now=now, calendar=CALENDAR, settings=settings())
    fresh = plan_deadline(9, previous, now=now, calendar=CALENDAR, settings=settings())
    assert fresh.reminders == 0  # another step starts its own count


# -- OSS's statuses that move the clock ---------------------------------------------


FAST = settings(IZIN_WORKDAY_SECONDS="100")  # 1 hari kerja = 100 s


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def clock(*entries: tuple[str, float]) -> list[dict[str, Any]]:
    return [
        {"kd_status": kd, "at": at(s).isoformat(), "event_id": f"e{n}"}
        for n, (kd, s) in enumerate(entries)
    ]


def plan(now: datetime, previous: dict[str, Any], entries: list[dict[str, Any]], **kw: Any) -> Any:
    return plan_deadline(
        STEP, previous, now=now, calendar=CALENDAR, settings=kw.get("s", FAST), clock=entries
    )


def first_plan(s: Settings = FAST) -> dict[str, Any]:
    return plan_deadline(STEP, {}, now=T0, calendar=CALENDAR, settings=s).model_dump(mode="json")


def test_the_clock_codes_are_the_models() -> None:
    assert set(CLOCK) == SLA_CLOCK_STATUSES


def test_41_then_42_moves_the_deadline_by_the_time_stopped_without_a_breach() -> None:
    previous = first_plan()
    assert previous["timeout_seconds"] == 100
    moved = plan(at(100), previous, clock(("41", 20), ("42", 80)))
    assert (moved.deadline, moved.timeout_seconds, moved.reminders) == (at(160), 60, 0)
    assert "berhenti 60 detik" in moved.moved
    # At the moved deadline, nothing more is stopped: now it is a breach.
    breach = plan(at(160), moved.model_dump(mode="json"), clock(("41", 20), ("42", 80)))
    assert (breach.reminders, breach.moved) == (1, "")


def test_a_stop_still_open_waits_on_and_looks_again_a_hari_kerja_later() -> None:
    waiting = plan(at(100), first_plan(), clock(("43", 40)))
    assert (waiting.timeout_seconds, waiting.reminders) == (100, 0)
    resumed = plan(at(200), waiting.model_dump(mode="json"), clock(("43", 40), ("42", 190)))
    assert resumed.deadline == at(250) and resumed.timeout_seconds == 50


def test_44_restarts_the_steps_sla_from_its_own_time() -> None:
    restarted = plan(at(100), first_plan(), clock(("43", 30), ("44", 70)))
    assert (restarted.deadline, restarted.planned_at, restarted.reminders) == (at(170), at(70), 0)
    assert "dimulai dari awal" in restarted.moved


def test_without_any_of_osss_statuses_a_passed_deadline_is_a_breach() -> None:
    assert plan(at(100), first_plan(), []).reminders == 1
    # A stop before the step's SLA began does not move it.
    assert plan(at(100), first_plan(), clock(("41", -50), ("42", -10))).reminders == 1


def test_on_the_calendar_a_days_stop_moves_the_deadline_a_hari_kerja() -> None:
    real = settings()
    previous = first_plan(real)  # Tuesday 10:00 + 1 hari kerja: Wednesday 16:00 WIB
    assert datetime.fromisoformat(previous["deadline"]) == datetime(2026, 12, 2, 16, 0, tzinfo=WIB)
    stops = [
        {"kd_status": "41", "at": datetime(2026, 12, 1, 11, 0, tzinfo=WIB).isoformat()},
        {"kd_status": "42", "at": datetime(2026, 12, 2, 11, 0, tzinfo=WIB).isoformat()},
    ]  # 5 h on Tuesday and 3.5 h on Wednesday: one office day, 8.5 h
    moved = plan(datetime(2026, 12, 2, 16, 0, tzinfo=WIB), previous, stops, s=real)
    assert moved.deadline == datetime(2026, 12, 3, 16, 0, tzinfo=WIB)
    assert moved.reminders == 0


@pytest.mark.parametrize("seconds", [0, 1, 3600, 8.5 * 3600, 8.5 * 3600 + 1, 5 * 8.5 * 3600])
def test_adding_office_time_is_the_inverse_of_measuring_it(seconds: float) -> None:
    start = datetime(2026, 12, 1, 15, 30, tzinfo=WIB)
    end = add_working_seconds(start, seconds, CALENDAR)
    assert working_seconds_between(start, end, CALENDAR) == seconds


def test_stops_are_read_in_the_order_they_happened() -> None:
    shuffled = list(reversed(clock(("41", 10), ("42", 20), ("43", 30))))
    result = stopped(shuffled)
    assert result.intervals == ((at(10), at(20)),) and result.open_since == at(30)


def test_an_outcome_needs_its_status_and_a_clock_status_does_not() -> None:
    with pytest.raises(ValidationError, match="status is required"):
        IzinStatus.model_validate({"id_izin": "IP-1", "kd_status": "50"})
    assert IzinStatus.model_validate({"id_izin": "IP-1", "kd_status": "41"}).moves_the_clock


class Nothing:
    """Executions and callbacks that a clock status must never reach."""

    def start(self, name: str, state: dict[str, Any]) -> bool:
        raise AssertionError("no execution starts")

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        raise AssertionError("no wait completes")

    def received(self, execution: str, event_id: str) -> bool:
        raise AssertionError("no hand-over is confirmed")


def test_a_41_is_kept_on_the_application_once_and_is_never_step_19s_outcome() -> None:
    store = MemoryStore()
    store.create_application(
        "IP-1", {"id_izin": "IP-1", "current_step": 8, "created_at": T0.isoformat()}
    )

    def apply(event_id: str) -> str:
        event = InboundEvent(
            source="oss",
            event_id=event_id,
            type="izin.status",
            occurred_at=at(5),
            data={"id_izin": "IP-1", "kd_status": "41", "keterangan": "Konfirmasi"},
        )
        return events.apply_event(
            event,
            store=store,
            executions=Nothing(),
            callbacks=Nothing(),
            now=at(6),
        )

    assert apply("oss-41") == "clock"
    assert apply("oss-41") == "duplicate"
    application = store.application("IP-1") or {}
    assert application["sla_jam"] == [
        {"kd_status": "41", "at": at(5).isoformat(), "event_id": "oss-41"}
    ]
    [entry] = [e for e in store.audit("IP-1") if e["action"] == "sla.clock"]
    assert entry["step"] == 8 and "SLA berhenti sementara" in entry["note"]
    assert store.events("IP-1", "oss:izin.status") == []


def test_a_clock_status_before_its_application_stays_on_the_queue_then_is_kept() -> None:
    """Not dropped as a duplicate: the message fails, comes again, and is kept once the
    application exists."""
    store = MemoryStore()

    def keep() -> bool:
        return record_clock(store, "IP-1", "41", "oss-41", at=at(5), now=at(6))

    with pytest.raises(ApplicationNotYet):
        keep()
    assert store.audit("IP-1") == []
    store.create_application(
        "IP-1", {"id_izin": "IP-1", "current_step": 8, "created_at": T0.isoformat()}
    )
    assert keep() is True
    assert [e["event_id"] for e in (store.application("IP-1") or {})["sla_jam"]] == ["oss-41"]


def test_two_clock_statuses_kept_at_once_both_stay_each_with_its_trail_entry() -> None:
    """The second read the record before the first wrote: its write fails and it reads
    again, rather than writing its list over the first's."""
    store = MemoryStore()
    store.create_application(
        "IP-1", {"id_izin": "IP-1", "current_step": 8, "created_at": T0.isoformat()}
    )
    before_the_first = store.application("IP-1")
    assert record_clock(store, "IP-1", "41", "oss-41", at=at(5), now=at(6))
    reads = iter([before_the_first])
    read = store.application
    store.application = lambda id_izin: next(reads, None) or read(id_izin)  # type: ignore[method-assign]
    assert record_clock(store, "IP-1", "42", "oss-42", at=at(7), now=at(8))
    assert next(reads, None) is None  # the stale read was the one used first
    kept = (read("IP-1") or {})["sla_jam"]
    assert [e["kd_status"] for e in kept] == ["41", "42"]
    assert [e["kd_status"] for e in store.audit("IP-1") if e["action"] == "sla.clock"] == [
        "41",
        "42",
    ]
