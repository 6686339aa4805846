"""The automatic milestones (izin.progress) on the in-memory store: the SOP's end and who
hears of it, and an application parked by a step that failed for good."""

from __future__ import annotations

import json

import pytest
from izin import progress, sop
from izin.roster import Role

from tests.unit.test_workflow_edges import started
from tests.unit.test_workflow_logic import BASE, ID, KASI, NOW, OPERATOR, ROSTER, World, record

BELUM = "Izin Perluasan masih belum berlaku efektif; perluasan belum boleh dilakukan"


@pytest.fixture
def world() -> World:
    return started(World())


def acted(world: World, action: str, nip: str) -> None:
    world.store.append_audit(ID, {"action": action, "nip": nip, "actor": "x"}, now=NOW)


def test_an_automatic_step_moves_the_application_and_is_audited_by_its_role(world: World) -> None:
    world.store.update_application(ID, {"deadline": "2026-12-09", "open_ticket": "abc"})
    assert progress.record_step(world.store, ROSTER, ID, 16, now=NOW) == {"step": 16, "outcome": ""}
    moved = record(world)
    assert moved["current_step"] == 16 and moved["status"] == "PROSES"
    assert "deadline" not in moved and "open_ticket" not in moved
    entry = world.store.audit(ID)[-1]
    assert (entry["action"], entry["step"]) == ("step.recorded", 16)
    assert entry["actor"] == ROSTER.first(sop.step(16).actor).nama


def test_an_outcome_not_yet_efektif_ends_the_sop_saying_so(world: World) -> None:
    answer = progress.record_step(world.store, ROSTER, ID, 20, now=NOW, status="belum_efektif")
    assert answer == {"step": 20, "outcome": "BELUM_EFEKTIF"}
    assert record(world)["finished_at"] == NOW.isoformat()
    assert world.store.audit(ID)[-1]["note"] == BELUM


def test_the_officers_who_acted_are_each_named_once_in_the_order_they_first_acted(
    world: World,
) -> None:
    acted(world, "task.viewed", "1" * 18)  # looking is not acting
    acted(world, "task.decided", KASI.nip)
    acted(world, "bap.uploaded", OPERATOR)
    acted(world, "task.decided", KASI.nip)
    acted(world, "task.decided", "9" * 18)  # left the roster since
    acted(world, "task.claimed", "")
    assert [o.nip for o in progress.officers_who_acted(world.store, ROSTER, ID)] == [
        KASI.nip,
        OPERATOR,
    ]


def test_the_outcome_is_mailed_once_to_each_officer_who_acted(world: World) -> None:
    with pytest.raises(ValueError, match="no outcome"):
        progress.notify_outcome(world.store, ROSTER, world.mailer, ID, now=NOW)
    acted(world, "task.decided", OPERATOR)
    acted(world, "task.reassigned", KASI.nip)
    progress.record_step(world.store, ROSTER, ID, 20, now=NOW, status="efektif")
    to = progress.notify_outcome(world.store, ROSTER, world.mailer, ID, now=NOW)
    assert to == [str(ROSTER.by_nip(OPERATOR).email), str(KASI.email)]
    assert [m.to for m in world.mailer.sent] == [(address,) for address in to]
    assert all(m.subject.endswith(": berlaku efektif") for m in world.mailer.sent)
    entry = world.store.audit(ID)[-1]
    assert (entry["action"], entry["to"]) == ("outcome.notified", to)
    # The step retried after the emails went out sends none again.
    assert progress.notify_outcome(world.store, ROSTER, world.mailer, ID, now=NOW) == []
    assert len(world.mailer.sent) == 2


TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/var/task/izin/documents/pdf.py", line 12, in render\n'
    "KeyError: /var/task/izin/data/fonts/x.ttf missing, see https://izin.example/a/b"
)


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        (json.dumps({"errorMessage": "BSrE menolak:\n  kunci kedaluwarsa"}), "BSrE menolak:"),
        (TRACEBACK, "KeyError: x.ttf missing, see https://izin.example/a/b"),
        (json.dumps({"errorType": "Timeout"}), "tanpa keterangan"),
        ("", "tanpa keterangan"),
        ("  several   spaced\twords ", "several spaced words"),
    ],
)
def test_a_failure_s_reason_is_its_own_first_line_without_the_server_s_folders(
    cause: str, reason: str
) -> None:
    assert progress.failure_reason(cause) == reason


def test_a_parked_application_tells_the_operator_the_step_error_and_reason(world: World) -> None:
    world.store.update_application(ID, {"current_step": 13, "open_ticket": "abc"})
    failure = {"Error": "DocumentError\n(second line)", "Cause": TRACEBACK}
    parked = progress.park(
        world.store, ROSTER, world.mailer, ID, failure, now=NOW, public_base_url=BASE
    )
    assert parked == {"status": "TERHENTI", "error": "DocumentError (second line)"}
    kept = record(world)
    assert kept["status"] == "TERHENTI" and "open_ticket" not in kept
    assert kept["reason"] == {
        "error": "DocumentError (second line)",
        "cause": "KeyError: x.ttf missing, see https://izin.example/a/b",
    }
    entry = world.store.audit(ID)[-1]
    assert (entry["action"], entry["step"]) == ("application.parked", 13)
    (mail,) = world.mailer.sent[-1:]
    assert mail.to == (str(ROSTER.first(Role.OPERATOR).email),)
    assert mail.subject == f"[Izin Perluasan] TERHENTI: {ID} - DocumentError (second line)"
    assert "/var/task" not in mail.text and ID in mail.text  # the execution's name


def test_a_failure_without_a_name_or_a_step_still_parks(world: World) -> None:
    world.store.update_application(ID, {"current_step": 0})
    parked = progress.park(world.store, ROSTER, world.mailer, ID, {}, now=NOW, public_base_url="")
    assert parked["error"] == "Error" and record(world)["reason"]["cause"] == "tanpa keterangan"
