"""The table in a dict: the fake of izin.store for tests and tools that need no AWS.

It is `Records` (the same named methods, the same keys) over primitives that keep
DynamoDB's semantics: a conditional write that does not hold changes nothing and raises
ConditionFailed (or answers False for a put), `field = value` is false for a missing field,
an update creates a missing item unless it must exist, ADD starts from 0, values cross the
same Decimal round trip (2.0 comes back as 2), a query reads by sort key order, and every
write is atomic. tests/unit/test_store_contract.py runs the same cases on it and on moto.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Unpack

from izin.store import (
    ConditionFailed,
    Item,
    PrimitiveUpdateTerms,
    Records,
    Write,
    applied,
    as_expected,
    as_stored,
    distinct_items,
)


class MemoryStore(Records):
    """The table's items in a dict keyed by (PK, SK); `items` is there for tests to read, and
    `calls`: how many times each primitive was called (what DynamoDB would have been asked)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Item] = {}
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    @classmethod
    def seeded(cls, application: Item, steps: Mapping[int, Item]) -> MemoryStore:
        """A store holding one application and its steps' form data."""
        store = cls()
        id_izin = application["id_izin"]
        store.put(f"APP#{id_izin}", "META", application)
        for number, data in steps.items():
            store.save_step(id_izin, number, data)
        return store

    # -- the primitives ---------------------------------------------------------------------

    def put(self, pk: str, sk: str, fields: Item, *, if_absent: bool = False) -> bool:
        """Write an item; with if_absent, only when none has that key (False if one had)."""
        self.calls["put"] += 1
        with self._lock:
            if if_absent and (pk, sk) in self.items:
                return False
            self.items[(pk, sk)] = as_stored({**fields, "PK": pk, "SK": sk})
            return True

    def get(self, pk: str, sk: str) -> Item | None:
        """One item, or None."""
        self.calls["get"] += 1
        item = self.items.get((pk, sk))
        return copy.deepcopy(item) if item is not None else None

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """The items of these keys that exist: one call, as DynamoDB's BatchGetItem is."""
        self.calls["get_many"] += 1
        found = {key: self.items.get(key) for key in dict.fromkeys(keys)}
        return {key: copy.deepcopy(item) for key, item in found.items() if item is not None}

    def query(self, pk: str, prefix: str, *, newest_first: bool = False) -> list[Item]:
        """Every item of a partition whose sort key starts with `prefix`, by sort key."""
        self.calls["query"] += 1
        items = self._sorted(pk, lambda sk: sk.startswith(prefix))
        return items[::-1] if newest_first else items

    def query_past(self, pk: str, past: str) -> list[Item]:
        """Every item of a partition whose sort key sorts after `past`, by sort key."""
        self.calls["query"] += 1
        return self._sorted(pk, lambda sk: sk > past)

    def _sorted(self, pk: str, wanted: Callable[[str], bool]) -> list[Item]:
        """Copies of the partition's items whose sort keys are `wanted`, by sort key."""
        found = sorted(
            (sk, copy.deepcopy(item))
            for (p, sk), item in list(self.items.items())
            if p == pk and wanted(sk)
        )
        return [item for _, item in found]

    def update(self, pk: str, sk: str, fields: Item, **terms: Unpack[PrimitiveUpdateTerms]) -> Item:
        """Set, add and remove atomically, when every condition holds (see Records.update)."""
        self.calls["update"] += 1
        with self._lock:
            new = self._updated(pk, sk, fields, terms)
            self.items[(pk, sk)] = new
            return copy.deepcopy(new)

    def write_all(self, writes: Sequence[Write]) -> None:
        """Every write or none (Records.write_all): each checked first, then all made."""
        self.calls["write_all"] += 1
        distinct_items(writes)
        with self._lock:
            made: dict[tuple[str, str], Item] = {}
            failed: list[tuple[str, str]] = []  # every item whose condition fails, as DynamoDB
            for w in writes:
                try:
                    if w.check:
                        self._updated(w.pk, w.sk, {}, w.terms or {"must_exist": True})
                    elif w.update:
                        made[(w.pk, w.sk)] = self._updated(w.pk, w.sk, w.fields, w.terms)
                    elif w.if_absent and (w.pk, w.sk) in self.items:
                        raise ConditionFailed(f"{w.pk} {w.sk} exists")
                    else:
                        made[(w.pk, w.sk)] = as_stored({**w.fields, "PK": w.pk, "SK": w.sk})
                except ConditionFailed:
                    failed.append((w.pk, w.sk))
            if failed:
                raise ConditionFailed(f"conditions failed: {failed}", keys=failed)
            self.items.update(made)

    def _updated(self, pk: str, sk: str, fields: Item, terms: PrimitiveUpdateTerms) -> Item:
        """The item after the update, if every condition holds (the lock held)."""
        expect, present = terms.get("expect") or {}, terms.get("present", ())
        paths = [*fields, *(terms.get("add") or {}), *terms.get("remove", ())]
        if len(paths) != len(set(paths)) or {"PK", "SK"} & set(paths):
            raise ValueError(f"an update names a field twice, or a key: {paths}")
        current = self.items.get((pk, sk))
        item = current or {}
        holds = (
            (not terms.get("must_exist") or current is not None)
            and all(name in item for name in present)
            and as_expected(item, expect)
            and all(
                name not in item or item[name] < limit
                for name, limit in (terms.get("below") or {}).items()
            )
            and all(
                name in item and item[name] >= limit
                for name, limit in (terms.get("at_least") or {}).items()
            )
        )
        if not holds:
            raise ConditionFailed(
                f"{pk} {sk}: expect {terms.get('expect')}, present {present}", keys=[(pk, sk)]
            )
        return applied(current, pk, sk, fields, terms)

    def listed(self, index_pk: str, limit: int, *, until: str = "") -> list[Item]:
        """The items of one GSI1 partition, newest (highest GSI1SK) first, GSI1SK at most
        `until` when given."""
        self.calls["listed"] += 1
        indexed = [
            i
            for i in list(self.items.values())
            if i.get("GSI1PK") == index_pk
            and "GSI1SK" in i
            and (not until or str(i["GSI1SK"]) <= until)
        ]
        indexed.sort(key=lambda i: str(i["GSI1SK"]), reverse=True)
        return [copy.deepcopy(i) for i in indexed[:limit]]

    def listed_page(
        self, index_pk: str, limit: int, *, after: Item | None, since: str, until: str
    ) -> tuple[list[Item], Item | None]:
        """A page of one GSI1 partition, newest first, as DynamoDB's Query pages it."""
        self.calls["listed_page"] += 1
        indexed = [
            i
            for i in list(self.items.values())
            if i.get("GSI1PK") == index_pk
            and "GSI1SK" in i
            and (not since or str(i["GSI1SK"]) >= since)
            and (not until or str(i["GSI1SK"]) <= until)
        ]
        indexed.sort(key=lambda i: (str(i["GSI1SK"]), i["PK"], i["SK"]), reverse=True)
        if after:
            keys = [(i["PK"], i["SK"]) for i in indexed]
            start = keys.index((after["PK"], after["SK"])) + 1
            indexed = indexed[start:]
        page = indexed[:limit]
        last = None
        if len(indexed) > limit:
            last = {k: page[-1][k] for k in ("PK", "SK", "GSI1PK", "GSI1SK")}
        return [copy.deepcopy(i) for i in page], last

    # -- what tests read -------------------------------------------------------------------

    @property
    def trail(self) -> list[Item]:
        """Every audit entry of every application, in the order written, with its id_izin."""
        entries = sorted(
            (sk.split("#", 2)[2], pk.removeprefix("APP#"), item)
            for (pk, sk), item in list(self.items.items())
            if sk.startswith("AUDIT#")
        )
        return [
            {"id_izin": id_izin, **{k: v for k, v in item.items() if k not in ("PK", "SK")}}
            for _, id_izin, item in entries
        ]

    @property
    def counters(self) -> dict[tuple[str, int], int]:
        """Each letter-number counter's last number, by (jenis, year)."""
        counted = {}
        for (pk, _), item in list(self.items.items()):
            if pk.startswith("COUNTER#"):
                _, jenis, year = pk.split("#")
                counted[(jenis, int(year))] = int(item["value"])
        return counted

    def actions(self) -> list[str]:
        """The audit trail's actions, in order."""
        return [entry["action"] for entry in self.trail]
