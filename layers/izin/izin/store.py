"""The one DynamoDB table: applications, audit trail, tickets, awaited events, counters.

Keys (single-table design):

| item | PK | SK |
|---|---|---|
| application | `APP#{id_izin}` | `META` (GSI1: `APPLICATION` / created_at) |
| open, until its outcome | `APP#{id_izin}` | `OPEN` (GSI1: `OPEN` / created_at) |
| audit entry (append-only) | `APP#{id_izin}` | `AUDIT#{iso time}#{random}` |
| a step's form data | `APP#{id_izin}` | `STEP#{nn}` |
| a document version | `APP#{id_izin}` | `DOC#{jenis}#{versi:03d}` |
| an awaited event's waiter | `APP#{id_izin}` | `WAIT#{event}` |
| an event received | `APP#{id_izin}` | `EVENT#{event}#{received}#{event_id}` |
| an event's id, kept once (with the event) | `APP#{id_izin}` | `SEEN#{source}#{event_id}` |
| an application's ticket (hash `{sha256}@{id_izin}`) | `APP#{id_izin}` | `TICKET#{sha256}` |
| a ticket of no application (enrollment; links before session 30) | `TICKET#{sha256}` | `TICKET` |
| webhook delivery (TTL) | `DELIVERY#{source}#{event_id}` | `DELIVERY` |
| letter-number counter | `COUNTER#{jenis}#{year}` | `COUNTER` |
| the execution started (once) | `APP#{id_izin}` | `EXECUTION` |
| the tembusan sent (once) | `APP#{id_izin}` | `TEMBUSAN` |
| a document version's pointer | `DOCUMENT#{document_id}` | `DOCUMENT` |
| Powertools idempotency record (TTL) | `IDEMPOTENCY#{function}` | `{function}#{hash}` |
| an officer's second factor (sealed secret, last code, sessions) | `OFFICER#{nip}` | `AUTH` |
| a signed-in session (TTL) | `SESSION#{sha256}` | `SESSION` |
| a Plh/Plt named for an officer (izin.delegation) | `OFFICER#{nip}` | `DELEGATION#{id}` |
| who may be away: each officer's latest Plh/Plt's last day, a version | `DELEGATIONS` | `AWAY` |
| an officer's own trail (Plh/Plt, roster changes) | `OFFICER#{nip}` | `AUDIT#{time}#{random}` |
| the roster (izin.roster: every officer's public fields, a version) | `ROSTER` | `ROSTER` |

Values are plain Python (dicts, lists, int, float, str); numbers cross as Decimal and back.

`Store` is the port the domain code takes: a named method per item kind, so no key is
spelt outside this module. `Records` writes those methods once over a few primitives
(put, get, query, update, the GSI1 listing, and `write_all`: several writes as one, all or
none, which `together()` gathers from the named methods); `DynamoStore` gives the
primitives to DynamoDB (`write_all` is TransactWriteItems), izin.memory_store.MemoryStore
to a dict, with DynamoDB's condition semantics (a contract test runs the same cases
against both). Nothing here knows the SOP's rules.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, TypedDict, Unpack

from boto3.dynamodb.types import DYNAMODB_CONTEXT, TypeDeserializer, TypeSerializer

from izin.aws import client
from izin.errors import TransientError

Item = dict[str, Any]


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {str(k): _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(v) for v in value]
    if isinstance(value, int | str | Decimal):
        return value
    return str(value)


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamo(v) for v in value]
    return value


# What a record's values are once read (_from_dynamo): JSON's shapes. None of these changes.
_UNCHANGING = frozenset({str, int, float, bool, type(None), bytes, Decimal})


def _copied(value: Any) -> Any:
    """A deep copy of a record's value, so that what a caller changes is its own: by exact
    type (a few times quicker than copy.deepcopy, which reads and answers most items of an
    invocation); anything else as copy.deepcopy copies it."""
    kind = type(value)
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    if kind in _UNCHANGING:
        return value
    return copy.deepcopy(value)


_SERIALIZER = TypeSerializer()
_SEQUENCE = itertools.count()
_DESERIALIZER = TypeDeserializer()


def _attr(value: Any) -> dict[str, Any]:
    return dict(_SERIALIZER.serialize(_to_dynamo(value)))


def _to_item(fields: Item) -> dict[str, Any]:
    return {k: _attr(v) for k, v in fields.items()}


def _from_item(item: dict[str, Any]) -> Item:
    return {k: _read(v) for k, v in item.items()}


def _read(value: Any) -> Any:
    """`_from_dynamo(TypeDeserializer().deserialize(value))`: every value a function reads
    goes through here (a task page's Query of its application, a few hundred). Read in one
    walk by each value's one type key (`_walk`) where boto3's deserializer looked each
    handler up by name and `_from_dynamo` walked the result again; a value that walk does
    not read, or fails on, is theirs, with their answer or their error."""
    try:
        return _walk(value)
    except Exception:
        return _theirs(value)


def _walk(value: Any) -> Any:
    if type(value) is dict and len(value) == 1:
        ((kind, raw),) = value.items()
        if kind == "S" and type(raw) is str:
            return raw
        if kind == "N":
            return _number(DYNAMODB_CONTEXT.create_decimal(raw))
        if kind == "M" and type(raw) is dict:
            return {key: _walk(member) for key, member in raw.items()}
        if kind == "L" and type(raw) is list:
            return [_walk(member) for member in raw]
        if kind == "BOOL" and type(raw) is bool:
            return raw
        if kind == "NULL":
            return None
        if kind == "SS" and type(raw) is list:
            return [_from_dynamo(text) for text in set(raw)]  # in the set's order, as theirs
        if kind == "NS" and type(raw) is list:
            return [_number(n) for n in set(map(DYNAMODB_CONTEXT.create_decimal, raw))]
    return _theirs(value)


def _theirs(value: Any) -> Any:
    return _from_dynamo(_DESERIALIZER.deserialize(value))


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def app_key(id_izin: str) -> str:
    """The partition key of an application's items."""
    return f"APP#{id_izin}"


# An application's trail: its AUDIT# items. They sort before every other item of the
# partition (DOC#, EVENT#, META, STEP#...), and '$' follows '#': the items sorting after
# PAST_TRAIL are the partition without its trail, one Query.
TRAIL = "AUDIT#"
PAST_TRAIL = "AUDIT$"


_STEP_PREFIX = "STEP#"


def _step_sk(step: int) -> str:
    return f"{_STEP_PREFIX}{step:02d}"


def _wait_sk(event_key: str) -> str:
    return f"WAIT#{event_key}"


def _ticket_key(ticket_hash: str) -> tuple[str, str]:
    """Where a ticket is kept: an application's in the application's partition, read with
    it in one Query (its hash names the application: `{sha256}@{id_izin}`, izin.tickets);
    any other in a partition of its own."""
    sha, at, id_izin = ticket_hash.partition("@")
    return (app_key(id_izin), f"{_TICKET}{sha}") if at else (f"{_TICKET}{sha}", "TICKET")


_TICKET = "TICKET#"


def _session_pk(session_hash: str) -> str:
    return f"SESSION#{session_hash}"


# `applications(EVERY_APPLICATION)`: all of them, for years of a Dinas's (a few hundred a
# year, about 1 KB each, read page by page), where none may be left out.
EVERY_APPLICATION = 5000
# The open applications' markers (GSI1 partition `OPEN`, sort key created_at): an
# application's from its receipt until its outcome, when the marker leaves the index.
_OPEN = "OPEN"


def _open_marker(id_izin: str, received: str) -> Item:
    return {"GSI1PK": _OPEN, "GSI1SK": received, "id_izin": id_izin}


# The roster in force: one item (#14).
_ROSTER = ("ROSTER", "ROSTER")
# Each officer's latest delegation's last day (izin.delegation's index of who may be away).
_AWAY = ("DELEGATIONS", "AWAY")


def _officer_auth_key(nip: str) -> tuple[str, str]:
    return f"OFFICER#{nip}", "AUTH"


def _delivery_pk(source: str, event_id: str) -> str:
    return f"DELIVERY#{source}#{event_id}"


def _document_pk(document_id: str) -> str:
    return f"DOCUMENT#{document_id}"


def ticket_hash_of(ticket: Mapping[str, Any]) -> str:
    """The hash a ticket item is kept under."""
    pk, sk = str(ticket["PK"]), str(ticket["SK"])
    if pk.startswith(app_key("")):
        return f"{sk.removeprefix(_TICKET)}@{pk.removeprefix(app_key(''))}"
    return pk.removeprefix(_TICKET)


class PresumptionRefused(Exception):
    """A write made on what the invocation presumed without reading it (a session live, the
    roster unchanged: `InvocationStore.presume`) was refused for that: nothing of it was
    written. The work is to be done again with them read."""


TTE_OFFER = "tte_manual"  # a ticket's field: the PDFs offered to sign in BSrE's app


class ConditionFailed(Exception):
    """A conditional write lost: the item was not in the state the writer expected.
    `keys`: the items whose condition failed, when the store says (a transaction does)."""

    def __init__(self, message: str, *, keys: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.keys = tuple(keys)


class UpdateTerms(TypedDict, total=False):
    """What a change of an item does besides setting fields, and when it may: the keywords
    of `Records.update` and of every named method that changes an item, so the port, the
    fake and DynamoDB read one list of them.

    `expect` maps a field to the value it must have, None meaning it must be absent;
    `present` names fields that must exist. `below` maps a counter to a number it must be
    under (a missing counter is 0, as ADD counts from 0); `at_least` to one it must have
    reached (a missing one has not). `add` adds to counters, from 0; `remove` drops fields.
    """

    expect: Item | None
    add: dict[str, int] | None
    remove: tuple[str, ...]
    present: tuple[str, ...]
    below: dict[str, int] | None
    at_least: dict[str, int] | None


class PrimitiveUpdateTerms(UpdateTerms, total=False):
    """The terms of `Records.update` itself: a named method's, and whether the item must
    exist already (each named method decides that for its kind of item)."""

    must_exist: bool


@dataclass(frozen=True)
class Write:
    """One write of `Records.write_all`: a put (only where none is, with `if_absent`), an
    update by `terms` (see Records.update), or, with `check`, none: the item must exist, or
    hold what `terms` expect, for the others to be made (DynamoDB's ConditionCheck)."""

    pk: str
    sk: str
    fields: Item
    update: bool = False
    if_absent: bool = False
    check: bool = False
    terms: PrimitiveUpdateTerms = field(default_factory=lambda: PrimitiveUpdateTerms())


# DynamoDB's most writes in one TransactWriteItems.
MOST_WRITES_TOGETHER = 100


def distinct_items(writes: Sequence[Write]) -> None:
    """Writes made as one touch each item once, and are at most MOST_WRITES_TOGETHER (both
    DynamoDB's rules: it refuses the whole request otherwise)."""
    keys = [(w.pk, w.sk) for w in writes]
    if len(set(keys)) != len(keys) or len(keys) > MOST_WRITES_TOGETHER:
        raise ValueError(f"writes made as one must be distinct items, at most 100: {keys}")


def as_stored(fields: Item) -> Item:
    """The value as DynamoDB gives it back (numbers cross as Decimal: 2.0 comes back as 2)."""
    return _from_dynamo(_to_dynamo(_copied(fields)))


def as_expected(item: Item | None, expect: Item) -> bool:
    """Whether an item's fields are as `expect` says (None: absent; a missing item has
    none): DynamoDB's `#n = :v` and `attribute_not_exists(#n)`, read in Python."""
    found = item or {}
    return all(
        name not in found if value is None else found.get(name) == as_stored(value)
        for name, value in expect.items()
    )


def applied(item: Item | None, pk: str, sk: str, fields: Item, terms: UpdateTerms) -> Item:
    """The item as an update leaves it, its conditions aside: fields set, counters added
    (from 0), names removed; a missing item starts empty."""
    new = {**_copied(item or {}), "PK": pk, "SK": sk}
    new |= as_stored(fields)
    for name, amount in (terms.get("add") or {}).items():
        new[name] = new.get(name, 0) + amount
    for name in terms.get("remove", ()):
        new.pop(name, None)
    return new


class Store(Protocol):
    """The table as the domain sees it: one named method per kind of item."""

    # applications
    def create_application(self, id_izin: str, fields: Item) -> bool: ...
    def application(self, id_izin: str) -> Item | None: ...
    def require_application(self, id_izin: str) -> None: ...
    def require_idle_wait(self, id_izin: str, event_key: str) -> None: ...
    def require_roster(self, version: int | None) -> None: ...
    def applications_by_id(self, ids: Iterable[str]) -> dict[str, Item]: ...
    def update_application(
        self, id_izin: str, fields: Item, **terms: Unpack[UpdateTerms]
    ) -> Item: ...
    def applications(self, limit: int = 200) -> list[Item]: ...
    def open_applications(self, *, until: str = "") -> list[Item]: ...
    def close_application(self, id_izin: str, *, now: datetime) -> None: ...
    def mark_open(self, id_izin: str, received: str) -> bool: ...
    def applications_page(
        self, limit: int, *, after: Item | None = None, since: str = "", until: str = ""
    ) -> tuple[list[Item], Item | None]: ...
    def mark_started(self, id_izin: str, fields: Item) -> bool: ...
    # audit trail
    def append_audit(self, id_izin: str, entry: Item, *, now: datetime) -> None: ...
    def audit(self, id_izin: str) -> list[Item]: ...
    def audit_as_written(self, id_izin: str) -> list[Item]: ...
    # steps' form data
    def save_step(self, id_izin: str, step: int, data: Item) -> None: ...
    def step_data(self, id_izin: str, step: int) -> Item: ...
    def step_data_of(self, ids: Iterable[str], step: int) -> dict[str, Item]: ...
    def steps(self, id_izin: str) -> dict[int, Item]: ...
    # events of OSS and SIINAS, and the states waiting for them
    def keep_event(
        self, id_izin: str, event_key: str, occurred_at: str, event_id: str, fields: Item
    ) -> bool: ...
    def events(self, id_izin: str, event_key: str = "") -> list[Item]: ...
    def mark_event_seen(self, id_izin: str, event_key: str, event_id: str) -> bool: ...
    def set_event(self, event: Item, fields: Item, **terms: Unpack[UpdateTerms]) -> Item: ...
    def put_wait(self, id_izin: str, event_key: str, fields: Item) -> None: ...
    def wait(self, id_izin: str, event_key: str) -> Item | None: ...
    def rendezvous(self, id_izin: str, event_key: str) -> tuple[Item | None, list[Item]]: ...
    def update_wait(
        self, id_izin: str, event_key: str, fields: Item, **terms: Unpack[UpdateTerms]
    ) -> Item: ...
    # documents
    def put_document_version(self, id_izin: str, jenis: str, versi: int, item: Item) -> bool: ...
    def document_versions(self, id_izin: str, jenis: str = "") -> list[Item]: ...
    def put_document_pointer(self, document_id: str, fields: Item) -> bool: ...
    def document_pointer(self, document_id: str) -> Item | None: ...
    def tembusan(self, id_izin: str) -> Item | None: ...
    def record_tembusan(self, id_izin: str, fields: Item) -> None: ...
    def add_upload(self, id_izin: str, key: str, fields: Item) -> bool: ...
    def uploads(self, id_izin: str) -> list[Item]: ...
    # tickets
    def put_ticket(self, ticket_hash: str, fields: Item) -> None: ...
    def ticket(self, ticket_hash: str) -> Item | None: ...
    def update_ticket(
        self, ticket_hash: str, fields: Item, **terms: Unpack[UpdateTerms]
    ) -> Item: ...
    def keep_tte_offer(self, ticket_hash: str, offer: Item) -> Item: ...
    # webhook deliveries
    def put_delivery(self, source: str, event_id: str, fields: Item) -> bool: ...
    def delivery(self, source: str, event_id: str) -> Item | None: ...
    # letter numbers
    def next_number(self, jenis: str, year: int) -> int: ...
    # officers' second factor and sessions
    def officer_auth(self, nip: str) -> Item | None: ...
    def update_officer_auth(self, nip: str, fields: Item, **terms: Unpack[UpdateTerms]) -> Item: ...
    def put_session(self, session_hash: str, fields: Item) -> bool: ...
    def session(self, session_hash: str) -> Item | None: ...
    def update_session(self, session_hash: str, fields: Item) -> Item: ...
    # officers' delegations (Plh/Plt) and their own trail
    def put_delegation(self, nip: str, delegation_id: str, fields: Item) -> bool: ...
    def delegations(self, nip: str) -> list[Item]: ...
    def update_delegation(
        self, nip: str, delegation_id: str, fields: Item, **terms: Unpack[UpdateTerms]
    ) -> Item: ...
    def append_officer_audit(self, nip: str, entry: Item, *, now: datetime) -> None: ...
    def officer_audit(self, nip: str) -> list[Item]: ...
    def away_index(self) -> Item | None: ...
    def replace_away_index(self, fields: Item, *, version: int | None) -> Item: ...
    # the roster
    def roster_record(self) -> Item | None: ...
    def seed_roster(self, fields: Item) -> bool: ...
    def replace_roster(self, fields: Item, *, version: int) -> Item: ...

    def together(self) -> AbstractContextManager[Store]: ...


def retracted(trail: list[Item]) -> list[Item]:
    """The trail without the entries of a decision a later entry retracts: written with the
    ticket's claim, before Step Functions was told, and refused by it (`tasks.complete.Claim`).
    The retraction itself stays (`task.too_late`, `task.not_taken`)."""
    gone = {str(e["retracts"]) for e in trail if e.get("retracts")}
    if not gone:
        return trail
    return [e for e in trail if str(e.get("decision_id", "")) not in gone]


class Records:
    """The named methods of `Store`, over the primitives a subclass gives."""

    # -- the primitives ---------------------------------------------------------------------

    def put(self, pk: str, sk: str, fields: Item, *, if_absent: bool = False) -> bool:
        """Write an item; with if_absent, only when none has that key (False if one had)."""
        raise NotImplementedError

    def require(self, pk: str, sk: str, *, expect: Item | None = None) -> None:
        """ConditionFailed unless the item exists, or with `expect` unless its fields are as
        expected (None: absent, the item too maybe); in a `together()` block, a check made
        with the block's writes."""
        item = self.get(pk, sk)
        if item is None if expect is None else not as_expected(item, expect):
            raise ConditionFailed(f"{pk} {sk}: not as expected ({expect or 'to exist'})")

    def get(self, pk: str, sk: str) -> Item | None:
        """One item, strongly consistent, or None."""
        raise NotImplementedError

    def query(self, pk: str, prefix: str, *, newest_first: bool = False) -> list[Item]:
        """Every item of a partition whose sort key starts with `prefix`, by sort key."""
        raise NotImplementedError

    def query_past(self, pk: str, past: str) -> list[Item]:
        """Every item of a partition whose sort key sorts after `past`, by sort key."""
        raise NotImplementedError

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """The items of these keys that exist, strongly consistent: one read each here, a
        table that can batch them (DynamoStore) does."""
        found = {key: self.get(*key) for key in dict.fromkeys(keys)}
        return {key: item for key, item in found.items() if item is not None}

    def update(self, pk: str, sk: str, fields: Item, **terms: Unpack[PrimitiveUpdateTerms]) -> Item:
        """Set fields (and add, remove) atomically, if every condition of `terms` holds.

        Returns the item as it is after the write; raises ConditionFailed when a condition
        (or `must_exist`) did not hold. Without `must_exist` a missing item is created.
        """
        raise NotImplementedError

    def listed(self, index_pk: str, limit: int, *, until: str = "") -> list[Item]:
        """Up to `limit` items of one GSI1 partition, newest (highest GSI1SK) first, with
        GSI1SK at most `until` when given: page after page, as a Query answers at most 1 MB
        (about a thousand applications' records)."""
        items: list[Item] = []
        after: Item | None = None
        while len(items) < limit:
            page, after = self.listed_page(
                index_pk, limit - len(items), after=after, since="", until=until
            )
            items.extend(page)
            if after is None:
                break
        return items

    def listed_page(
        self, index_pk: str, limit: int, *, after: Item | None, since: str, until: str
    ) -> tuple[list[Item], Item | None]:
        """Up to `limit` items of one GSI1 partition, newest first, with GSI1SK within
        [since, until] (either may be empty), from after the key `after`; and the key to
        go on from (None when nothing is left)."""
        raise NotImplementedError

    def write_all(self, writes: Sequence[Write]) -> None:
        """Every one of these writes, or none of them: ConditionFailed when a condition does
        not hold (a put's `if_absent` too), and then nothing is written. Each item once, at
        most MOST_WRITES_TOGETHER (ValueError otherwise)."""
        raise NotImplementedError

    @contextmanager
    def together(self) -> Iterator[Records]:
        """The named writes made through the store it gives, written as one when the block
        ends (`write_all`), or none if the block raises: a change and its audit entry, say,
        in one request that cannot half-happen. The store it gives only writes: it refuses
        reads (read before the block), and its updates answer {} (the item after is not
        known until the block ends)."""
        batch = _Gathered()
        yield batch
        if batch.writes:
            self.write_all(batch.writes)

    # -- applications ----------------------------------------------------------------------

    def create_application(self, id_izin: str, fields: Item) -> bool:
        """Record a new application, open until `close_application`; False if it was
        already there (made in `together`, the marker is written only with the record)."""
        created = self.put(
            app_key(id_izin),
            "META",
            {"GSI1PK": "APPLICATION", "GSI1SK": fields["created_at"], **fields},
            if_absent=True,
        )
        if created:
            self.put(app_key(id_izin), _OPEN, _open_marker(id_izin, fields["created_at"]))
        return created

    def mark_open(self, id_izin: str, received: str) -> bool:
        """Give an application received before the markers existed its open marker; False
        when it has one (open, or closed at its outcome: left as it is)."""
        marker = _open_marker(id_izin, received)
        return self.put(app_key(id_izin), _OPEN, marker, if_absent=True)

    def application(self, id_izin: str) -> Item | None:
        """The application's record, or None."""
        return self.get(app_key(id_izin), "META")

    def require_application(self, id_izin: str) -> None:
        """ConditionFailed unless the application's record exists; in a `together()` block,
        the block's writes are made only if it does, with no read before (a ConditionCheck)."""
        self.require(app_key(id_izin), "META")

    def require_idle_wait(self, id_izin: str, event_key: str) -> None:
        """ConditionFailed while a waiter of this kind holds a token or a claim (no waiter
        passes); in a `together()` block, a check made with its writes, with no read before."""
        self.require(
            app_key(id_izin), _wait_sk(event_key), expect={"token": None, "claimed_token": None}
        )

    def require_roster(self, version: int | None) -> None:
        """ConditionFailed unless the roster is still at `version` (None: the table holds
        none); in a `together()` block, a check made with its writes, with no read before."""
        self.require(*_ROSTER, expect={"version": version})

    def applications_by_id(self, ids: Iterable[str]) -> dict[str, Item]:
        """The records of those of these applications that exist, by id, read together."""
        keys = {(app_key(id_izin), "META"): id_izin for id_izin in ids}
        return {keys[key]: item for key, item in self.get_many(keys).items()}

    def update_application(self, id_izin: str, fields: Item, **terms: Unpack[UpdateTerms]) -> Item:
        """Change the application's record (it must exist), conditionally (see UpdateTerms)."""
        return self.update(app_key(id_izin), "META", fields, must_exist=True, **terms)

    def applications(self, limit: int = 200) -> list[Item]:
        """The applications, newest first."""
        return self.listed("APPLICATION", limit)

    def open_applications(self, *, until: str = "") -> list[Item]:
        """The records of the applications not yet at their outcome (every one, received at
        or before `until` when given), newest first: a Query of the markers, then the
        records read together."""
        ids = [str(m["id_izin"]) for m in self.listed(_OPEN, EVERY_APPLICATION, until=until)]
        found = self.applications_by_id(ids)
        return [found[id_izin] for id_izin in ids if id_izin in found]

    def close_application(self, id_izin: str, *, now: datetime) -> None:
        """The application reached its outcome: its marker leaves the open ones' index (an
        application received before the markers existed gets one, never indexed)."""
        self.update(
            app_key(id_izin), _OPEN, {"closed_at": now.isoformat()}, remove=("GSI1PK", "GSI1SK")
        )

    def applications_page(
        self, limit: int, *, after: Item | None = None, since: str = "", until: str = ""
    ) -> tuple[list[Item], Item | None]:
        """A page of applications newest first, received (created_at) within [since,
        until], from after the key `after`; and the key the next page starts after."""
        return self.listed_page("APPLICATION", limit, after=after, since=since, until=until)

    def mark_started(self, id_izin: str, fields: Item) -> bool:
        """Note once that the application's execution started; False if it was noted."""
        return self.put(app_key(id_izin), "EXECUTION", fields, if_absent=True)

    # -- audit trail (append-only) ---------------------------------------------------------

    def _append_entry(self, pk: str, entry: Item, now: datetime) -> None:
        """Add an entry to the trail (the AUDIT# items) of a partition; never rewrite one."""
        # Entries written at one moment keep the order they were written in.
        at = now.astimezone(UTC).isoformat()
        sk = f"{TRAIL}{at}#{next(_SEQUENCE):010d}#{secrets.token_hex(4)}"
        if not self.put(pk, sk, {"at": now.isoformat(), **entry}, if_absent=True):
            raise ConditionFailed(f"audit entry {pk} {sk} exists")

    def append_audit(self, id_izin: str, entry: Item, *, now: datetime) -> None:
        """Append one entry to the application's audit trail; entries are never rewritten."""
        self._append_entry(app_key(id_izin), entry, now)

    def audit(self, id_izin: str) -> list[Item]:
        """The application's audit trail, oldest first, without what a later entry retracts
        (a decision Step Functions never took: `retracted`)."""
        return retracted(self.audit_as_written(id_izin))

    def audit_as_written(self, id_izin: str) -> list[Item]:
        """Every entry of the trail, oldest first, the retracted ones too (the export)."""
        return self.query(app_key(id_izin), TRAIL)

    # -- steps' data -----------------------------------------------------------------------

    def save_step(self, id_izin: str, step: int, data: Item) -> None:
        """Keep what an officer entered on a step's form (the latest decision wins)."""
        self.put(app_key(id_izin), _step_sk(step), {"data": data})

    def step_data(self, id_izin: str, step: int) -> Item:
        """What was entered on a step's form, or {}."""
        item = self.get(app_key(id_izin), _step_sk(step))
        return item["data"] if item else {}

    def step_data_of(self, ids: Iterable[str], step: int) -> dict[str, Item]:
        """What was entered on one step's form of each of these applications, read together
        (those without it left out)."""
        keys = {(app_key(id_izin), _step_sk(step)): id_izin for id_izin in ids}
        return {keys[key]: item["data"] for key, item in self.get_many(keys).items()}

    def steps(self, id_izin: str) -> dict[int, Item]:
        """What was entered on every step's form, by step number, in one query."""
        return {
            int(str(item["SK"]).removeprefix(_STEP_PREFIX)): item["data"]
            for item in self.query(app_key(id_izin), _STEP_PREFIX)
        }

    # -- events and waits ------------------------------------------------------------------

    def keep_event(
        self, id_izin: str, event_key: str, occurred_at: str, event_id: str, fields: Item
    ) -> bool:
        """Keep an event received for the application, once by its sender's id whatever its
        `occurred_at` (OSS's reconciliation sends an outcome again with a later one): the
        event and a marker of its id, as one; False if it was kept before. In a together()
        block, the two join the block's writes."""
        pk = app_key(id_izin)
        try:
            with self.together() as batch:
                batch.mark_event_seen(id_izin, event_key, event_id)
                batch.put(pk, f"EVENT#{event_key}#{occurred_at}#{event_id}", fields, if_absent=True)
        except ConditionFailed:
            return False
        return True

    def mark_event_seen(self, id_izin: str, event_key: str, event_id: str) -> bool:
        """The marker of an event's sender's id (`keep_event` writes it with the event; one
        kept before the markers existed is given it by `izin backfill-open`); False if the id
        had one."""
        source = event_key.split(":", 1)[0]
        marker = {"event_key": event_key}
        return self.put(app_key(id_izin), f"SEEN#{source}#{event_id}", marker, if_absent=True)

    def events(self, id_izin: str, event_key: str = "") -> list[Item]:
        """The application's events (of one kind, if given), oldest first."""
        return self.query(app_key(id_izin), f"EVENT#{event_key}#" if event_key else "EVENT#")

    def set_event(self, event: Item, fields: Item, **terms: Unpack[UpdateTerms]) -> Item:
        """Change a kept event (as `events` returned it), conditionally (see UpdateTerms)."""
        return self.update(event["PK"], event["SK"], fields, **terms)

    def put_wait(self, id_izin: str, event_key: str, fields: Item) -> None:
        """A state waits for an event: its record replaces any earlier one."""
        self.put(app_key(id_izin), _wait_sk(event_key), fields)

    def wait(self, id_izin: str, event_key: str) -> Item | None:
        """The record of the state waiting for an event, or None."""
        return self.get(app_key(id_izin), _wait_sk(event_key))

    def rendezvous(self, id_izin: str, event_key: str) -> tuple[Item | None, list[Item]]:
        """The record of the state waiting for an event and the events of its kind (oldest
        first), in one read: the application's partition but its trail, one Query."""
        wait_sk, events = _wait_sk(event_key), f"EVENT#{event_key}#"
        items = self.query_past(app_key(id_izin), PAST_TRAIL)
        wait = next((i for i in items if i["SK"] == wait_sk), None)
        return wait, [i for i in items if str(i["SK"]).startswith(events)]

    def update_wait(
        self, id_izin: str, event_key: str, fields: Item, **terms: Unpack[UpdateTerms]
    ) -> Item:
        """Change a wait's record, conditionally (see UpdateTerms)."""
        return self.update(app_key(id_izin), _wait_sk(event_key), fields, **terms)

    # -- documents -------------------------------------------------------------------------

    def put_document_version(self, id_izin: str, jenis: str, versi: int, item: Item) -> bool:
        """Record a document version, once; False if that version was recorded."""
        return self.put(app_key(id_izin), f"DOC#{jenis}#{versi:03d}", item, if_absent=True)

    def document_versions(self, id_izin: str, jenis: str = "") -> list[Item]:
        """The application's document versions (of one type, if given), in one query."""
        return self.query(app_key(id_izin), f"DOC#{jenis}#" if jenis else "DOC#")

    def put_document_pointer(self, document_id: str, fields: Item) -> bool:
        """Point a document id at its version, once; False if the id was taken."""
        return self.put(_document_pk(document_id), "DOCUMENT", fields, if_absent=True)

    def document_pointer(self, document_id: str) -> Item | None:
        """What a document id points at, or None."""
        return self.get(_document_pk(document_id), "DOCUMENT")

    def tembusan(self, id_izin: str) -> Item | None:
        """The record of the tembusan sent for the application, or None."""
        return self.get(app_key(id_izin), "TEMBUSAN")

    def record_tembusan(self, id_izin: str, fields: Item) -> None:
        """Note that the tembusan was sent."""
        self.put(app_key(id_izin), "TEMBUSAN", fields)

    # -- evidence uploaded on task pages (izin.evidence) ---------------------------------

    def add_upload(self, id_izin: str, key: str, fields: Item) -> bool:
        """Record an uploaded file by its object key, once; False if it was recorded."""
        return self.put(app_key(id_izin), f"LAMPIRAN#{key}", fields, if_absent=True)

    def uploads(self, id_izin: str) -> list[Item]:
        """The application's recorded uploads, in one query."""
        return self.query(app_key(id_izin), "LAMPIRAN#")

    # -- tickets ---------------------------------------------------------------------------

    def put_ticket(self, ticket_hash: str, fields: Item) -> None:
        """Store a new ticket under its hash."""
        if not self.put(*_ticket_key(ticket_hash), fields, if_absent=True):
            raise ConditionFailed("ticket hash collision")

    def ticket(self, ticket_hash: str) -> Item | None:
        """A ticket by its hash, or None."""
        return self.get(*_ticket_key(ticket_hash))

    def update_ticket(self, ticket_hash: str, fields: Item, **terms: Unpack[UpdateTerms]) -> Item:
        """Change a ticket (it must exist), conditionally (see UpdateTerms)."""
        return self.update(*_ticket_key(ticket_hash), fields, must_exist=True, **terms)

    def keep_tte_offer(self, ticket_hash: str, offer: Item) -> Item:
        """Keep on the ticket step 14's PDFs offered to sign by hand (izin.tasks.tte_manual),
        once: the offer kept, this one or the one a racing request kept first."""
        try:
            item = self.update(
                *_ticket_key(ticket_hash),
                {TTE_OFFER: offer},
                expect={TTE_OFFER: None},
                must_exist=True,
            )
        except ConditionFailed:
            kept = self.ticket(ticket_hash)
            if kept is None or TTE_OFFER not in kept:
                raise
            item = kept
        return dict(item[TTE_OFFER])

    # -- webhook deliveries ----------------------------------------------------------------

    def put_delivery(self, source: str, event_id: str, fields: Item) -> bool:
        """Record a webhook delivery, once; False if that event was delivered before."""
        return self.put(_delivery_pk(source, event_id), "DELIVERY", fields, if_absent=True)

    def delivery(self, source: str, event_id: str) -> Item | None:
        """A delivery's record, or None."""
        return self.get(_delivery_pk(source, event_id), "DELIVERY")

    # -- counters --------------------------------------------------------------------------

    def next_number(self, jenis: str, year: int) -> int:
        """Take the next number of a counter, atomically: no gap, no duplicate."""
        item = self.update(f"COUNTER#{jenis}#{year}", "COUNTER", {}, add={"value": 1})
        return int(item["value"])

    # -- officers' second factor and sessions ------------------------------------------------

    def officer_auth(self, nip: str) -> Item | None:
        """An officer's second-factor record (encrypted secret, last time-step used), or None."""
        return self.get(*_officer_auth_key(nip))

    def update_officer_auth(self, nip: str, fields: Item, **terms: Unpack[UpdateTerms]) -> Item:
        """Change (or start) an officer's second-factor record, conditionally (see UpdateTerms)."""
        return self.update(*_officer_auth_key(nip), fields, **terms)

    def put_session(self, session_hash: str, fields: Item) -> bool:
        """Keep a new session, once; False if one had that id."""
        return self.put(_session_pk(session_hash), "SESSION", fields, if_absent=True)

    def session(self, session_hash: str) -> Item | None:
        """A session's record, or None."""
        return self.get(_session_pk(session_hash), "SESSION")

    def update_session(self, session_hash: str, fields: Item) -> Item:
        """Change a session's record (it must exist)."""
        return self.update(_session_pk(session_hash), "SESSION", fields, must_exist=True)

    # -- officers' delegations (Plh/Plt) ------------------------------------------------------

    def put_delegation(self, nip: str, delegation_id: str, fields: Item) -> bool:
        """Keep a delegation named for the officer `nip`, once; False if the id was taken."""
        return self.put(f"OFFICER#{nip}", f"DELEGATION#{delegation_id}", fields, if_absent=True)

    def delegations(self, nip: str) -> list[Item]:
        """Every delegation named for the officer `nip` (one Query), oldest id first."""
        return self.query(f"OFFICER#{nip}", "DELEGATION#")

    def update_delegation(
        self, nip: str, delegation_id: str, fields: Item, **terms: Unpack[UpdateTerms]
    ) -> Item:
        """Change a delegation (it must exist), conditionally (see UpdateTerms)."""
        return self.update(
            f"OFFICER#{nip}", f"DELEGATION#{delegation_id}", fields, must_exist=True, **terms
        )

    def append_officer_audit(self, nip: str, entry: Item, *, now: datetime) -> None:
        """Add an entry to an officer's own trail (what was named or ended for them)."""
        self._append_entry(f"OFFICER#{nip}", entry, now)

    def officer_audit(self, nip: str) -> list[Item]:
        """An officer's own trail, oldest first."""
        return self.query(f"OFFICER#{nip}", TRAIL)

    def away_index(self) -> Item | None:
        """Who may be away (izin.delegation): one item, or None before the first delegation."""
        return self.get(*_AWAY)

    def replace_away_index(self, fields: Item, *, version: int | None) -> Item:
        """Set who may be away if the index is still at `version` (None: none exists yet;
        else ConditionFailed), and count the version on."""
        return self.update(*_AWAY, fields, expect={"version": version}, add={"version": 1})

    # -- the roster (izin.roster) -------------------------------------------------------------

    def roster_record(self) -> Item | None:
        """The roster as the table keeps it (one item, one read), or None before its seed."""
        return self.get(*_ROSTER)

    def seed_roster(self, fields: Item) -> bool:
        """Write the first roster (version 1), once; False if the table holds one."""
        return self.put(*_ROSTER, {**fields, "version": 1}, if_absent=True)

    def replace_roster(self, fields: Item, *, version: int) -> Item:
        """Replace the roster's fields if it is still at `version` (else ConditionFailed), and
        count the version on: of two admins saving at once, one wins."""
        return self.update(*_ROSTER, fields, expect={"version": version}, add={"version": 1})


class _Gathered(Records):
    """The writes of a `together()` block, kept to be made as one."""

    def __init__(self) -> None:
        self.writes: list[Write] = []

    def put(self, pk: str, sk: str, fields: Item, *, if_absent: bool = False) -> bool:
        self.writes.append(Write(pk, sk, fields, if_absent=if_absent))
        return True

    def update(self, pk: str, sk: str, fields: Item, **terms: Unpack[PrimitiveUpdateTerms]) -> Item:
        self.writes.append(Write(pk, sk, fields, update=True, terms=terms))
        return {}

    def require(self, pk: str, sk: str, *, expect: Item | None = None) -> None:
        if expect is not None and not expect:
            raise ValueError("a check expects at least one field, or that the item exists")
        terms = PrimitiveUpdateTerms(expect=expect) if expect is not None else {}
        self.writes.append(Write(pk, sk, {}, check=True, terms=terms))

    def write_all(self, writes: Sequence[Write]) -> None:
        """A together() block inside this one: its writes join this block's."""
        self.writes.extend(writes)

    def get(self, pk: str, sk: str) -> Item | None:
        raise TypeError("together() only writes: read before the block")

    def query(self, pk: str, prefix: str, *, newest_first: bool = False) -> list[Item]:
        raise TypeError("together() only writes: read before the block")

    def query_past(self, pk: str, past: str) -> list[Item]:
        raise TypeError("together() only writes: read before the block")


def session_checks(
    session_hash: str, nip: str, *, generation: int, expires_at_least: int
) -> list[Write]:
    """The checks that a session is live, for a write made on it unread: kept, the officer's
    (`nip`), not ended, of the `generation` the officer's record is still at (an admin's
    `end_all_sessions` raises it), its TTL `expires_at` at least `expires_at_least`."""
    session = PrimitiveUpdateTerms(
        must_exist=True,
        expect={"nip": nip, "ended_at": None, "generation": generation},
        at_least={"expires_at": expires_at_least},
    )
    # A missing counter is generation 0: `below` holds on it, `at_least` does not.
    officer = PrimitiveUpdateTerms(below={"sessions_generation": generation + 1})
    if generation:
        officer["at_least"] = {"sessions_generation": generation}
    return [
        Write(_session_pk(session_hash), "SESSION", {}, check=True, terms=session),
        Write(*_officer_auth_key(nip), {}, check=True, terms=officer),
    ]


def roster_checks(version: int | None) -> list[Write]:
    """The check that the roster is still at `version`, for a write made from it unread."""
    guard = _Gathered()
    guard.require_roster(version)
    return guard.writes


@dataclass
class _Presumed:
    """What an invocation presumed: the checks each of its writes carries until one is made,
    and how to confirm it by reading when none is."""

    checks: list[Write]
    confirm: Callable[[], bool]


@dataclass(frozen=True)
class RosterAt:
    """The roster's version an invocation read it at (None: the table held none)."""

    version: int | None


class InvocationStore(Records):
    """One invocation's view of the table: the same item or Query is read once, and reads
    see this invocation's own writes. Made afresh for each invocation, never kept across
    them (another invocation's writes in between are seen by the next one); a write whose
    condition failed forgets what was read of its partition, so the next read is fresh.

    With `whole_applications`, the first read in an application's partition reads the whole
    partition but its trail in one Query and answers the later reads in it from what it
    read: the record, the steps, the documents, the uploads and the waits together. The
    trail, two thirds of a partition's items by the end, is read when asked; `with_trail`
    reads it in the same Query, for the task page that shows it.

    With `roster_at`, every write made as one (`together()`) holds only while the roster is
    still at that version (a ConditionCheck beside it, no read): what a function wrote from a
    roster it kept from an earlier invocation is never written once the roster changed. Its
    work is then done again with the roster read afresh, in a new view given the same
    `numbers`: the one number of each counter the work takes (a letter's), taken by the
    first try, is the one the second uses."""

    def __init__(
        self,
        table: Records,
        *,
        whole_applications: bool = False,
        with_trail: bool = False,
        roster_at: RosterAt | None = None,
        numbers: dict[tuple[str, int], int] | None = None,
    ) -> None:
        self.table = table
        self.whole_applications = whole_applications
        self.with_trail = with_trail
        self.roster_at = roster_at
        self.numbers = numbers
        self._items: dict[tuple[str, str], Item | None] = {}
        self._queries: dict[tuple[str, str], list[Item]] = {}
        self._partitions: dict[str, dict[str, Item]] = {}
        self._presumed: list[_Presumed] = []

    def presume(self, checks: Sequence[Write], confirm: Callable[[], bool]) -> None:
        """Go on as if something unread holds (a session live, the roster unchanged), on
        `checks` that say it: every write carries them (a ConditionCheck each, no read) until
        one is made, which proves them; a write refused for them raises PresumptionRefused,
        nothing of it written. `confirm()` (reading, True when it holds) proves them where no
        write does: `confirm_presumed`, before an answer or an act outside the table."""
        already = [c for p in self._presumed for c in p.checks]
        if all(check in already for check in checks):
            return  # presumed already (a page asks who it is more than once)
        self._presumed.append(_Presumed(list(checks), confirm))

    @property
    def presuming(self) -> bool:
        """Whether something presumed is still unproved."""
        return bool(self._presumed)

    def confirm_presumed(self) -> None:
        """Prove by reading what is presumed and no write proved yet (PresumptionRefused when
        it does not hold)."""
        presumed, self._presumed = self._presumed, []
        if not all(p.confirm() for p in presumed):
            raise PresumptionRefused("what was presumed does not hold")

    def _with_presumed(self, writes: Sequence[Write]) -> tuple[list[Write], set[tuple[str, str]]]:
        """The writes with the checks of what is presumed, and the checks' items; presumed
        items a write changes itself are confirmed by reading first (one transaction takes
        an item once)."""
        checks = [c for p in self._presumed for c in p.checks]
        keys = {(c.pk, c.sk) for c in checks}
        if keys & {(w.pk, w.sk) for w in writes}:
            self.confirm_presumed()
            return list(writes), set()
        return [*writes, *checks], keys

    def _in_whole(self, pk: str, within: str) -> bool:
        """Whether every item of `pk` whose key starts with `within` (a key, or a query's
        prefix) is in the partition as this invocation reads it whole."""
        if not (self.whole_applications and pk.startswith(app_key(""))):
            return False
        # Without the trail: neither an item of the trail nor a query spanning it.
        return self.with_trail or not (within.startswith(TRAIL) or TRAIL.startswith(within))

    def _whole(self, pk: str, within: str) -> dict[str, Item] | None:
        """The partition as read whole (and written since) when the items of `within` are
        in it; else None."""
        if not self._in_whole(pk, within):
            return None
        if pk not in self._partitions:
            read = (
                self.table.query(pk, "")
                if self.with_trail
                else self.table.query_past(pk, PAST_TRAIL)
            )
            self._partitions[pk] = {str(i["SK"]): i for i in read}
        return self._partitions[pk]

    def _forget(self, pk: str) -> None:
        self._partitions.pop(pk, None)
        self._items = {k: v for k, v in self._items.items() if k[0] != pk}
        self._queries = {k: v for k, v in self._queries.items() if k[0] != pk}

    def _written(self, pk: str, sk: str, item: Item) -> None:
        """Keep an item as this invocation wrote it; drop the Queries it may change."""
        self._drop_queries(pk, sk)
        if pk in self._partitions and self._in_whole(pk, sk):
            self._partitions[pk][sk] = item
        else:
            self._items[(pk, sk)] = item

    def _drop_queries(self, pk: str, sk: str) -> None:
        """Forget the Queries whose answer an item `pk`/`sk` written may change: those of its
        partition whose prefix its key starts with."""
        self._queries = {
            k: v for k, v in self._queries.items() if not (k[0] == pk and sk.startswith(k[1]))
        }

    def put(self, pk: str, sk: str, fields: Item, *, if_absent: bool = False) -> bool:
        """Write an item; with if_absent, only when none has that key (False if one had)."""
        if self._presumed:  # the checks of what is presumed go with it: one transaction
            try:
                self.write_all([Write(pk, sk, fields, if_absent=if_absent)])
            except ConditionFailed:
                return False
            return True
        try:
            done = self.table.put(pk, sk, fields, if_absent=if_absent)
        except Exception:
            self._forget(pk)
            raise
        if not done:
            self._forget(pk)
            return False
        # The item as a read would give it back (numbers as DynamoDB keeps them).
        self._written(pk, sk, as_stored({**fields, "PK": pk, "SK": sk}))
        return True

    def get(self, pk: str, sk: str) -> Item | None:
        """One item, read once in this invocation."""
        whole = self._whole(pk, sk)
        if whole is not None:
            item = whole.get(sk)
        elif (pk, sk) in self._items:
            item = self._items[(pk, sk)]
        else:
            item = self._items[(pk, sk)] = self.table.get(pk, sk)
        return _copied(item)

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """The items of these keys that exist, each read once in this invocation: those not
        read yet, in one batched read."""
        wanted = list(dict.fromkeys(keys))
        unread = [k for k in wanted if k not in self._items and not self._in_whole(*k)]
        if unread:
            found = self.table.get_many(unread)
            self._items.update({key: found.get(key) for key in unread})
        items = {key: self.get(*key) for key in wanted}
        return {key: item for key, item in items.items() if item is not None}

    def read_ahead(
        self,
        *,
        ticket_hash: str = "",
        session_hash: str = "",
        officer_nip: str = "",
        roster: bool = False,
        away: bool = False,
        application: str = "",
        steps: Iterable[int] = (),
    ) -> None:
        """Read a request's ticket, its session, the second-factor record of the officer it
        names, the roster in force, who may be away, and an application's record and the
        data of these of its `steps` together (one BatchGetItem) when the invocation will
        read them all anyway, one GetItem apiece (the steps: one Query). The steps read
        are all the application's: `steps()` is answered from them."""
        keys = [
            key
            for key, wanted in (
                (_ticket_key(ticket_hash), ticket_hash),
                ((_session_pk(session_hash), "SESSION"), session_hash),
                (_officer_auth_key(officer_nip), officer_nip),
                (_ROSTER, roster),
                (_AWAY, away),
                ((app_key(application), "META"), application),
            )
            if wanted
        ]
        step_keys = [(app_key(application), _step_sk(n)) for n in steps] if application else []
        if len(keys) + len(step_keys) > 1:  # a single key: its own GetItem later is one call
            found = self.get_many(keys + step_keys)
            if step_keys and not self._in_whole(app_key(application), _STEP_PREFIX):
                self._queries[(app_key(application), _STEP_PREFIX)] = [
                    found[key] for key in sorted(step_keys) if key in found
                ]

    def query(self, pk: str, prefix: str, *, newest_first: bool = False) -> list[Item]:
        """Every item of a partition whose sort key starts with `prefix`, by sort key."""
        whole = self._whole(pk, prefix)
        if whole is not None:
            found = [whole[sk] for sk in sorted(whole) if sk.startswith(prefix)]
        elif (pk, prefix) in self._queries:
            found = self._queries[(pk, prefix)]
        else:
            found = self._queries[(pk, prefix)] = self.table.query(pk, prefix)
        return _copied(found[::-1] if newest_first else found)

    def query_past(self, pk: str, past: str) -> list[Item]:
        """Every item of a partition whose sort key sorts after `past` (not kept)."""
        return self.table.query_past(pk, past)

    def update(self, pk: str, sk: str, fields: Item, **terms: Unpack[PrimitiveUpdateTerms]) -> Item:
        """Set fields atomically, if every condition holds (Records.update); the item after
        (which a transaction does not answer: what is presumed is read first)."""
        self.confirm_presumed()
        try:
            item = self.table.update(pk, sk, fields, **terms)
        except Exception:
            self._forget(pk)
            raise
        self._written(pk, sk, item)
        return _copied(item)

    def next_number(self, jenis: str, year: int) -> int:
        """The next number of a counter (Records.next_number); with `numbers`, taken once by
        the views given them, and the same one answered after."""
        if self.numbers is None:
            return super().next_number(jenis, year)
        if (jenis, year) not in self.numbers:
            self.numbers[(jenis, year)] = super().next_number(jenis, year)
        return self.numbers[(jenis, year)]

    def write_all(self, writes: Sequence[Write]) -> None:
        """The writes as one (Records.write_all); an update's item after is kept where the
        item before was read, and read afresh later where it was not."""
        if self.roster_at is not None and _ROSTER not in {(w.pk, w.sk) for w in writes}:
            writes = [*writes, *roster_checks(self.roster_at.version)]
        writes, presumed = self._with_presumed(writes)
        try:
            self.table.write_all(writes)
        except ConditionFailed as refused:
            for write in writes:
                self._forget(write.pk)
            if presumed & set(refused.keys):
                raise PresumptionRefused(str(refused)) from refused
            raise
        except Exception:
            for write in writes:
                self._forget(write.pk)
            raise
        self._presumed = []  # a write made with the checks proves them
        for w in writes:
            if w.check:
                continue
            if not w.update:
                self._written(w.pk, w.sk, as_stored({**w.fields, "PK": w.pk, "SK": w.sk}))
            elif w.pk in self._partitions and self._in_whole(w.pk, w.sk):
                self._written(w.pk, w.sk, applied(self._partitions[w.pk].get(w.sk), **_of(w)))
            elif (w.pk, w.sk) in self._items:
                self._written(w.pk, w.sk, applied(self._items[(w.pk, w.sk)], **_of(w)))
            else:
                self._drop_queries(w.pk, w.sk)

    def listed(self, index_pk: str, limit: int, *, until: str = "") -> list[Item]:
        """The items of one GSI1 partition, newest first (not kept: the index is eventual)."""
        return self.table.listed(index_pk, limit, until=until)

    def listed_page(
        self, index_pk: str, limit: int, *, after: Item | None, since: str, until: str
    ) -> tuple[list[Item], Item | None]:
        """One page of a GSI1 partition (not kept)."""
        return self.table.listed_page(index_pk, limit, after=after, since=since, until=until)


def _of(write: Write) -> dict[str, Any]:
    """An update's arguments to `applied`."""
    return {"pk": write.pk, "sk": write.sk, "fields": write.fields, "terms": write.terms}


def update_expression(fields: Item, terms: PrimitiveUpdateTerms) -> dict[str, Any]:
    """The UpdateItem arguments (expression, names, values, condition) of an update."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets: list[str] = []
    adds: list[str] = []
    conditions: list[str] = []
    # Each clause that pairs a field with a value: its placeholders' letter, its form, its list.
    clauses: tuple[tuple[str, Mapping[str, Any], str, list[str]], ...] = (
        ("s", fields, "{n} = {v}", sets),
        ("a", terms.get("add") or {}, "{n} {v}", adds),
        ("b", terms.get("below") or {}, "(attribute_not_exists({n}) OR {n} < {v})", conditions),
        ("l", terms.get("at_least") or {}, "{n} >= {v}", conditions),
    )
    for letter, pairs, form, clauses_of_kind in clauses:
        for i, (name, value) in enumerate(pairs.items()):
            names[f"#{letter}{i}"] = name
            values[f":{letter}{i}"] = _attr(value)
            clauses_of_kind.append(form.format(n=f"#{letter}{i}", v=f":{letter}{i}"))
    for i, (name, value) in enumerate((terms.get("expect") or {}).items()):
        names[f"#c{i}"] = name
        if value is None:
            conditions.append(f"attribute_not_exists(#c{i})")
        else:
            values[f":c{i}"] = _attr(value)
            conditions.append(f"#c{i} = :c{i}")
    for i, name in enumerate(terms.get("present", ())):
        names[f"#p{i}"] = name
        conditions.append(f"attribute_exists(#p{i})")
    removes = []
    for i, name in enumerate(terms.get("remove", ())):
        names[f"#r{i}"] = name
        removes.append(f"#r{i}")
    if terms.get("must_exist"):
        conditions.append("attribute_exists(PK)")
    expression = " ".join(
        part
        for part in (
            "SET " + ", ".join(sets) if sets else "",
            "ADD " + ", ".join(adds) if adds else "",
            "REMOVE " + ", ".join(removes) if removes else "",
        )
        if part
    )
    kwargs: dict[str, Any] = {"UpdateExpression": expression, "ExpressionAttributeNames": names}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    if conditions:
        kwargs["ConditionExpression"] = " AND ".join(conditions)
    return kwargs


# DynamoDB's most keys in one BatchGetItem.
_BATCH_GET_KEYS = 100
# How often writes made as one are tried again when DynamoDB cancels them for a passing
# reason (another transaction on one of their items, throttling); then the step's own retry.
_CONFLICT_RETRIES = 3
_PASSING_CANCELS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)


class DynamoStore(Records):
    """The table in DynamoDB."""

    def __init__(self, table_name: str) -> None:
        self.table = table_name

    @property
    def _db(self) -> Any:
        return client("dynamodb")

    def put(self, pk: str, sk: str, fields: Item, *, if_absent: bool = False) -> bool:
        """Write an item; with if_absent, only when none has that key (False if one had)."""
        kwargs: dict[str, Any] = {}
        if if_absent:
            kwargs["ConditionExpression"] = "attribute_not_exists(PK)"
        try:
            self._apart_from_transactions(
                lambda: self._db.put_item(
                    TableName=self.table, Item=_to_item({"PK": pk, "SK": sk, **fields}), **kwargs
                )
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _apart_from_transactions(self, write: Callable[[], Any]) -> Any:
        """A single write, tried again while a transaction holds its item: DynamoDB refuses
        it then (TransactionConflictException, which the SDK does not retry), having written
        nothing; the roster, say, that every document's transaction checks."""
        for attempt in itertools.count():
            try:
                return write()
            except self._db.exceptions.TransactionConflictException as error:
                if attempt >= _CONFLICT_RETRIES:
                    raise TransientError(f"a transaction holds the item: {error}") from error
            time.sleep(min(1.0, 0.05 * 2**attempt))  # DynamoDB's advice: back off

    def get(self, pk: str, sk: str) -> Item | None:
        """One item, strongly consistent, or None."""
        answer = self._db.get_item(
            TableName=self.table, Key=_to_item({"PK": pk, "SK": sk}), ConsistentRead=True
        )
        return _from_item(answer["Item"]) if "Item" in answer else None

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """The items of these keys that exist: BatchGetItem, 100 keys a call, strongly
        consistent; keys DynamoDB leaves unprocessed (throttled) are asked again."""
        found: dict[tuple[str, str], Item] = {}
        wanted = [_to_item({"PK": pk, "SK": sk}) for pk, sk in dict.fromkeys(keys)]
        for start in range(0, len(wanted), _BATCH_GET_KEYS):
            request = {
                self.table: {
                    "Keys": wanted[start : start + _BATCH_GET_KEYS],
                    "ConsistentRead": True,
                }
            }
            for attempt in itertools.count():
                answer = self._db.batch_get_item(RequestItems=request)
                for raw in answer.get("Responses", {}).get(self.table, []):
                    item = _from_item(raw)
                    found[(str(item["PK"]), str(item["SK"]))] = item
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(1.0, 0.05 * 2**attempt))  # DynamoDB's advice: back off
        return found

    def query(self, pk: str, prefix: str, *, newest_first: bool = False) -> list[Item]:
        """Every item of a partition whose sort key starts with `prefix`."""
        # DynamoDB takes no empty string in a key condition: no prefix is the whole partition.
        values = {":pk": pk, ":prefix": prefix} if prefix else {":pk": pk}
        condition = "PK = :pk AND begins_with(SK, :prefix)" if prefix else "PK = :pk"
        return self._query(condition, values, newest_first=newest_first)

    def query_past(self, pk: str, past: str) -> list[Item]:
        """Every item of a partition whose sort key sorts after `past`."""
        return self._query("PK = :pk AND SK > :past", {":pk": pk, ":past": past})

    def _query(self, condition: str, values: Item, *, newest_first: bool = False) -> list[Item]:
        items: list[Item] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": _to_item(values),
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        while True:
            answer = self._db.query(**kwargs)
            items += [_from_item(i) for i in answer.get("Items", [])]
            if "LastEvaluatedKey" not in answer:
                return items
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def update(self, pk: str, sk: str, fields: Item, **terms: Unpack[PrimitiveUpdateTerms]) -> Item:
        """Set fields (and add to counters) atomically, if every condition holds."""
        kwargs = update_expression(fields, terms)
        try:
            answer = self._apart_from_transactions(
                lambda: self._db.update_item(
                    TableName=self.table,
                    Key=_to_item({"PK": pk, "SK": sk}),
                    ReturnValues="ALL_NEW",
                    **kwargs,
                )
            )
        except self._db.exceptions.ConditionalCheckFailedException as error:
            raise ConditionFailed(
                f"{pk} {sk}: {kwargs.get('ConditionExpression')}", keys=[(pk, sk)]
            ) from error
        return _from_item(answer["Attributes"])

    def write_all(self, writes: Sequence[Write]) -> None:
        """One TransactWriteItems (a single write is its own PutItem or UpdateItem). IAM
        authorizes each of its writes as that PutItem or UpdateItem would be."""
        distinct_items(writes)
        if len(writes) == 1:
            only = writes[0]
            if only.check:
                self.require(only.pk, only.sk, expect=only.terms.get("expect"))
            elif only.update:
                self.update(only.pk, only.sk, only.fields, **only.terms)
            elif not self.put(only.pk, only.sk, only.fields, if_absent=only.if_absent):
                raise ConditionFailed(f"{only.pk} {only.sk} exists", keys=[(only.pk, only.sk)])
            return
        items = [self._transact_item(w) for w in writes]
        for attempt in itertools.count():
            try:
                self._db.transact_write_items(TransactItems=items)
                return
            except self._db.exceptions.TransactionCanceledException as error:
                reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in reasons:
                    keys = [
                        (w.pk, w.sk)
                        for w, r in zip(writes, reasons, strict=False)
                        if r == "ConditionalCheckFailed"  # not one only in the conflict
                    ]
                    raise ConditionFailed(f"{keys}: {reasons}", keys=keys) from error
                if not _PASSING_CANCELS & set(reasons):
                    raise
                if attempt >= _CONFLICT_RETRIES:
                    raise TransientError(f"TransactWriteItems: {reasons}") from error
            time.sleep(min(1.0, 0.05 * 2**attempt))  # DynamoDB's advice: back off

    def _transact_item(self, write: Write) -> dict[str, Any]:
        if write.check:
            key = _to_item({"PK": write.pk, "SK": write.sk})
            condition: dict[str, Any] = {"ConditionExpression": "attribute_exists(PK)"}
            if any(write.terms.get(t) for t in ("expect", "below", "at_least", "present")):
                condition = update_expression({}, write.terms)
                del condition["UpdateExpression"]
            return {"ConditionCheck": {"TableName": self.table, "Key": key, **condition}}
        if write.update:
            key = _to_item({"PK": write.pk, "SK": write.sk})
            expression = update_expression(write.fields, write.terms)
            return {"Update": {"TableName": self.table, "Key": key, **expression}}
        put: dict[str, Any] = {
            "TableName": self.table,
            "Item": _to_item({"PK": write.pk, "SK": write.sk, **write.fields}),
        }
        if write.if_absent:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        return {"Put": put}

    def listed_page(
        self, index_pk: str, limit: int, *, after: Item | None, since: str, until: str
    ) -> tuple[list[Item], Item | None]:
        """One Query page of a GSI1 partition, newest first, and its LastEvaluatedKey."""
        condition, values = _gsi1_range(index_pk, since, until)
        kwargs: dict[str, Any] = {"ExclusiveStartKey": _to_item(after)} if after else {}
        answer = self._db.query(
            TableName=self.table,
            IndexName="GSI1",
            KeyConditionExpression=condition,
            ExpressionAttributeValues=_to_item(values),
            ScanIndexForward=False,
            Limit=limit,
            **kwargs,
        )
        last = answer.get("LastEvaluatedKey")
        return [_from_item(i) for i in answer.get("Items", [])], _from_item(last) if last else None


def _gsi1_range(index_pk: str, since: str, until: str) -> tuple[str, Item]:
    values: Item = {":pk": index_pk}
    if since and until:
        values |= {":since": since, ":until": until}
        return "GSI1PK = :pk AND GSI1SK BETWEEN :since AND :until", values
    if since:
        return "GSI1PK = :pk AND GSI1SK >= :since", values | {":since": since}
    if until:
        return "GSI1PK = :pk AND GSI1SK <= :until", values | {":until": until}
    return "GSI1PK = :pk", values
