"""The task page's door refuses every malformed request with 4xx and decides nothing.

Each case goes through functions/task_page's handler on the in-memory store (tests/unit/
conftest.py): bodies that are no form, forms with values outside their fields' bounds.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from izin.tasks.context import MAX_FORM_BYTES, MAX_FORM_FIELDS
from izin.tickets import Status, ticket_hash


def assert_nothing_decided(task_door: Any, ticket: str) -> None:
    item = task_door.store.ticket(ticket_hash(ticket))
    assert item["status"] == Status.OPEN and task_door.recorder.outputs == []


def test_a_well_formed_post_decides(task_door: Any) -> None:
    ticket, officer = task_door.ticket(6)
    answer = task_door.post(
        ticket, urlencode({**task_door.proof(ticket, officer), "decision": "done"})
    )
    assert answer["statusCode"] == 200 and len(task_door.recorder.outputs) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("&".join(f"f{i}=x" for i in range(MAX_FORM_FIELDS + 1)), 400),  # too many fields
        (b"nip=\xff\xfe&decision=done", 400),  # not UTF-8
        ("nip=%FF%FE&decision=done", 400),  # not UTF-8, percent-encoded
        ("disposisi=" + "x" * (MAX_FORM_BYTES * 2), 413),  # larger than any form
    ],
    ids=["201-fields", "bad-utf8", "bad-utf8-percent", "huge"],
)
def test_a_body_that_is_no_form_is_refused_with_the_form_shown_again(
    task_door: Any, body: str | bytes, status: int
) -> None:
    ticket, _ = task_door.ticket(6)
    answer = task_door.post(ticket, body)
    assert answer["statusCode"] == status
    assert "tidak dapat dibaca" in answer["body"] and 'data-sop-step="6"' in answer["body"]
    assert_nothing_decided(task_door, ticket)


@pytest.mark.parametrize("body", ["bm lw=", "%%%%", "aGVsbG8"], ids=["space", "symbols", "pad"])
def test_a_body_that_says_base64_and_is_not_is_400(task_door: Any, body: str) -> None:
    ticket, _ = task_door.ticket(6)
    assert task_door.post(ticket, body, base64_body=True)["statusCode"] == 400
    assert_nothing_decided(task_door, ticket)


@pytest.mark.parametrize(
    ("step", "fields", "field", "error"),
    [
        (11, {"kapasitas_sebelum": "inf"}, "kapasitas_sebelum", "Harus berupa angka biasa."),
        (11, {"kapasitas_penambahan": "nan"}, "kapasitas_penambahan", "angka biasa"),
        (11, {"kapasitas_sesudah": "1e400"}, "kapasitas_sesudah", "Paling besar"),
        (11, {"investasi": "Infinity"}, "investasi", "angka biasa"),
        (11, {"tki_l": "1.5"}, "tki_l", "Harus bilangan bulat."),
        (7, {"tanggal_mulai": "2026-W49-2"}, "tanggal_mulai", "format TTTT-BB-HH"),
        (6, {"disposisi": "PT \u202eabc"}, "disposisi", "U+202E"),
        (6, {"disposisi": ["satu", "dua"]}, "disposisi", "lebih dari sekali"),
    ],
)
def test_a_value_outside_its_field_s_bounds_is_422_by_the_field(
    task_door: Any, step: int, fields: dict[str, Any], field: str, error: str
) -> None:
    ticket, officer = task_door.ticket(step)
    body = urlencode({**fields, **task_door.proof(ticket, officer), "decision": "done"}, doseq=True)
    answer = task_door.post(ticket, body)
    assert answer["statusCode"] == 422
    assert f'id="e-{field}"' in answer["body"] and error in answer["body"]
    assert_nothing_decided(task_door, ticket)


def test_a_decision_sent_twice_is_422(task_door: Any) -> None:
    ticket, officer = task_door.ticket(13)
    body = urlencode({**task_door.proof(ticket, officer), "decision": ["yes", "no"]}, doseq=True)
    assert task_door.post(ticket, body)["statusCode"] == 422
    assert_nothing_decided(task_door, ticket)


@pytest.mark.parametrize("ticket", ["", "x", "..%2F..", "t\u00e9" * 20, "\ud800" * 43, "a" * 500])
def test_a_link_that_is_no_ticket_is_404(task_door: Any, ticket: str) -> None:
    assert task_door.get(ticket)["statusCode"] == 404
    assert task_door.post(ticket, "decision=done")["statusCode"] == 404


def test_an_origin_that_is_no_url_is_refused_as_another_site(task_door: Any) -> None:
    ticket, officer = task_door.ticket(6)
    body = urlencode({**task_door.proof(ticket, officer), "decision": "done"})
    assert task_door.post(ticket, body, origin="http://[::1")["statusCode"] == 403
    assert_nothing_decided(task_door, ticket)


def test_a_submission_that_loses_its_ticket_meanwhile_saves_nothing(
    task_door: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two submissions of one link at once: the one whose ticket was decided between its
    read and its write neither saves the step's data nor hands anything over."""
    from tests.unit.conftest import DOOR_ID

    ticket, officer = task_door.ticket(6)
    body = urlencode({**task_door.proof(ticket, officer), "decision": "done"})
    store, write_all = task_door.store, task_door.store.write_all

    def decided_meanwhile(writes: Any) -> None:
        the_other = {"status": Status.DECIDED, "decided_by": "Yang Lain", "decision": "done"}
        store.update_ticket(
            ticket_hash(ticket), {**the_other, "decided_at": "2026-12-02T09:00:00+07:00"}
        )
        write_all(writes)

    monkeypatch.setattr(store, "write_all", decided_meanwhile)
    answer = task_door.post(ticket, body)
    assert answer["statusCode"] == 409 and "Yang Lain" in answer["body"]  # decided, by whom
    assert store.step_data(DOOR_ID, 6) == {} and task_door.recorder.outputs == []


def test_a_step_s_page_asks_the_table_few_times(task_door: Any) -> None:
    """DynamoDB calls of one GET and one POST of a typical step's link (issue #9), pinned so
    a regression shows: the application's partition once, its ticket with it (whole:
    record, steps, documents, uploads, trail); the session and the roster are presumed
    unread, each write checking them. GET writes nothing but `task.viewed`, with the checks
    (one transaction); POST the ticket, the step, the trail's entry and the application's
    holder, with the checks, as one. Before session 30, the ticket, the session, the second
    factor of the officer the session's id names and the roster were read in one batch
    beside (3 and 3). Before the invocation's view
    (izin.store.InvocationStore) these were 9 and 9 (10 and 10 with the roster's read);
    before the batch, 5 and 7 (6 and 8); 4 and 6 before the officer's record joined the
    batch; 3 and 5 before the ticket and the step were written as one."""
    ticket, officer = task_door.ticket(6)
    proof = task_door.proof(ticket, officer)
    task_door.store.calls.clear()
    assert task_door.get(ticket)["statusCode"] == 200
    assert task_door.store.calls == {"query": 1, "write_all": 1}
    task_door.store.calls.clear()
    answer = task_door.post(ticket, urlencode({**proof, "decision": "done"}))
    assert answer["statusCode"] == 200
    assert task_door.store.calls == {
        "query": 1,
        # The ticket decided with the step's data (only one decision wins), the trail's
        # entry and the holder (the system), as one, before Step Functions is told.
        "write_all": 1,
    }


def test_a_decision_records_the_documents_it_was_taken_on_and_links_none(
    task_door: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trail's entry of a decision keeps the hash of each latest document, in SOP
    order; the page a POST answers shows no document, so it signs no link to one."""
    from izin import wiring

    from tests.unit.conftest import DOOR_ID

    for jenis, versi in (("bap", 1), ("bap", 2), ("nota_dinas", 1)):
        task_door.store.put_document_version(
            DOOR_ID,
            jenis,
            versi,
            {
                "jenis": jenis,
                "versi": versi,
                "sha256": f"{jenis}-v{versi}",
                "key": f"{jenis}/{versi}",
                "sealed": False,
                "nomor": f"{jenis}/1/2026",
            },
        )
    presigned: list[str] = []

    def presign(key: str, seconds: int = 900) -> str:
        presigned.append(key)
        return f"https://s3.example/{key}"

    monkeypatch.setattr(wiring, "presigned_url", presign)
    ticket, officer = task_door.ticket(6)
    proof = task_door.proof(ticket, officer)
    assert task_door.get(ticket)["statusCode"] == 200
    assert sorted(presigned) == ["bap/2", "nota_dinas/1"]  # the page links the latest ones
    presigned.clear()
    answer = task_door.post(ticket, urlencode({**proof, "decision": "done"}))
    assert answer["statusCode"] == 200 and presigned == []
    (decided,) = [e for e in task_door.store.audit(DOOR_ID) if e["action"] == "task.decided"]
    assert list(decided["documents"].items()) == [
        ("nota_dinas", "nota_dinas-v1"),
        ("bap", "bap-v2"),
    ]


@pytest.mark.parametrize("next_task_first", [False, True])
def test_a_decision_leaves_the_application_to_the_next_task_if_it_came_first(
    task_door: Any, monkeypatch: pytest.MonkeyPatch, next_task_first: bool
) -> None:
    """The decision starts the next step, whose task may take the application over before
    the page writes its holder back to the system: the next task's holder stands."""
    from tests.unit.conftest import DOOR_ID

    ticket, officer = task_door.ticket(6)
    digest = ticket_hash(ticket)
    task_door.store.update_application(DOOR_ID, {"open_ticket": digest, "holder": {"nip": "6"}})
    proof = task_door.proof(ticket, officer)
    handed_on = task_door.recorder.succeed

    def next_task_starts(token: str, output: dict[str, Any]) -> None:
        handed_on(token, output)
        if next_task_first:  # as the next step's RequestTask would, before the page's write
            task_door.store.update_application(
                DOOR_ID, {"open_ticket": "next", "holder": {"nip": "7"}}
            )

    monkeypatch.setattr(task_door.recorder, "succeed", next_task_starts)
    answer = task_door.post(ticket, urlencode({**proof, "decision": "done"}))

    assert answer["statusCode"] == 200
    application = task_door.store.application(DOOR_ID) or {}
    if next_task_first:
        assert application["open_ticket"] == "next" and application["holder"] == {"nip": "7"}
    else:
        assert "open_ticket" not in application and application["holder"]["nip"] == ""
    decided = [e for e in task_door.store.audit(DOOR_ID) if e["action"] == "task.decided"]
    assert len(decided) == 1 and decided[0]["decision"] == "done"


def test_a_session_presumed_unread_is_found_out_when_it_ended(task_door: Any) -> None:
    """The page takes a signed cookie's session as live without reading it, its one write
    checking that it is (issue #9): a session ended since is found out by that write,
    which writes nothing, and the page is made again with the session read: the form asks
    for NIP and code, and the trail notes the view once."""
    from izin import sessions

    ticket, officer = task_door.ticket(6)
    task_door.proof(ticket, officer)
    assert 'name="nip"' not in task_door.get(ticket)["body"]  # signed in: no NIP asked
    sessions.end_all_sessions(task_door.store, officer.nip)  # an admin's `izin petugas keluar`
    answer = task_door.get(ticket)
    assert answer["statusCode"] == 200 and 'name="nip"' in answer["body"]
    viewed = [e for e in task_door.store.audit("IP-DOOR-0001") if e["action"] == "task.viewed"]
    assert len(viewed) == 2


def test_a_roster_kept_by_the_container_is_read_again_when_it_changed(
    task_door: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The roster the container keeps is presumed in force, each write checking its
    version: replaced since, the write is refused, nothing written, and the page made
    again with the roster read afresh (and kept so for the next invocations)."""
    from izin import wiring
    from izin.store import RosterAt

    ticket, _ = task_door.ticket(6)
    task_door.store.seed_roster({"officers": []})  # the table's roster: version 1
    stale = wiring.KeptRoster(task_door.roster, RosterAt(None), task_door.roster)
    fresh = wiring.KeptRoster(task_door.roster, RosterAt(1), task_door.roster)
    asked: list[bool] = []

    def kept_roster(fresh_asked: bool = False, **_: Any) -> wiring.KeptRoster:
        asked.append(fresh_asked)
        return fresh if fresh_asked else stale

    monkeypatch.setattr(wiring, "kept_roster", lambda fresh=False: kept_roster(fresh))
    assert task_door.get(ticket)["statusCode"] == 200
    assert asked == [False, True]  # presumed, refused, read afresh
    viewed = [e for e in task_door.store.audit("IP-DOOR-0001") if e["action"] == "task.viewed"]
    assert len(viewed) == 1


def test_a_link_names_its_application_and_a_changed_name_finds_nothing(task_door: Any) -> None:
    """An application's task link carries the ticket's secret, then the application's id
    (base64url): its page reads the ticket with the application. Change either part and
    the link is no ticket."""
    import base64

    ticket, _ = task_door.ticket(6)
    named = base64.urlsafe_b64encode(b"IP-DOOR-0001").decode().rstrip("=")
    assert ticket[43:] == named
    assert task_door.get(ticket)["statusCode"] == 200
    other = base64.urlsafe_b64encode(b"IP-DOOR-0002").decode().rstrip("=")
    assert task_door.get(ticket[:43] + other)["statusCode"] == 404
    assert task_door.get(("A" if ticket[0] != "A" else "B") + ticket[1:])["statusCode"] == 404
    assert task_door.get(ticket[:43])["statusCode"] == 404


def test_a_session_found_not_live_is_read_from_then_on(task_door: Any) -> None:
    """A cookie kept after its session ended is read, not presumed, on the container's
    next pages: one page each, not a refused one and a second."""
    from izin import sessions

    ticket, officer = task_door.ticket(6)
    task_door.proof(ticket, officer)
    sessions.end_all_sessions(task_door.store, officer.nip)
    assert 'name="nip"' in task_door.get(ticket)["body"]  # presumed, refused, read
    task_door.store.calls.clear()
    assert 'name="nip"' in task_door.get(ticket)["body"]
    assert task_door.store.calls["write_all"] == 1 and task_door.store.calls["query"] == 1


def test_a_link_naming_no_possible_application_reads_no_application(task_door: Any) -> None:
    """A link whose tail decodes to no application's id (a "/", a control character, too
    long) is looked up as a whole under its own hash: one read, no partition."""
    import base64

    ticket, _ = task_door.ticket(6)
    for named in (b"IP-DOOR-0001/x", b"IP\x00DOOR", b"I" * 65):
        tail = base64.urlsafe_b64encode(named).decode().rstrip("=")
        task_door.store.calls.clear()
        assert task_door.get(ticket[:43] + tail)["statusCode"] == 404
        assert "query" not in task_door.store.calls, named
