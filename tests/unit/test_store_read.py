"""An item read from DynamoDB becomes the record's values in one walk (izin.store._read),
exactly as boto3's TypeDeserializer followed by `_from_dynamo` made them: the same values
of the same types, in the same order, and the same error for a value neither can read."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer
from hypothesis import given, settings
from hypothesis import strategies as st
from izin import store

text = st.text(max_size=5)
number = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(["1", "1.0", "1e2", "-0", "0.10", "12345678901234567890.5"]),
    st.sampled_from(["Infinity", "-Infinity", "NaN", "sNaN", "1e400", "x"]),  # odd, or fail
)


def _not_nan(text: str) -> bool:
    return text not in ("NaN", "x")


# Values as botocore hands them over (a binary decoded), and the odd ones: a lower-case
# type, two keys, none, a value of the wrong JSON type.
scalars = st.one_of(
    st.builds(lambda s: {"S": s}, text),
    st.builds(lambda n: {"N": n}, number),
    st.builds(lambda b: {"B": b}, st.binary(max_size=4)),
    st.builds(lambda ss: {"SS": ss}, st.lists(text, max_size=4)),
    # No NaN in a set ("NaN", or "x": not a number): a NaN's hash is its object's, so two
    # readings of theirs order such a set differently (DynamoDB refuses NaN anyway).
    st.builds(lambda ns: {"NS": ns}, st.lists(number.filter(_not_nan), max_size=4)),
    st.builds(lambda bs: {"BS": bs}, st.lists(st.binary(max_size=3), max_size=3)),
    st.just({"NULL": True}),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.builds(lambda s: {"s": s}, text),
    st.builds(lambda s, n: {"S": s, "N": n}, text, number),
    st.builds(lambda n: {"S": n}, st.integers()),
    st.builds(lambda s: {"BOOL": s}, text),
    st.builds(lambda m: {"SS": m}, st.dictionaries(text, text, max_size=3)),  # not a list
    st.builds(lambda s: {"NS": s}, st.text(alphabet="0123456789", max_size=4)),  # not a list
    st.just({}),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.builds(lambda m: {"M": m}, st.dictionaries(text, inner, max_size=3)),
        st.builds(lambda items: {"L": items}, st.lists(inner, max_size=3)),
    ),
    max_leaves=10,
)


def theirs(value: Any) -> Any:
    return store._from_dynamo(TypeDeserializer().deserialize(value))


def typed(value: Any) -> Any:
    """The value with the type of each of its parts, so 1 and 1.0 and True differ."""
    if isinstance(value, dict):
        return ("dict", [(key, typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    return (type(value).__name__, repr(value))  # repr: a NaN equals itself


def outcome(read: Any, value: Any) -> Any:
    try:
        return typed(read(value))
    except Exception as error:  # the same failure is the same outcome
        return (type(error).__name__, str(error))


@settings(max_examples=300, deadline=None)
@given(item=st.dictionaries(text, values, max_size=5))
def test_an_item_reads_as_boto3_and_from_dynamo_read_it(item: dict[str, Any]) -> None:
    for value in item.values():
        assert outcome(store._read, value) == outcome(theirs, value), value


@pytest.mark.parametrize(
    "value",
    [
        {"N": "7"},  # an int
        {"N": "7.25"},  # a float
        {"N": "1e2"},  # 100, an int
        {"NS": ["1", "1.0", "2"]},  # 1 and 1.0 are one member
        {"SS": ["b", "a", "b"]},
        {"B": b"\x00\x01"},  # a Binary, kept
        {"M": {"a": {"L": [{"N": "1"}, {"NULL": True}, {"B": b"x"}]}}},
        {},  # TypeError, as theirs
        {"Q": "?"},  # an unknown type: TypeError
        {"N": "not a number"},  # NaN, as theirs
        # Their error, not one met first walking: they deserialize the whole value first.
        {"M": {"a": {"N": "Infinity"}, "b": {}}},
        {"L": [{"N": "sNaN"}, {}]},
        {"SS": {"b": "x", "a": "y"}},  # a map where a list belongs: their order
    ],
)
def test_the_odd_and_the_usual_values_read_alike(value: dict[str, Any]) -> None:
    assert outcome(store._read, value) == outcome(theirs, value)


def test_a_value_is_read_without_boto3_s_deserializer(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Any] = []
    deserialize = store._DESERIALIZER.deserialize

    def counting(value: Any) -> Any:
        asked.append(value)
        return deserialize(value)

    monkeypatch.setattr(store._DESERIALIZER, "deserialize", counting)
    item = {
        "PK": {"S": "APP#IP-1"},
        "n": {"N": "3"},
        "data": {"M": {"a": {"L": [{"S": "x"}, {"BOOL": True}, {"NULL": True}]}}},
        "tags": {"SS": ["x"]},
        "photo": {"B": b"\x89PNG"},
    }
    record = store._from_item(item)
    assert record == {
        "PK": "APP#IP-1",
        "n": 3,
        "data": {"a": ["x", True, None]},
        "tags": ["x"],
        "photo": Binary(b"\x89PNG"),
    }
    assert isinstance(record["n"], int) and not isinstance(record["n"], Decimal)
    assert asked == [{"B": b"\x89PNG"}]  # a binary alone is boto3's
