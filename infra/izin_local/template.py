"""Read a SAM template.yaml and resolve its intrinsic functions against the local world.

`template.yaml` is the one list of resources: the provisioner walks it in dependency order
and, as each resource is created in moto, registers its physical name (what `Ref` gives)
and attributes (what `Fn::GetAtt` gives) here, so later resources resolve to local names
and ARNs. Parameters take their defaults, then the caller's overrides; Conditions,
Mappings and the pseudo parameters are evaluated the way CloudFormation does.
`Globals` are merged into the SAM resources they apply to, as the SAM transform would.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

logger = logging.getLogger(__name__)

ACCOUNT_ID: Final = "123456789012"
DEFAULT_REGION: Final = "ap-southeast-3"
DEFAULT_STACK_NAME: Final = "izin-local"

# SAM's Globals section: which resource type each key applies to.
_GLOBALS_TARGETS: Final = {
    "Function": "AWS::Serverless::Function",
    "Api": "AWS::Serverless::Api",
    "HttpApi": "AWS::Serverless::HttpApi",
    "SimpleTable": "AWS::Serverless::SimpleTable",
    "StateMachine": "AWS::Serverless::StateMachine",
    "LayerVersion": "AWS::Serverless::LayerVersion",
}

_SUB_VARIABLE: Final = re.compile(r"\$\{([^}]*)\}")


class TemplateError(Exception):
    """The template cannot be read or resolved as CloudFormation would."""


class _NoValue:
    """`AWS::NoValue`: the property it stands in is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()


# --- YAML with CloudFormation short tags -------------------------------------------------


class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe YAML loader that turns `!Ref x` into `{"Ref": "x"}` and so on.

    libyaml's parser when PyYAML has it (a tenth of the pure-Python parser's 0.3 s for
    template.yaml, paid at every runtime start), the same safe constructors either way.
    """


def _node_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise TemplateError(f"unexpected YAML node {node!r}")


def _short_tag(function: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {function: _node_value(loader, node)}

    return construct


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _node_value(loader, node)
    if isinstance(value, str):
        # `!GetAtt Resource.Attribute.With.Dots`: only the first dot separates.
        logical_id, _, attribute = value.partition(".")
        value = [logical_id, attribute]
    return {"Fn::GetAtt": value}


_CfnLoader.add_constructor("!Ref", _short_tag("Ref"))
_CfnLoader.add_constructor("!Condition", _short_tag("Condition"))
_CfnLoader.add_constructor("!GetAtt", _get_att)
for _name in (
    "Sub",
    "If",
    "Join",
    "Select",
    "Split",
    "Equals",
    "Not",
    "And",
    "Or",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Base64",
    "Cidr",
    "Length",
    "ToJsonString",
):
    _CfnLoader.add_constructor(f"!{_name}", _short_tag(f"Fn::{_name}"))


def load_yaml(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation YAML file (short tags included) into plain data."""
    return parse_yaml(path.read_text(encoding="utf-8"), source=str(path))


def parse_yaml(text: str, *, source: str = "the template") -> dict[str, Any]:
    """Parse CloudFormation YAML text (short tags included) into plain data."""
    document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 (a SafeLoader subclass)
    if not isinstance(document, dict):
        raise TemplateError(f"{source} is not a CloudFormation template")
    return document


# --- the template ----------------------------------------------------------------------


def _merge_globals(global_value: Any, own_value: Any) -> Any:
    """SAM's merge: maps merge key by key, lists concatenate, the resource's scalar wins."""
    if isinstance(global_value, dict) and isinstance(own_value, dict):
        if _is_intrinsic(global_value) or _is_intrinsic(own_value):
            return copy.deepcopy(own_value)
        merged = copy.deepcopy(global_value)
        for key, value in own_value.items():
            merged[key] = _merge_globals(merged[key], value) if key in merged else value
        return merged
    if isinstance(global_value, list) and isinstance(own_value, list):
        return [*copy.deepcopy(global_value), *copy.deepcopy(own_value)]
    return copy.deepcopy(own_value)


def _is_intrinsic(value: Mapping[str, Any]) -> bool:
    if len(value) == 1 and next(iter(value)) in ("Ref", "Condition"):
        return True
    return any(key.startswith("Fn::") for key in value)


@dataclass(frozen=True)
class Template:
    """A SAM template as read from disk, with Globals already applied."""

    path: Path
    body: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Template:
        body = load_yaml(path)
        resources = body.get("Resources") or {}
        for section, resource_type in _GLOBALS_TARGETS.items():
            global_properties = (body.get("Globals") or {}).get(section)
            if not global_properties:
                continue
            for resource in resources.values():
                if resource.get("Type") == resource_type:
                    resource["Properties"] = _merge_globals(
                        global_properties, resource.get("Properties") or {}
                    )
        return cls(path=path.resolve(), body=body)

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return dict(self.body.get("Parameters") or {})

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.body.get("Resources") or {})

    @property
    def conditions(self) -> dict[str, Any]:
        return dict(self.body.get("Conditions") or {})

    @property
    def mappings(self) -> dict[str, Any]:
        return dict(self.body.get("Mappings") or {})


# --- resolution ------------------------------------------------------------------------


@dataclass
class Resolver:
    """Evaluates intrinsic functions; resources become resolvable once registered."""

    template: Template
    parameter_values: Mapping[str, str] = field(default_factory=dict)
    stack_name: str = DEFAULT_STACK_NAME
    region: str = DEFAULT_REGION
    account_id: str = ACCOUNT_ID
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _parameters: dict[str, Any] = field(default_factory=dict, init=False)
    _conditions: dict[str, bool] = field(default_factory=dict, init=False)
    _warned: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        declared = self.template.parameters
        unknown = sorted(set(self.parameter_values) - set(declared))
        if unknown:
            logger.warning("Parameter overrides not declared in the template: %s", unknown)
        for name, spec in declared.items():
            if name in self.parameter_values:
                raw = self.parameter_values[name]
            elif "Default" in spec:
                raw = spec["Default"]
            else:
                raise TemplateError(f"parameter {name} has no Default and no override")
            value = str(raw) if not isinstance(raw, list) else ",".join(map(str, raw))
            allowed = spec.get("AllowedValues")
            if allowed is not None and value not in [str(a) for a in allowed]:
                raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
            if "List" in str(spec.get("Type", "")):
                self._parameters[name] = [item.strip() for item in value.split(",")]
            else:
                self._parameters[name] = value

    # registration, as the provisioner creates each resource
    def register(self, logical_id: str, ref: Any, attributes: Mapping[str, Any]) -> None:
        self.refs[logical_id] = ref
        self.attributes[logical_id] = dict(attributes)

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self._parameters)

    def pseudo_parameters(self) -> dict[str, Any]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/"
                f"{self.stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }

    # conditions
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.conditions
            if name not in conditions:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def is_enabled(self, logical_id: str) -> bool:
        condition = self.template.resources[logical_id].get("Condition")
        return condition is None or self.condition(condition)

    # dependency order
    def dependencies(self, logical_id: str) -> set[str]:
        """The resources that `logical_id` refers to (Ref, GetAtt, Sub, DependsOn)."""
        resource = self.template.resources[logical_id]
        names = set(self._referenced_names(resource.get("Properties") or {}))
        depends_on = resource.get("DependsOn") or []
        names.update([depends_on] if isinstance(depends_on, str) else depends_on)
        resources = self.template.resources
        return {name for name in names if name in resources and name != logical_id}

    def creation_order(self) -> list[str]:
        """The enabled resources, each after every resource it refers to."""
        enabled = [name for name in self.template.resources if self.is_enabled(name)]
        pending = {name: self.dependencies(name) & set(enabled) for name in enabled}
        order: list[str] = []
        while pending:
            # The first ready resource in template order: the order reads like the template.
            ready = next((name for name, needs in pending.items() if needs <= set(order)), None)
            if ready is None:
                raise TemplateError(f"circular dependency among {sorted(pending)}")
            order.append(ready)
            del pending[ready]
        return order

    def _referenced_names(self, value: Any) -> Iterator[str]:
        if isinstance(value, list):
            for item in value:
                yield from self._referenced_names(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key == "Ref" and isinstance(item, str):
                    yield item
                elif key == "Fn::GetAtt":
                    target = item.split(".", 1)[0] if isinstance(item, str) else item[0]
                    yield str(target)
                elif key == "Fn::Sub":
                    text = item if isinstance(item, str) else item[0]
                    local_names = set(item[1]) if isinstance(item, list) else set()
                    for variable in _SUB_VARIABLE.findall(text):
                        name = variable.split(".", 1)[0]
                        if not variable.startswith("!") and name not in local_names:
                            yield name
                    if isinstance(item, list):
                        yield from self._referenced_names(item[1])
                else:
                    yield from self._referenced_names(item)

    # evaluation
    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic function evaluated and AWS::NoValue removed."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def ref(self, name: str) -> Any:
        if name in self._parameters:
            return self._parameters[name]
        pseudo = self.pseudo_parameters()
        if name in pseudo:
            return pseudo[name]
        if name in self.refs:
            return self.refs[name]
        if name in self.template.resources:
            raise TemplateError(f"Ref {name}: the resource is not created (yet, or disabled)")
        raise TemplateError(f"Ref {name}: no such parameter or resource")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in self.attributes:
            if logical_id in self.template.resources:
                raise TemplateError(f"GetAtt {logical_id}.{attribute}: not created (yet)")
            raise TemplateError(f"GetAtt {logical_id}.{attribute}: no such resource")
        attributes = self.attributes[logical_id]
        if attribute not in attributes:
            placeholder = f"{self.refs.get(logical_id, logical_id)}.{attribute}"
            self._warn_once(
                f"{logical_id}.{attribute}",
                "GetAtt %s.%s has no local value; using %r",
                logical_id,
                attribute,
                placeholder,
            )
            return placeholder
        return attributes[attribute]

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(message, *args)

    def sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], self.resolve(argument[1])
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _as_text(variables[name])
            logical_id, dot, attribute = name.partition(".")
            if dot and logical_id in self.template.resources:
                return _as_text(self.get_att(logical_id, attribute))
            return _as_text(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)


def _as_text(value: Any) -> str:
    if isinstance(value, list | dict):
        raise TemplateError(f"Fn::Sub cannot insert a list or map: {value!r}")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fn_ref(resolver: Resolver, argument: Any) -> Any:
    return resolver.ref(str(resolver.resolve(argument)))


def _fn_get_att(resolver: Resolver, argument: Any) -> Any:
    if isinstance(argument, str):
        logical_id, _, attribute = argument.partition(".")
    else:
        logical_id, attribute = argument[0], resolver.resolve(argument[1])
    return resolver.get_att(logical_id, attribute)


def _fn_if(resolver: Resolver, argument: Any) -> Any:
    condition, when_true, when_false = argument
    return resolver.resolve(when_true if resolver.condition(condition) else when_false)


def _fn_join(resolver: Resolver, argument: Any) -> str:
    delimiter, items = argument
    return str(delimiter).join(_as_text(item) for item in resolver.resolve(items))


def _fn_select(resolver: Resolver, argument: Any) -> Any:
    index, items = resolver.resolve(argument)
    return items[int(index)]


def _fn_split(resolver: Resolver, argument: Any) -> list[str]:
    delimiter, text = resolver.resolve(argument)
    return str(text).split(delimiter)


def _fn_equals(resolver: Resolver, argument: Any) -> bool:
    left, right = resolver.resolve(argument)
    return _as_text(left) == _as_text(right)


def _fn_not(resolver: Resolver, argument: Any) -> bool:
    return not _truth(resolver, argument[0])


def _fn_and(resolver: Resolver, argument: Any) -> bool:
    return all(_truth(resolver, item) for item in argument)


def _fn_or(resolver: Resolver, argument: Any) -> bool:
    return any(_truth(resolver, item) for item in argument)


def _truth(resolver: Resolver, value: Any) -> bool:
    resolved = resolver.resolve(value)
    if isinstance(resolved, str):
        return resolved.lower() == "true"
    return bool(resolved)


def _fn_condition(resolver: Resolver, argument: Any) -> bool:
    return resolver.condition(str(argument))


def _fn_find_in_map(resolver: Resolver, argument: Any) -> Any:
    resolved = resolver.resolve(argument[:3])
    map_name, top_key, second_key = resolved
    default = argument[3].get("DefaultValue") if len(argument) > 3 else None
    try:
        return resolver.template.mappings[map_name][top_key][second_key]
    except KeyError:
        if default is not None:
            return resolver.resolve(default)
        raise TemplateError(f"FindInMap {resolved}: no such entry") from None


def _fn_get_azs(resolver: Resolver, argument: Any) -> list[str]:
    region = resolver.resolve(argument) or resolver.region
    return [f"{region}{zone}" for zone in "abc"]


def _fn_import_value(resolver: Resolver, argument: Any) -> str:
    name = resolver.resolve(argument)
    resolver._warn_once(f"import:{name}", "Fn::ImportValue %s: no other stacks exist locally", name)
    return f"imported-{name}"


def _fn_base64(resolver: Resolver, argument: Any) -> str:
    return base64.b64encode(str(resolver.resolve(argument)).encode()).decode()


def _fn_length(resolver: Resolver, argument: Any) -> int:
    return len(resolver.resolve(argument))


def _fn_to_json_string(resolver: Resolver, argument: Any) -> str:
    return json.dumps(resolver.resolve(argument), separators=(",", ":"))


def _fn_sub(resolver: Resolver, argument: Any) -> str:
    return resolver.sub(argument)


def _fn_cidr(resolver: Resolver, argument: Any) -> list[str]:
    raise TemplateError("Fn::Cidr is not supported locally")


_FUNCTIONS: Final = {
    "Ref": _fn_ref,
    "Condition": _fn_condition,
    "Fn::GetAtt": _fn_get_att,
    "Fn::Sub": _fn_sub,
    "Fn::If": _fn_if,
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
    "Fn::Equals": _fn_equals,
    "Fn::Not": _fn_not,
    "Fn::And": _fn_and,
    "Fn::Or": _fn_or,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::GetAZs": _fn_get_azs,
    "Fn::ImportValue": _fn_import_value,
    "Fn::Base64": _fn_base64,
    "Fn::Length": _fn_length,
    "Fn::ToJsonString": _fn_to_json_string,
    "Fn::Cidr": _fn_cidr,
}
