"""izin.response_parser answers as botocore's own JSON parser does, for any answer."""

from __future__ import annotations

import base64
import json
from typing import Any

import botocore.session
import pytest
from botocore.parsers import JSONParser
from hypothesis import given, settings
from hypothesis import strategies as st
from izin import aws
from izin.response_parser import OneMemberJSONParser, ParserFactory

_MODELS = botocore.session.get_session()

binary = st.binary(max_size=6).map(lambda raw: base64.b64encode(raw).decode())
text = st.text(max_size=6)
# DynamoDB's attribute values as DynamoDB writes them, and the odd ones a parser must
# treat as botocore does: a key the model lacks, a null, two members at once.
scalar_values = st.one_of(
    st.builds(lambda s: {"S": s}, text),
    st.builds(lambda n: {"N": str(n)}, st.integers()),
    st.builds(lambda b: {"B": b}, binary),
    st.builds(lambda ss: {"SS": ss}, st.lists(text, max_size=3)),
    st.builds(lambda ns: {"NS": [str(n) for n in ns]}, st.lists(st.integers(), max_size=3)),
    st.builds(lambda bs: {"BS": bs}, st.lists(binary, max_size=3)),
    st.just({"NULL": True}),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.dictionaries(st.sampled_from(["S", "N", "Q", "BOOL"]), st.one_of(text, st.none())),
)
attribute_values = st.recursive(
    scalar_values,
    lambda inner: st.one_of(
        st.builds(lambda m: {"M": m}, st.dictionaries(text, inner, max_size=3)),
        st.builds(lambda items: {"L": items}, st.lists(inner, max_size=3)),
    ),
    max_leaves=12,
)
items = st.dictionaries(text, attribute_values, max_size=4)


def parsed(parser: Any, service: str, operation: str, answer: dict[str, Any]) -> Any:
    shape = _MODELS.get_service_model(service).operation_model(operation).output_shape
    response = {"body": json.dumps(answer).encode(), "headers": {}, "status_code": 200}
    try:
        return parser.parse(response, shape)
    except Exception as error:  # the same failure counts as the same answer
        return type(error)


def assert_parsed_alike(service: str, operation: str, answer: dict[str, Any]) -> None:
    ours = parsed(OneMemberJSONParser(), service, operation, answer)
    assert ours == parsed(JSONParser(), service, operation, answer)


@settings(max_examples=150, deadline=None)
@given(
    found=st.lists(items, max_size=4),
    last=st.one_of(st.none(), items),
    capacity=st.one_of(st.none(), st.just({"TableName": "izin", "CapacityUnits": 1.0})),
)
def test_a_query_s_items_parse_as_botocore_parses_them(
    found: list[dict[str, Any]], last: dict[str, Any] | None, capacity: dict[str, Any] | None
) -> None:
    answer: dict[str, Any] = {"Items": found, "Count": len(found), "ScannedCount": len(found)}
    if last is not None:
        answer["LastEvaluatedKey"] = last
    if capacity is not None:
        answer["ConsumedCapacity"] = capacity
    assert_parsed_alike("dynamodb", "Query", answer)


@settings(max_examples=60, deadline=None)
@given(item=st.one_of(st.none(), items), responses=st.lists(items, max_size=3))
def test_a_read_and_a_batch_read_parse_as_botocore_parses_them(
    item: dict[str, Any] | None, responses: list[dict[str, Any]]
) -> None:
    assert_parsed_alike("dynamodb", "GetItem", {} if item is None else {"Item": item})
    assert_parsed_alike(
        "dynamodb",
        "BatchGetItem",
        {"Responses": {"izin": responses}, "UnprocessedKeys": {}},
    )


@pytest.mark.parametrize(
    ("service", "operation", "answer"),
    [
        ("dynamodb", "GetItem", {"Item": {"a": {"B": "aGFsbw=="}}}),  # decoded: bytes
        ("dynamodb", "GetItem", {"Item": {"a": {"S": "x", "N": "1"}}}),  # two members
        ("dynamodb", "GetItem", {"Item": {"a": {"S": None}}}),
        ("dynamodb", "GetItem", {"Item": {"a": {"X": "?"}}}),  # a member the model lacks
        ("dynamodb", "GetItem", {"Item": {"a": {"B": "not base64!"}}}),
        ("stepfunctions", "DescribeExecution", {"executionArn": "arn", "status": "RUNNING"}),
        ("stepfunctions", "DescribeExecution", {"startDate": 1764806400.5}),  # a timestamp
        ("sqs", "ReceiveMessage", {"Messages": [{"Body": "{}", "Attributes": {"A": "1"}}]}),
    ],
)
def test_the_odd_answers_and_other_services_parse_as_botocore_parses_them(
    service: str, operation: str, answer: dict[str, Any]
) -> None:
    assert_parsed_alike(service, operation, answer)


def test_the_layer_s_clients_parse_json_with_it() -> None:
    factory = aws.session()._session.get_component("response_parser_factory")
    assert isinstance(factory, ParserFactory)
    assert type(factory.create_parser("json")) is OneMemberJSONParser
    assert type(factory.create_parser("rest-json")) is not OneMemberJSONParser


def test_a_query_s_attribute_values_are_read_without_their_shapes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An attribute value is read by its one key: botocore's walk looks up a shape for each
    value and each of its members; this parser for none of them (a Query of an application,
    a few hundred values, was a fifth of a task page's CPU)."""
    value = {"M": {"a": {"L": [{"S": "x"}, {"N": "1"}, {"BOOL": True}]}, "b": {"NULL": True}}}
    answer = {"Items": [{"PK": {"S": "APP#1"}, "v": value} for _ in range(20)], "Count": 20}
    expected = parsed(JSONParser(), "dynamodb", "Query", answer)
    visits: list[str] = []
    parse = JSONParser._parse_shape  # type: ignore[attr-defined]

    def visited(self: Any, shape: Any, node: Any) -> Any:
        visits.append(shape.name)
        return parse(self, shape, node)

    def counting(parser: JSONParser) -> int:
        """The shapes one parse of the answer visits; the answer is botocore's."""
        visits.clear()
        with monkeypatch.context() as patch:
            patch.setattr(JSONParser, "_parse_shape", visited)
            assert parsed(parser, "dynamodb", "Query", answer) == expected
        return len(visits)

    assert counting(JSONParser()) > 20 * (1 + 2 * 2 + 7)
    assert counting(OneMemberJSONParser()) <= 20 * (1 + 2 * 2) + 3
