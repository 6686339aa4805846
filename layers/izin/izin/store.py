"""The one DynamoDB table: applications, audit trail, tickets, awaited events, counters.

Keys (single-table design):

| item | PK | SK |
|---|---|---|
| application | `APP#{id_izin}` | `META` (GSI1: `APPLICATION` / created_at) |
| audit entry (append-only) | `APP#{id_izin}` | `AUDIT#{iso time}#{random}` |
| a step's form data | `APP#{id_izin}` | `STEP#{nn}` |
| a document version | `APP#{id_izin}` | `DOC#{jenis}#{versi:03d}` |
| an awaited event's waiter | `APP#{id_izin}` | `WAIT#{event}` |
| an event received | `APP#{id_izin}` | `EVENT#{event}#{received}#{event_id}` |
| ticket | `TICKET#{sha256}` | `TICKET` |
| webhook delivery (TTL) | `DELIVERY#{source}#{event_id}` | `DELIVERY` |
| letter-number counter | `COUNTER#{jenis}#{year}` | `COUNTER` |
| the execution started (once) | `APP#{id_izin}` | `EXECUTION` |
| the tembusan sent (once) | `APP#{id_izin}` | `TEMBUSAN` |
| a document version's pointer | `DOCUMENT#{document_id}` | `DOCUMENT` |
| Powertools idempotency record (TTL) | `IDEMPOTENCY#{function}` | `{function}#{hash}` |

Values are plain Python (dicts, lists, int, float, str); numbers cross as Decimal and back.
This module is the adapter: it knows DynamoDB, and nothing of the SOP's rules.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from izin.aws import client

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
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamo(v) for v in value]
    return value


_SERIALIZER = TypeSerializer()
_SEQUENCE = itertools.count()
_DESERIALIZER = TypeDeserializer()


def _attr(value: Any) -> dict[str, Any]:
    return dict(_SERIALIZER.serialize(_to_dynamo(value)))


def _to_item(fields: Item) -> dict[str, Any]:
    return {k: _attr(v) for k, v in fields.items()}


def _from_item(item: dict[str, Any]) -> Item:
    return {k: _from_dynamo(_DESERIALIZER.deserialize(v)) for k, v in item.items()}


def app_key(id_izin: str) -> str:
    """The partition key of an application's items."""
    return f"APP#{id_izin}"


class ConditionFailed(Exception):
    """A conditional write lost: the item was not in the state the writer expected."""


class Store:
    """Reads and writes the table's items."""

    def __init__(self, table_name: str) -> None:
        self.table = table_name

    @property
    def _db(self) -> Any:
        return client("dynamodb")

    # -- generic -------------------------------------------------------------------------

    def put(self, pk: str, sk: str, fields: Item, *, if_absent: bool = False) -> bool:
        """Write an item; with if_absent, only when none has that key (False if one had)."""
        kwargs: dict[str, Any] = {}
        if if_absent:
            kwargs["ConditionExpression"] = "attribute_not_exists(PK)"
        try:
            self._db.put_item(
                TableName=self.table, Item=_to_item({"PK": pk, "SK": sk, **fields}), **kwargs
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get(self, pk: str, sk: str) -> Item | None:
        """One item, strongly consistent, or None."""
        answer = self._db.get_item(
            TableName=self.table, Key=_to_item({"PK": pk, "SK": sk}), ConsistentRead=True
        )
        return _from_item(answer["Item"]) if "Item" in answer else None

    def query(self, pk: str, prefix: str, *, newest_first: bool = False) -> list[Item]:
        """Every item of a partition whose sort key starts with `prefix`."""
        items: list[Item] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": _to_item({":pk": pk, ":prefix": prefix}),
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        while True:
            answer = self._db.query(**kwargs)
            items += [_from_item(i) for i in answer.get("Items", [])]
            if "LastEvaluatedKey" not in answer:
                return items
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def update(
        self,
        pk: str,
        sk: str,
        fields: Item,
        *,
        expect: Item | None = None,
        add: dict[str, int] | None = None,
        remove: tuple[str, ...] = (),
        must_exist: bool = False,
        present: tuple[str, ...] = (),
    ) -> Item:
        """Set fields (and add to counters) atomically, if `expect` holds and `present` exist.

        Returns the item as it is after the write. Raises ConditionFailed when `expect` (or
        `must_exist`) did not hold.
        """
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets, adds, conditions = [], [], []
        for i, (name, value) in enumerate(fields.items()):
            names[f"#s{i}"] = name
            values[f":s{i}"] = _attr(value)
            sets.append(f"#s{i} = :s{i}")
        for i, (name, amount) in enumerate((add or {}).items()):
            names[f"#a{i}"] = name
            values[f":a{i}"] = _attr(amount)
            adds.append(f"#a{i} :a{i}")
        for i, (name, value) in enumerate((expect or {}).items()):
            names[f"#c{i}"] = name
            if value is None:
                conditions.append(f"attribute_not_exists(#c{i})")
            else:
                values[f":c{i}"] = _attr(value)
                conditions.append(f"#c{i} = :c{i}")
        for i, name in enumerate(present):
            names[f"#p{i}"] = name
            conditions.append(f"attribute_exists(#p{i})")
        removes = []
        for i, name in enumerate(remove):
            names[f"#r{i}"] = name
            removes.append(f"#r{i}")
        if must_exist:
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
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": _to_item({"PK": pk, "SK": sk}),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        if conditions:
            kwargs["ConditionExpression"] = " AND ".join(conditions)
        try:
            answer = self._db.update_item(**kwargs)
        except self._db.exceptions.ConditionalCheckFailedException as error:
            raise ConditionFailed(f"{pk} {sk}: {conditions}") from error
        return _from_item(answer["Attributes"])

    # -- applications ------------------------------------------------------------------

    def create_application(self, id_izin: str, fields: Item) -> bool:
        """Record a new application; False if it was already there."""
        return self.put(
            app_key(id_izin),
            "META",
            {"GSI1PK": "APPLICATION", "GSI1SK": fields["created_at"], **fields},
            if_absent=True,
        )

    def application(self, id_izin: str) -> Item | None:
        """The application's record, or None."""
        return self.get(app_key(id_izin), "META")

    def update_application(self, id_izin: str, fields: Item, **kwargs: Any) -> Item:
        """Change the application's record (it must exist)."""
        return self.update(app_key(id_izin), "META", fields, must_exist=True, **kwargs)

    def applications(self, limit: int = 200) -> list[Item]:
        """The applications, newest first."""
        answer = self._db.query(
            TableName=self.table,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues=_to_item({":pk": "APPLICATION"}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_from_item(i) for i in answer.get("Items", [])]

    # -- audit trail (append-only) -----------------------------------------------------

    def append_audit(self, id_izin: str, entry: Item, *, now: datetime) -> None:
        """Append one entry to the application's audit trail; entries are never rewritten."""
        # Entries written at one moment keep the order they were written in.
        sk = (
            f"AUDIT#{now.astimezone(UTC).isoformat()}#{next(_SEQUENCE):010d}#{secrets.token_hex(4)}"
        )
        if not self.put(app_key(id_izin), sk, {"at": now.isoformat(), **entry}, if_absent=True):
            raise ConditionFailed(f"audit entry {sk} exists")

    def audit(self, id_izin: str) -> list[Item]:
        """The application's audit trail, oldest first."""
        return self.query(app_key(id_izin), "AUDIT#")

    # -- steps' data -------------------------------------------------------------------

    def save_step(self, id_izin: str, step: int, data: Item) -> None:
        """Keep what an officer entered on a step's form (the latest decision wins)."""
        self.put(app_key(id_izin), f"STEP#{step:02d}", {"data": data})

    def step_data(self, id_izin: str, step: int) -> Item:
        """What was entered on a step's form, or {}."""
        item = self.get(app_key(id_izin), f"STEP#{step:02d}")
        return item["data"] if item else {}

    # -- tickets ------------------------------------------------------------------------

    def put_ticket(self, ticket_hash: str, fields: Item) -> None:
        """Store a new ticket under its hash."""
        if not self.put(f"TICKET#{ticket_hash}", "TICKET", fields, if_absent=True):
            raise ConditionFailed("ticket hash collision")

    def ticket(self, ticket_hash: str) -> Item | None:
        """A ticket by its hash, or None."""
        return self.get(f"TICKET#{ticket_hash}", "TICKET")

    def update_ticket(self, ticket_hash: str, fields: Item, **kwargs: Any) -> Item:
        """Change a ticket, conditionally (see update)."""
        return self.update(f"TICKET#{ticket_hash}", "TICKET", fields, must_exist=True, **kwargs)

    # -- counters ------------------------------------------------------------------------

    def next_number(self, jenis: str, year: int) -> int:
        """Take the next number of a counter, atomically: no gap, no duplicate."""
        item = self.update(f"COUNTER#{jenis}#{year}", "COUNTER", {}, add={"value": 1})
        return int(item["value"])
