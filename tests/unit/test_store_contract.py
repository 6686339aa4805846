"""The store's contract, run on the in-memory fake, on DynamoDB (moto, in-process) and on
one invocation's view of the fake (InvocationStore: reads kept, whole application partitions).

The same cases on both: what a conditional write does when its condition holds and when it
does not, how values come back, how queries order, what the named methods promise. The
fake is what the domain's unit tests run on; this is what keeps it honest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from izin.memory_store import MemoryStore
from izin.store import (
    PAST_TRAIL,
    TRAIL,
    ConditionFailed,
    DynamoStore,
    InvocationStore,
    PresumptionRefused,
    Records,
    Write,
    app_key,
    roster_checks,
    session_checks,
    ticket_hash_of,
)
from izin.tickets import Status, count_wrong_answer, open_ticket, ticket_hash
from izin_local.moto_patches import serialize_dynamodb_writes
from izin_local.template import Template

# Every store's every operation, seconds: sent out first (tests/conftest.py).
pytestmark = pytest.mark.lengthy

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamodb", "invocation"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Records]:
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "invocation":
        yield InvocationStore(MemoryStore(), whole_applications=True)
        return
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    props = Template.load(ROOT / "template.yaml").resources["IzinTable"]["Properties"]
    # DynamoDB's conditional writes are atomic; moto's are once serialized (as served).
    undo = serialize_dynamodb_writes()
    with mock_aws():
        from izin.aws import client

        client.cache_clear()
        client("dynamodb").create_table(
            TableName="izin-contract",
            BillingMode=props["BillingMode"],
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
        )
        yield DynamoStore("izin-contract")
        client.cache_clear()
    undo()


# -- the primitives ----------------------------------------------------------------------


def test_a_put_if_absent_writes_once(store: Records) -> None:
    assert store.put("P", "S", {"a": 1}, if_absent=True) is True
    assert store.put("P", "S", {"a": 2}, if_absent=True) is False
    assert store.get("P", "S") == {"PK": "P", "SK": "S", "a": 1}
    assert store.put("P", "S", {"b": 3}) is True  # a plain put replaces the whole item
    assert store.get("P", "S") == {"PK": "P", "SK": "S", "b": 3}


def test_values_come_back_as_dynamodb_gives_them(store: Records) -> None:
    fields = {"f": 2.0, "g": 1.5, "n": None, "t": True, "l": [1, "x", {"d": 0.25}], "e": ""}
    store.put("P", "S", fields)
    assert store.get("P", "S") == {"PK": "P", "SK": "S", **fields, "f": 2}
    assert store.get("P", "missing") is None


def test_what_a_reader_changes_of_what_it_read_is_its_own(store: Records) -> None:
    store.put("P", "S", {"m": {"l": [1, {"d": "x"}]}, "b": b"\x00", "s": "t"})
    for read in (lambda: store.get("P", "S"), lambda: store.query("P", "S")[0]):
        item = read()
        assert item is not None
        item["m"]["l"][1]["d"] = "changed"
        item["m"]["l"].append(2)
        item["s"] = "changed"
        again = read()
        assert again is not None
        assert again["m"] == {"l": [1, {"d": "x"}]} and again["s"] == "t"


def test_a_query_reads_one_partition_by_prefix_in_sort_key_order(store: Records) -> None:
    for sk in ("EVENT#b#2", "EVENT#a#9", "EVENT#b#1", "AUDIT#1"):
        store.put("P", sk, {})
    store.put("Q", "EVENT#b#0", {})
    assert [i["SK"] for i in store.query("P", "EVENT#b#")] == ["EVENT#b#1", "EVENT#b#2"]
    assert [i["SK"] for i in store.query("P", "EVENT#", newest_first=True)] == [
        "EVENT#b#2",
        "EVENT#b#1",
        "EVENT#a#9",
    ]
    everything = ["AUDIT#1", "EVENT#a#9", "EVENT#b#1", "EVENT#b#2"]
    assert [i["SK"] for i in store.query("P", "")] == everything  # no prefix: the partition
    assert [i["SK"] for i in store.query_past("P", "AUDIT$")] == everything[1:]
    assert [i["SK"] for i in store.query_past("P", "EVENT#b#1")] == ["EVENT#b#2"]


def test_an_application_s_items_read_back_as_written_between_reads(store: Records) -> None:
    """Reads and writes interleaved in one partition (as one invocation of the task page
    does them): every read sees every write before it, and a refused write changes none."""
    pk = app_key("IP-X")
    store.put(pk, "META", {"a": 1})
    assert store.get(pk, "META") == {"PK": pk, "SK": "META", "a": 1}
    assert store.query(pk, "STEP#") == []
    store.put(pk, "STEP#01", {"data": {"x": 1.5}})
    assert store.update(pk, "META", {"b": 2}, expect={"a": 1})["b"] == 2
    with pytest.raises(ConditionFailed):
        store.update(pk, "META", {"c": 3}, expect={"a": 9})
    assert store.put(pk, "STEP#01", {"data": {}}, if_absent=True) is False
    assert store.get(pk, "META") == {"PK": pk, "SK": "META", "a": 1, "b": 2}
    assert store.query(pk, "STEP#") == [{"PK": pk, "SK": "STEP#01", "data": {"x": Decimal("1.5")}}]
    assert store.get(pk, "STEP#02") is None
    assert [i["SK"] for i in store.query(pk, "", newest_first=True)] == ["STEP#01", "META"]


def test_an_update_creates_a_missing_item_unless_it_must_exist(store: Records) -> None:
    assert store.update("P", "S", {"a": 1}) == {"PK": "P", "SK": "S", "a": 1}
    with pytest.raises(ConditionFailed):
        store.update("P", "other", {"a": 1}, must_exist=True)
    assert store.get("P", "other") is None


def test_an_expected_value_must_be_there_and_equal(store: Records) -> None:
    store.put("P", "S", {"status": "open", "n": 1})
    for expect in ({"status": "decided"}, {"missing": "x"}, {"n": 2}):
        with pytest.raises(ConditionFailed):
            store.update("P", "S", {"status": "x"}, expect=expect)
    assert store.get("P", "S") == {"PK": "P", "SK": "S", "status": "open", "n": 1}
    after = store.update("P", "S", {"status": "decided"}, expect={"status": "open", "n": 1})
    assert after["status"] == "decided"


def test_an_expected_none_means_absent_and_present_means_there(store: Records) -> None:
    store.put("P", "S", {"token": "t"})
    with pytest.raises(ConditionFailed):
        store.update("P", "S", {"token": "u"}, expect={"token": None})
    with pytest.raises(ConditionFailed):
        store.update("P", "S", {"x": 1}, present=("other",))
    assert store.update("P", "S", {"x": 1}, present=("token",), remove=("token",)) == {
        "PK": "P",
        "SK": "S",
        "x": 1,
    }
    assert store.update("P", "S", {"token": "u"}, expect={"token": None})["token"] == "u"


def test_a_counter_below_or_at_least_a_limit(store: Records) -> None:
    store.put("P", "S", {"n": 3, "t": "x"})
    assert store.update("P", "S", {"a": 1}, below={"n": 4, "missing": 1})["a"] == 1
    with pytest.raises(ConditionFailed):
        store.update("P", "S", {"a": 2}, below={"n": 3})
    assert store.update("P", "S", {"a": 3}, at_least={"n": 3})["a"] == 3
    for at_least in ({"n": 4}, {"missing": 0}):
        with pytest.raises(ConditionFailed):
            store.update("P", "S", {"a": 4}, at_least=at_least)
    assert store.get("P", "S") == {"PK": "P", "SK": "S", "n": 3, "t": "x", "a": 3}


def test_add_counts_from_zero_and_answers_the_new_item(store: Records) -> None:
    assert store.update("C", "C", {}, add={"value": 1})["value"] == 1
    assert store.update("C", "C", {"at": "x"}, add={"value": 2})["value"] == 3


# -- the named methods -------------------------------------------------------------------


def test_numbers_are_consecutive_per_counter(store: Records) -> None:
    assert [store.next_number("bap", 2026) for _ in range(3)] == [1, 2, 3]
    assert store.next_number("bap", 2027) == 1 and store.next_number("nota_dinas", 2026) == 1


def test_a_ticket_is_stored_once_and_changed_only_if_it_exists(store: Records) -> None:
    store.put_ticket("h", {"status": "open"})
    with pytest.raises(ConditionFailed):
        store.put_ticket("h", {"status": "open"})
    with pytest.raises(ConditionFailed):
        store.update_ticket("nothing", {"status": "decided"})
    assert store.ticket("nothing") is None
    assert store.update_ticket("h", {"status": "decided"}, expect={"status": "open"})["status"] == (
        "decided"
    )


def test_an_application_is_created_once_and_listed_newest_first(store: Records) -> None:
    for n in (1, 3, 2):
        assert store.create_application(f"IP-{n}", {"created_at": f"2026-12-0{n}"}) is True
    assert store.create_application("IP-1", {"created_at": "2026-12-09"}) is False
    assert [a["created_at"] for a in store.applications(limit=2)] == ["2026-12-03", "2026-12-02"]
    with pytest.raises(ConditionFailed):
        store.update_application("IP-9", {"status": "x"})


def test_applications_listed_go_past_a_query_s_1_mb(store: Records) -> None:
    # A Query answers at most 1 MB: about a thousand of a Dinas's application records (1 KB
    # each), a few years of them; here 400 records of 3 KB. The listing reads page after
    # page, up to its limit.
    padding = "x" * 3000
    for n in range(400):
        fields = {"id_izin": f"IP-{n:04d}", "created_at": f"2026-{n:04d}", "pad": padding}
        store.create_application(f"IP-{n:04d}", fields)
    listed = store.applications(limit=5000)
    assert len(listed) == 400
    assert listed[0]["id_izin"] == "IP-0399" and listed[-1]["id_izin"] == "IP-0000"
    assert len(store.applications(limit=350)) == 350


def test_open_applications_are_listed_until_their_outcome(store: Records) -> None:
    for n in range(1, 6):
        store.create_application(f"IP-{n}", {"id_izin": f"IP-{n}", "created_at": f"2026-12-0{n}"})
    store.create_application("IP-3", {"id_izin": "IP-3", "created_at": "2026-12-09"})  # again
    store.close_application("IP-2", now=NOW)
    store.close_application("IP-OLD", now=NOW)  # received before the markers: none listed
    store.update_application("IP-4", {"status": "TERHENTI"})
    opened = store.open_applications()
    assert [a["id_izin"] for a in opened] == ["IP-5", "IP-4", "IP-3", "IP-1"]
    assert opened[1]["status"] == "TERHENTI"  # the records themselves, as they are now
    assert [a["id_izin"] for a in store.open_applications(until="2026-12-03")] == ["IP-3", "IP-1"]
    with store.together() as batch:  # a record written again in one: neither write made
        batch.create_application("IP-6", {"id_izin": "IP-6", "created_at": "2026-12-06"})
    with pytest.raises(ConditionFailed), store.together() as batch:
        batch.create_application("IP-6", {"id_izin": "IP-6", "created_at": "2026-12-07"})
    assert [a["created_at"] for a in store.open_applications()][:1] == ["2026-12-06"]


def test_an_open_marker_is_given_once_and_never_reopens_a_closed_one(store: Records) -> None:
    store.create_application("IP-1", {"id_izin": "IP-1", "created_at": "2026-12-01"})
    assert store.mark_open("IP-1", "2026-12-01") is False  # it has one
    store.close_application("IP-1", now=NOW)
    assert store.mark_open("IP-1", "2026-12-01") is False  # closed stays closed
    assert store.mark_open("IP-OLD", "2026-11-01") is True  # received before the markers
    assert store.open_applications() == []  # IP-OLD has no record here
    store.put(app_key("IP-OLD"), "META", {"id_izin": "IP-OLD", "created_at": "2026-11-01"})
    assert [a["id_izin"] for a in store.open_applications()] == ["IP-OLD"]


def test_one_step_of_many_applications_is_read_together(store: Records) -> None:
    for n in range(120):  # more than one BatchGetItem's 100 keys
        store.save_step(f"IP-{n:03d}", 7, {"ketua": str(n)})
    store.save_step("IP-000", 8, {"other": "step"})
    found = store.step_data_of([f"IP-{n:03d}" for n in range(125)], 7)
    assert len(found) == 120 and found["IP-119"] == {"ketua": "119"}
    assert store.step_data_of([], 7) == {}


def test_applications_read_together_by_id_are_the_ones_that_exist(store: Records) -> None:
    ids = [f"IP-{n:03d}" for n in range(130)]  # more than one BatchGetItem's 100 keys
    for id_izin in ids[::2]:
        store.create_application(id_izin, {"created_at": "2026-12-01", "status": id_izin})
    store.update_application("IP-000", {"status": "changed"})
    found = store.applications_by_id([*ids, "IP-000"])
    assert sorted(found) == ids[::2]  # the missing ones left out, a repeated id read once
    assert found["IP-000"]["status"] == "changed" and found["IP-128"]["status"] == "IP-128"
    assert store.applications_by_id([]) == {}


def test_steps_events_documents_and_the_trail_of_one_application(store: Records) -> None:
    store.save_step("IP-1", 7, {"ketua": "1"})
    store.save_step("IP-1", 11, {"kesimpulan": "siap"})
    store.save_step("IP-2", 7, {"ketua": "2"})
    assert store.steps("IP-1") == {7: {"ketua": "1"}, 11: {"kesimpulan": "siap"}}
    assert store.step_data("IP-1", 8) == {}
    assert store.keep_event("IP-1", "oss:izin.status", "2026-12-01T10:00", "e2", {"n": 2})
    assert store.keep_event("IP-1", "oss:izin.status", "2026-12-01T09:00", "e1", {"n": 1})
    assert not store.keep_event("IP-1", "oss:izin.status", "2026-12-01T09:00", "e1", {"n": 9})
    # The same sender's id again, occurred later (OSS's reconciliation, its next run): kept once.
    assert not store.keep_event("IP-1", "oss:izin.status", "2026-12-02T09:00", "e1", {"n": 8})
    assert store.keep_event("IP-1", "siinas:komitmen.terpenuhi", "2026-12-02T09:00", "e1", {"n": 3})
    assert [e["n"] for e in store.events("IP-1", "oss:izin.status")] == [1, 2]
    assert [e["n"] for e in store.events("IP-1", "siinas:komitmen.terpenuhi")] == [3]
    store.put_document_version("IP-1", "bap", 1, {"versi": 1})
    assert not store.put_document_version("IP-1", "bap", 1, {"versi": 1})
    store.put_document_version("IP-1", "surat_tugas", 1, {"versi": 1})
    assert len(store.document_versions("IP-1", "bap")) == 1
    assert len(store.document_versions("IP-1")) == 2
    store.append_audit("IP-1", {"action": "a"}, now=NOW)
    store.append_audit("IP-1", {"action": "b"}, now=NOW)
    assert [e["action"] for e in store.audit("IP-1")] == ["a", "b"]


def test_writes_made_together_only_if_the_application_exists(store: Records) -> None:
    """`require_application` in a together() block: a check (DynamoDB's ConditionCheck)
    made with the writes, none of them made when the record is missing; alone, the same."""
    with pytest.raises(ConditionFailed), store.together() as batch:
        batch.require_application("IP-1")
        batch.keep_event("IP-1", "oss:izin.status", "2026-12-01T09:00", "e1", {"n": 1})
        batch.append_audit("IP-1", {"action": "event.received"}, now=NOW)
    assert store.events("IP-1") == [] and store.audit("IP-1") == []
    with pytest.raises(ConditionFailed):
        store.require_application("IP-1")
    store.create_application("IP-1", {"id_izin": "IP-1", "created_at": "2026-12-01"})
    with store.together() as batch:
        batch.require_application("IP-1")
        batch.keep_event("IP-1", "oss:izin.status", "2026-12-01T09:00", "e1", {"n": 1})
        batch.append_audit("IP-1", {"action": "event.received"}, now=NOW)
    assert [e["n"] for e in store.events("IP-1")] == [1]
    assert [e["action"] for e in store.audit("IP-1")][-1] == "event.received"
    assert (store.application("IP-1") or {})["id_izin"] == "IP-1"  # the check wrote nothing
    store.require_application("IP-1")


def test_writes_made_together_only_while_the_roster_is_at_a_version(store: Records) -> None:
    """`require_roster` in a together() block: a check of the roster's version made with
    the writes (None: while the table holds no roster); alone, the same."""

    def entry(action: str) -> None:
        with store.together() as batch:
            batch.require_roster(version)
            batch.append_audit("IP-1", {"action": action}, now=NOW)

    version: int | None = None
    entry("no roster yet")
    store.seed_roster({"officers": []})
    with pytest.raises(ConditionFailed):
        entry("a roster since")
    version = 1
    entry("at version 1")
    store.replace_roster({"officers": []}, version=1)
    with pytest.raises(ConditionFailed):
        entry("at version 1, replaced")
    store.require_roster(2)
    with pytest.raises(ConditionFailed):
        store.require_roster(1)
    assert [e["action"] for e in store.audit("IP-1")] == ["no roster yet", "at version 1"]


def test_the_trail_read_leaves_out_what_a_later_entry_retracts(store: Records) -> None:
    """A decision Step Functions refused: its entries stay, as written, for the export;
    every other reader sees the trail without them, the retraction kept."""
    store.append_audit("IP-1", {"action": "task.decided", "decision_id": "d1"}, now=NOW)
    store.append_audit("IP-1", {"action": "bap.uploaded", "decision_id": "d1"}, now=NOW)
    store.append_audit("IP-1", {"action": "task.decided", "decision_id": "d2"}, now=NOW)
    store.append_audit("IP-1", {"action": "task.too_late", "retracts": "d1"}, now=NOW)
    assert [e["action"] for e in store.audit("IP-1")] == ["task.decided", "task.too_late"]
    assert store.audit("IP-1")[0]["decision_id"] == "d2"
    assert len(store.audit_as_written("IP-1")) == 4


def test_a_wait_is_claimed_by_one_writer_only(store: Records) -> None:
    store.put_wait("IP-1", "oss:izin.status", {"token": "t"})
    store.update_wait(
        "IP-1", "oss:izin.status", {"claimed": "e1"}, expect={"token": "t"}, remove=("token",)
    )
    with pytest.raises(ConditionFailed):
        store.update_wait(
            "IP-1", "oss:izin.status", {"claimed": "e2"}, expect={"token": "t"}, remove=("token",)
        )
    assert store.wait("IP-1", "oss:izin.status") == {
        "PK": "APP#IP-1",
        "SK": "WAIT#oss:izin.status",
        "claimed": "e1",
    }


# -- a ticket's wrong answers and its lock, concurrently ----------------------------------


def _racing(store: Records) -> Records:
    """What racing writers share: the table (each racer is an invocation of its own, and one
    invocation's view is never shared)."""
    return store.table if isinstance(store, InvocationStore) else store


def _concurrently(*calls: Callable[[], object]) -> list[object]:
    """Run every call at once (a barrier lets them go together); their answers, in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> object:
        barrier.wait()
        try:
            return call()
        except ConditionFailed as lost:
            return lost

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_a_tte_offer_is_kept_once_and_every_racing_writer_gets_that_one(store: Records) -> None:
    store = _racing(store)
    store.put_ticket("h", {"status": "open"})
    offers = [{"approval_id": "PSTJ-1", "drafts": [{"pdf_key": f"k{n}"}]} for n in range(8)]
    answers = _concurrently(*(lambda o=o: store.keep_tte_offer("h", o) for o in offers))
    assert answers[0] in offers and all(a == answers[0] for a in answers)
    ticket = store.ticket("h") or {}
    assert ticket["tte_manual"] == answers[0] and ticket["status"] == "open"
    assert store.keep_tte_offer("h", offers[-1]) == answers[0]  # a later one too
    with pytest.raises(ConditionFailed):
        store.keep_tte_offer("nothing", offers[0])
    assert store.ticket("nothing") is None


def test_wrong_answers_count_to_the_limit_and_the_last_one_locks(store: Records) -> None:
    store.put_ticket("h", {"status": Status.OPEN, "wrong_nips": 0})
    for n in range(1, 5):
        assert count_wrong_answer(store, "h", limit=5, now=NOW) == {
            "PK": "TICKET#h",
            "SK": "TICKET",
            "status": Status.OPEN,
            "wrong_nips": n,
        }
    locked = count_wrong_answer(store, "h", limit=5, now=NOW)
    assert locked is not None
    assert (locked["status"], locked["wrong_nips"]) == (Status.LOCKED, 5)
    assert count_wrong_answer(store, "h", limit=5, now=NOW) is None
    assert store.ticket("h") == locked


def test_thirty_concurrent_wrong_answers_count_five_and_lock_once(store: Records) -> None:
    store = _racing(store)
    store.put_ticket("h", {"status": Status.OPEN, "wrong_nips": 0})
    answers = _concurrently(
        *[lambda: count_wrong_answer(store, "h", limit=5, now=NOW) for _ in range(30)]
    )
    written = [a for a in answers if isinstance(a, dict)]
    assert sorted(a["wrong_nips"] for a in written) == [1, 2, 3, 4, 5]
    assert [a["status"] for a in written].count(Status.LOCKED) == 1
    ticket = store.ticket("h")
    assert ticket is not None and (ticket["status"], ticket["wrong_nips"]) == (Status.LOCKED, 5)


def test_a_decision_racing_wrong_answers_either_decides_or_is_locked_out(store: Records) -> None:
    store = _racing(store)

    def decide() -> object:
        return store.update_ticket(
            "h",
            {"status": Status.DECIDED},
            expect={"status": Status.OPEN},
            below={"wrong_nips": 5},
        )

    for _ in range(5):
        store.put("TICKET#h", "TICKET", {"status": Status.OPEN, "wrong_nips": 0})
        wrong = [lambda: count_wrong_answer(store, "h", limit=5, now=NOW) for _ in range(19)]
        answers = _concurrently(*wrong[:10], decide, *wrong[10:])
        decided = isinstance(answers[10], dict)
        ticket = store.ticket("h")
        assert ticket is not None
        if decided:
            assert ticket["status"] == Status.DECIDED and ticket["wrong_nips"] < 5
        else:
            assert (ticket["status"], ticket["wrong_nips"]) == (Status.LOCKED, 5)


def test_a_code_s_time_step_is_taken_once_even_by_racing_writers(store: Records) -> None:
    store = _racing(store)
    nip = "1" * 18
    store.update_officer_auth(nip, {"secret": "sealed"})

    def take(step: int) -> bool:
        try:
            store.update_officer_auth(nip, {"last_step": step}, below={"last_step": step})
        except ConditionFailed:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(take, [100] * 8)) == [False] * 7 + [True]
    assert not take(99) and take(101)
    assert store.officer_auth(nip) == {
        "PK": f"OFFICER#{nip}",
        "SK": "AUTH",
        "secret": "sealed",
        "last_step": 101,
    }


def test_a_session_is_kept_once_and_ended_only_if_it_exists(store: Records) -> None:
    assert store.put_session("h", {"nip": "1" * 18, "until": "2026-12-01T09:00:00+00:00"})
    assert not store.put_session("h", {"nip": "2" * 18})
    assert store.update_session("h", {"ended_at": "x"})["nip"] == "1" * 18
    with pytest.raises(ConditionFailed):
        store.update_session("missing", {"ended_at": "x"})
    generation = store.update_officer_auth("1" * 18, {}, add={"sessions_generation": 1})
    assert generation["sessions_generation"] == 1


def test_a_session_s_checks_hold_only_while_it_is_live(store: Records) -> None:
    """`session_checks` with a write (one transaction, no read): made while the session is
    the officer's, not ended, of the officer's generation and not over; refused otherwise,
    the failed check named (the task page tells a refused presumption from its own)."""
    nip, until = "1" * 18, 1_000_000
    store.put_session("s", {"nip": nip, "generation": 0, "expires_at": until})
    session, officer = ("SESSION#s", "SESSION"), (f"OFFICER#{nip}", "AUTH")

    def write(n: int, *, nip: str = nip, generation: int = 0, at_least: int = until) -> None:
        checks = session_checks("s", nip, generation=generation, expires_at_least=at_least)
        store.write_all([Write(app_key("IP-1"), f"X#{n}", {}), *checks])

    write(1)  # live; the officer's record not there yet is generation 0
    refusals = {
        "another officer's": ({"nip": "2" * 18}, session),
        "over": ({"at_least": until + 1}, session),
        "a generation ahead": ({"generation": 1}, session),
    }
    for why, (kwargs, key) in refusals.items():
        with pytest.raises(ConditionFailed) as refused:
            write(2, **kwargs)  # type: ignore[arg-type]
        assert key in refused.value.keys, why
    store.update_officer_auth(nip, {}, add={"sessions_generation": 1})  # an admin ends all
    with pytest.raises(ConditionFailed) as refused:
        write(3)
    assert officer in refused.value.keys and session not in refused.value.keys
    store.put_session("s2", {"nip": nip, "generation": 1, "expires_at": until})
    store.write_all(
        [
            Write(app_key("IP-1"), "X#4", {}),
            *session_checks("s2", nip, generation=1, expires_at_least=until),
        ]
    )
    store.update_session("s2", {"ended_at": "2026-12-01T03:00:00+00:00"})  # signed out
    with pytest.raises(ConditionFailed):
        store.write_all(
            [
                Write(app_key("IP-1"), "X#5", {}),
                *session_checks("s2", nip, generation=1, expires_at_least=until),
            ]
        )
    assert [sk for sk in ("X#1", "X#2", "X#3", "X#4", "X#5") if store.get(app_key("IP-1"), sk)] == [
        "X#1",
        "X#4",
    ]


def test_a_write_holds_only_while_no_waiter_holds_a_token_or_a_claim(store: Records) -> None:
    """`require_idle_wait` in a together() block: no waiter, or one with neither a token
    nor a claim, passes; a token or a claim refuses the block (nothing written)."""

    def keep(n: int) -> None:
        with store.together() as batch:
            batch.require_idle_wait("IP-1", "siinas:x")
            batch.append_audit("IP-1", {"action": f"a{n}"}, now=NOW)

    keep(1)  # no waiter at all
    store.put_wait("IP-1", "siinas:x", {"since": "t"})
    keep(2)  # a waiter holding neither
    for n, held in enumerate(({"token": "T"}, {"claimed_token": "T"}), start=3):
        store.put_wait("IP-1", "siinas:x", held)
        with pytest.raises(ConditionFailed):
            keep(n)
    assert [e["action"] for e in store.audit("IP-1")] == ["a1", "a2"]


def test_an_application_s_ticket_is_kept_in_its_partition(store: Records) -> None:
    """A ticket naming its application is kept in the application's partition (read with
    it in one Query), its hash naming the application; any other under its own hash."""
    link, digest = open_ticket(store, {"id_izin": "IP-1.a_b", "step": 6})
    assert digest == ticket_hash(link) and digest.endswith("@IP-1.a_b")
    item = store.ticket(digest) or {}
    assert item["PK"] == app_key("IP-1.a_b") and str(item["SK"]).startswith("TICKET#")
    assert ticket_hash_of(item) == digest
    assert store.update_ticket(digest, {"status": Status.DECIDED})["step"] == 6
    enroll, enroll_digest = open_ticket(store, {"id_izin": "", "step": 0})
    assert len(enroll) == 43 and "@" not in enroll_digest
    assert ticket_hash_of(store.ticket(enroll_digest) or {}) == enroll_digest
    assert store.ticket(ticket_hash(link[:43])) is None  # the secret alone names no ticket


def test_the_roster_is_seeded_once_and_replaced_only_at_the_version_read(store: Records) -> None:
    assert store.roster_record() is None
    first = {"officers": [{"nip": "1" * 18, "aktif": True}], "dpmptsp_email": "t@x.example"}
    assert store.seed_roster(first) is True
    assert store.seed_roster({**first, "officers": []}) is False  # a second seed loses
    assert store.roster_record() == {"PK": "ROSTER", "SK": "ROSTER", **first, "version": 1}
    changed = {"officers": [{"nip": "1" * 18, "aktif": False}]}
    assert store.replace_roster(changed, version=1)["version"] == 2
    with pytest.raises(ConditionFailed):  # an admin who read version 1 saves too late
        store.replace_roster({"officers": []}, version=1)
    record = store.roster_record()
    assert record is not None
    assert (record["officers"], record["dpmptsp_email"], record["version"]) == (
        [{"nip": "1" * 18, "aktif": False}],
        "t@x.example",
        2,
    )


def test_of_two_admins_saving_the_roster_at_once_one_wins(store: Records) -> None:
    store = _racing(store)
    store.seed_roster({"officers": [], "dpmptsp_email": "t@x.example"})

    def save(n: int) -> bool:
        try:
            store.replace_roster({"officers": [{"nip": str(n) * 18}]}, version=1)
        except ConditionFailed:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(save, range(1, 9))) == [False] * 7 + [True]
    record = store.roster_record()
    assert record is not None and record["version"] == 2


def test_the_roster_cannot_be_replaced_before_its_seed(store: Records) -> None:
    with pytest.raises(ConditionFailed):
        store.replace_roster({"officers": []}, version=1)
    assert store.roster_record() is None


def test_writes_made_together_are_all_made(store: Records) -> None:
    store.create_application("IP-T", {"created_at": "2026-12-01", "status": "PROSES"})
    store.put_ticket("old", {"status": Status.OPEN})
    with store.together() as batch:
        assert batch.update_application("IP-T", {"holder": {"nip": "1"}}, remove=("status",)) == {}
        batch.update_ticket("old", {"status": Status.SUPERSEDED}, expect={"status": Status.OPEN})
        batch.put_ticket("new", {"status": Status.OPEN, "n": 2.0})
        batch.append_audit("IP-T", {"action": "task.issued"}, now=NOW)
    application = store.application("IP-T") or {}
    assert application["holder"] == {"nip": "1"} and "status" not in application
    assert (store.ticket("old") or {})["status"] == Status.SUPERSEDED
    assert store.ticket("new") == {"PK": "TICKET#new", "SK": "TICKET", "status": "open", "n": 2}
    assert [e["action"] for e in store.audit("IP-T")] == ["task.issued"]


def test_writes_made_together_are_none_made_when_one_condition_fails(store: Records) -> None:
    store.create_application("IP-T", {"created_at": "2026-12-01", "status": "PROSES"})
    store.put_ticket("old", {"status": Status.DECIDED})
    with pytest.raises(ConditionFailed), store.together() as batch:
        batch.update_application("IP-T", {"status": "SELESAI"})
        batch.put_ticket("new", {"status": Status.OPEN})
        batch.update_ticket("old", {"status": Status.SUPERSEDED}, expect={"status": Status.OPEN})
    assert (store.application("IP-T") or {})["status"] == "PROSES"
    assert store.ticket("new") is None
    assert (store.ticket("old") or {})["status"] == Status.DECIDED
    with pytest.raises(ConditionFailed), store.together() as batch:  # a put where one is
        batch.put("P", "S", {}, if_absent=True)
        batch.create_application("IP-T", {"created_at": "2026-12-02"})
    assert store.get("P", "S") is None


def test_writes_made_together_are_distinct_items_and_only_writes(store: Records) -> None:
    with pytest.raises(ValueError, match="distinct"), store.together() as batch:
        batch.put_ticket("t", {"status": Status.OPEN})
        batch.update_ticket("t", {"status": Status.DECIDED})
    assert store.ticket("t") is None
    with pytest.raises(TypeError, match="read before"), store.together() as batch:
        batch.put_ticket("t", {"status": Status.OPEN})
        batch.ticket("t")
    assert store.ticket("t") is None  # the block raised: nothing written
    with store.together() as batch:  # one write alone: written as itself
        batch.put_ticket("t", {"status": Status.OPEN})
    with pytest.raises(ConditionFailed), store.together() as batch:
        batch.put("TICKET#t", "TICKET", {}, if_absent=True)


def test_one_invocation_keeps_what_it_wrote_together() -> None:
    table = MemoryStore()
    table.create_application("IP-T", {"created_at": "2026-12-01", "n": 1})
    table.put_ticket("t", {"status": Status.OPEN})
    mine = InvocationStore(table, whole_applications=True, with_trail=True)
    assert (mine.application("IP-T") or {})["n"] == 1 and mine.ticket("t")
    table.calls.clear()
    with mine.together() as batch:
        batch.update_application("IP-T", {"m": 2}, add={"n": 1})
        batch.update_ticket("t", {"status": Status.DECIDED})
        batch.update("OTHER", "X", {"y": 1})  # never read here: read afresh when asked
        batch.append_audit("IP-T", {"action": "a"}, now=NOW)
    assert table.calls == {"write_all": 1}
    kept = mine.application("IP-T"), mine.ticket("t"), mine.audit("IP-T")
    assert table.calls == {"write_all": 1}  # the items before, changed as the table did
    assert kept[:2] == (table.application("IP-T"), table.ticket("t"))
    assert [e["action"] for e in kept[2]] == ["a"] and kept[2] == table.audit("IP-T")
    assert mine.get("OTHER", "X") == {"PK": "OTHER", "SK": "X", "y": 1}
    assert table.calls["get"] == 3


def _one_item_of_every_kind(store: Records, id_izin: str) -> None:
    """One item through each named write into an application's partition."""
    store.create_application(id_izin, {"created_at": "2026-12-01"})
    store.mark_started(id_izin, {"execution": "e"})
    store.append_audit(id_izin, {"action": "a"}, now=NOW)
    store.save_step(id_izin, 3, {"x": 1})
    store.keep_event(id_izin, "bap.diunggah", "2026-12-01", "evt", {"status": "pending"})
    store.put_wait(id_izin, "bap.diunggah", {"token": "t"})
    store.put_document_version(id_izin, "bap", 1, {"key": "k"})
    store.record_tembusan(id_izin, {"sent": True})
    store.add_upload(id_izin, "k", {"name": "n"})
    store.append_audit(id_izin, {"action": "b"}, now=NOW)


def test_an_application_s_trail_sorts_before_every_other_item_of_its_partition() -> None:
    """What a whole read without the trail stands on: one Query, past PAST_TRAIL."""
    table = MemoryStore()
    _one_item_of_every_kind(table, "IP-K")

    everything = table.query(app_key("IP-K"), "")
    past = table.query_past(app_key("IP-K"), PAST_TRAIL)

    assert len(everything) == 12  # the record and its open marker, 2 entries, 8 others
    assert past == [i for i in everything if not str(i["SK"]).startswith(TRAIL)]
    assert len(past) == 10


def test_a_partition_read_whole_reads_its_trail_only_when_asked() -> None:
    table = MemoryStore()
    _one_item_of_every_kind(table, "IP-W")
    table.calls.clear()
    mine = InvocationStore(table, whole_applications=True)

    assert mine.application("IP-W") and mine.steps("IP-W") == {3: {"x": 1}}
    assert mine.wait("IP-W", "bap.diunggah") and mine.uploads("IP-W")
    assert table.calls == {"query": 1}  # the partition but its trail
    assert (
        [e["action"] for e in mine.audit("IP-W")]
        == ["a", "b"]
        == [e["action"] for e in mine.audit("IP-W")]
    )
    assert table.calls == {"query": 2}  # the trail, once
    mine.append_audit("IP-W", {"action": "c"}, now=NOW)
    assert [e["action"] for e in mine.audit("IP-W")] == ["a", "b", "c"]  # its own write seen
    assert mine.query(app_key("IP-W"), "") == table.query(app_key("IP-W"), "")
    with_trail = InvocationStore(table, whole_applications=True, with_trail=True)
    table.calls.clear()
    assert with_trail.application("IP-W") and len(with_trail.audit("IP-W")) == 3
    assert table.calls == {"query": 1}


def test_one_invocation_reads_once_and_afresh_after_losing_a_race() -> None:
    """InvocationStore: a second read is answered from the first; a write whose condition
    failed (another invocation wrote first) sends the next read to the table."""
    table = MemoryStore()
    table.put_ticket("h", {"status": Status.OPEN})
    mine = InvocationStore(table, whole_applications=True, with_trail=True)
    assert mine.ticket("h") == mine.ticket("h") and table.calls == {"put": 1, "get": 1}
    table.update_ticket("h", {"status": Status.DECIDED})  # another invocation decides
    with pytest.raises(ConditionFailed):
        mine.update_ticket("h", {"status": Status.DECIDED}, expect={"status": Status.OPEN})
    assert (mine.ticket("h") or {})["status"] == Status.DECIDED
    assert mine.application("IP-X") is None and mine.steps("IP-X") == {} == mine.steps("IP-X")
    assert mine.audit("IP-X") == []
    assert table.calls["query"] == 1  # the application's partition, whole, once


def test_a_page_s_ticket_session_and_roster_are_read_in_one_batch_then_kept() -> None:
    table = MemoryStore()
    table.put_ticket("t", {"status": "open"})
    table.put_session("s", {"nip": "1"})
    table.calls.clear()
    mine = InvocationStore(table, whole_applications=True)
    mine.read_ahead(ticket_hash="t", session_hash="s", roster=True)
    assert mine.ticket("t") == {"PK": "TICKET#t", "SK": "TICKET", "status": "open"}
    assert (mine.session("s") or {})["nip"] == "1"
    assert mine.roster_record() is None  # none yet: that it is absent is kept too
    assert table.calls == {"get_many": 1}
    mine.read_ahead(ticket_hash="t")  # one key: left to its own read, which is kept
    mine.update_ticket("t", {"status": "decided"})
    assert (mine.ticket("t") or {})["status"] == "decided"
    assert table.calls == {"get_many": 1, "update": 1}


def test_writes_carry_what_is_presumed_until_one_is_made() -> None:
    """InvocationStore.presume: each write carries the checks (a put becomes a transaction
    with them) until one is made; one refused for them raises PresumptionRefused and writes
    nothing; an update, which a transaction cannot answer, and an answer with no write
    confirm by reading instead."""
    table = MemoryStore()
    table.seed_roster({"officers": []})  # version 1
    confirmed: list[bool] = []

    def confirm() -> bool:
        confirmed.append(True)
        return True

    def view(version: int) -> InvocationStore:
        mine = InvocationStore(table, whole_applications=True)
        mine.presume(roster_checks(version), confirm=confirm)
        return mine

    mine = view(1)
    table.calls.clear()
    mine.append_audit("IP-1", {"action": "a"}, now=NOW)
    mine.append_audit("IP-1", {"action": "b"}, now=NOW)
    assert table.calls == {"write_all": 1, "put": 1} and not mine.presuming
    stale = view(0)
    with pytest.raises(PresumptionRefused):
        stale.append_audit("IP-1", {"action": "c"}, now=NOW)
    assert [e["action"] for e in table.audit("IP-1")] == ["a", "b"]
    taken = view(1)
    taken.put_ticket("h", {"status": Status.OPEN})
    with pytest.raises(ConditionFailed) as own:  # its own condition: not a presumption
        view(1).put_ticket("h", {"status": Status.OPEN})
    assert not isinstance(own.value, PresumptionRefused)
    unwritten = view(1)
    unwritten.update_ticket("h", {"status": Status.DECIDED})
    assert confirmed == [True] and not unwritten.presuming
    answered = view(1)
    answered.confirm_presumed()
    assert confirmed == [True, True]
    refusing = InvocationStore(table)
    refusing.presume(roster_checks(1), confirm=lambda: False)
    with pytest.raises(PresumptionRefused):
        refusing.confirm_presumed()


def test_a_task_s_application_and_steps_are_read_in_its_batch_then_kept() -> None:
    """RequestTask's reads (issue #9): the roster, who may be away, the record and every
    step's data in one BatchGetItem; `steps()` is answered from it, and stays so after a
    write elsewhere in the partition; a step written is read afresh."""
    table = MemoryStore()
    table.create_application("IP-T", {"created_at": "2026-12-01T00:00:00+00:00"})
    table.save_step("IP-T", 4, {"decision": "done"})
    table.save_step("IP-T", 12, {"decision": "done"})
    table.calls.clear()
    mine = InvocationStore(table)
    mine.read_ahead(roster=True, away=True, application="IP-T", steps=range(1, 21))
    assert (mine.application("IP-T") or {})["created_at"] == "2026-12-01T00:00:00+00:00"
    assert sorted(mine.steps("IP-T")) == [4, 12] and mine.step_data("IP-T", 5) == {}
    assert mine.roster_record() is None and mine.away_index() is None
    assert table.calls == {"get_many": 1}
    mine.update_application("IP-T", {"holder": {"role": "operator"}})
    assert sorted(mine.steps("IP-T")) == [4, 12]  # the record's write leaves the steps be
    assert table.calls == {"get_many": 1, "update": 1}
    mine.save_step("IP-T", 5, {"decision": "done"})
    assert sorted(mine.steps("IP-T")) == [4, 5, 12]  # a step written: read afresh
    assert table.calls == {"get_many": 1, "update": 1, "put": 1, "query": 1}
