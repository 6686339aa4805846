"""botocore's JSON answers parsed without visiting every member a structure could have.

botocore parses a JSON answer by walking it against the service's model: for each
structure it asks the answer for every member the model declares. A DynamoDB attribute
value is a structure of ten members (S, N, B, SS, NS, BS, M, L, NULL, BOOL) of which an
answer sets one, so a Query of an application's partition asked ten questions per value:
over a quarter of a task page's CPU went to parsing. Here a structure that arrives with one
member set looks up that one member; any other structure (a tagged union, whose unknown
member botocore reports, a document, anything with two members or more) is botocore's own
walk. The result is the same dict: the member botocore would have found, parsed by
botocore's own handlers (a binary value decoded, a nested map walked), or nothing when the
answer's one key is no member of the model or its value is null.

`session_parsing_fast()` registers the parser with a botocore session before its clients
are made; every service that answers in JSON (DynamoDB, Step Functions, SQS, Secrets
Manager...) gets it.
"""

from __future__ import annotations

import weakref
from typing import Any

from botocore.parsers import PROTOCOL_PARSERS, JSONParser, ResponseParserFactory

# A structure's members by the name they carry in the JSON, for each structure seen.
_BY_JSON_NAME: weakref.WeakKeyDictionary[Any, dict[str, tuple[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


# DynamoDB's AttributeValue: a structure of these members, the values of a map (M) and of
# a list (L) attribute values again. Its members' JSON types, by member.
_ATTRIBUTE_VALUE_MEMBERS = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})
_TEXTS = frozenset({"S", "N"})
_FLAGS = frozenset({"NULL", "BOOL"})
_SETS = frozenset({"SS", "NS", "BS"})
# Whether a structure is DynamoDB's AttributeValue, for each structure seen.
_ATTRIBUTE_VALUES: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _is_attribute_value(shape: Any) -> bool:
    found = _ATTRIBUTE_VALUES.get(shape)
    if found is None:
        members = shape.members
        found = (
            shape.name == "AttributeValue"
            and set(members) == _ATTRIBUTE_VALUE_MEMBERS
            and not shape.is_tagged_union
            and all("name" not in members[name].serialization for name in members)
            and members["M"].value.name == shape.name
            and members["L"].member.name == shape.name
        )
        _ATTRIBUTE_VALUES[shape] = found
    return found


def _members_by_json_name(shape: Any) -> dict[str, tuple[str, Any]]:
    found = _BY_JSON_NAME.get(shape)
    if found is None:
        members = shape.members
        found = {
            members[name].serialization.get("name", name): (name, members[name]) for name in members
        }
        _BY_JSON_NAME[shape] = found
    return found


class OneMemberJSONParser(JSONParser):
    """botocore's JSONParser; a structure with one member set is parsed by that member.
    (botocore-stubs declare none of the parser's own methods this extends.)"""

    def _handle_structure(self, shape: Any, value: Any) -> Any:
        if _is_attribute_value(shape):
            parsed = self._attribute_value(shape, value)
            if parsed is not None:
                return parsed
        if (
            type(value) is dict
            and len(value) == 1
            and not shape.is_tagged_union
            and not shape.is_document_type
        ):
            ((json_name, raw),) = value.items()
            member = _members_by_json_name(shape).get(json_name)
            if member is None or raw is None:
                return {}  # botocore skips a key the model lacks, and a null
            name, member_shape = member
            return {name: self._parse_shape(member_shape, raw)}  # type: ignore[attr-defined]
        return super()._handle_structure(shape, value)  # type: ignore[misc]

    def _attribute_value(self, shape: Any, value: Any) -> dict[str, Any] | None:
        """A DynamoDB attribute value as botocore parses it, read by its one key with no
        shape looked up: a text, number, flag or set of texts as it came, a binary decoded
        by botocore's own blob parser, a map's or list's members each parsed the same way.
        None for a value of any other shape (botocore's walk parses it)."""
        if type(value) is not dict or len(value) != 1:
            return None
        ((kind, raw),) = value.items()
        held = type(raw)
        if kind in _TEXTS:
            return {kind: raw} if held is str else None
        if kind == "M":
            if held is not dict:
                return None
            return {"M": {key: self._member(shape, item) for key, item in raw.items()}}
        if kind == "L":
            if held is not list:
                return None
            return {"L": [self._member(shape, item) for item in raw]}
        if kind in _FLAGS:
            return {kind: raw} if held is bool else None
        blob = self._blob_parser  # type: ignore[attr-defined]
        if kind == "B":
            return {"B": blob(raw)} if held is str else None
        if kind not in _SETS or held is not list or not all(type(one) is str for one in raw):
            return None
        return {kind: [blob(one) for one in raw] if kind == "BS" else raw[:]}

    def _member(self, shape: Any, item: Any) -> Any:
        parsed = self._attribute_value(shape, item)
        return parsed if parsed is not None else self._parse_shape(shape, item)  # type: ignore[attr-defined]


class ParserFactory(ResponseParserFactory):
    """botocore's factory, with OneMemberJSONParser for the JSON protocol."""

    def create_parser(self, protocol_name: str) -> Any:
        if PROTOCOL_PARSERS[protocol_name] is JSONParser:
            return OneMemberJSONParser(**self._defaults)  # type: ignore[attr-defined]
        return super().create_parser(protocol_name)


def session_parsing_fast(botocore_session: Any) -> Any:
    """The botocore session, its clients made from now on parsing JSON with this module's
    parser."""
    botocore_session.register_component("response_parser_factory", ParserFactory())
    return botocore_session
