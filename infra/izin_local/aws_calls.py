"""Which AWS actions each function's code can call, read from the code itself (no run).

The static side of the IAM check: the local runtime refuses at run time what a role does
not allow (moto patch `enforce_role_policies`), but only on the paths a test happens to
take. Here every path counts. From a handler's module, every name it refers to is followed
into the layer (functions, classes and all their methods, across imports, also those made
inside a function), and every AWS call on the way is collected:

- `client("svc").operation(…)`, or a name or `self.<attribute>` bound to `client("svc")`;
- `presign_client().generate_presigned_url("operation", …)`: a link signed with the
  function's own credentials, so its role needs that operation;
- `presign_client().generate_presigned_post(…)`: an upload form signed likewise, so its
  role needs `s3:PutObject`;
- what Powertools calls for us (`parameters.get_parameter`, `get_secret` and their
  providers, the idempotency layer's DynamoDB persistence), from the table `LIBRARY_CALLS`.

Operations become IAM actions through botocore's own service models (`send_email` of
`sesv2` is `ses:SendEmail`). A class reached counts with each method whose name the code
reached refers to, on any object (a store handed in is a DynamoStore at run time): more
than runs, never less, but for one blind spot, a method named like a dict's (`get`,
`update`) called on anything but `self` (see `_BUILTIN_METHODS`), which run-time
enforcement still sees.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "izin"
FUNCTIONS = ROOT / "functions"

# boto3's service name -> IAM's prefix, where they differ.
IAM_PREFIX = {"sesv2": "ses", "stepfunctions": "states"}
# Calls Powertools makes on our behalf: (the name we call, as qualified) -> (service, operation).
LIBRARY_CALLS: dict[str, tuple[tuple[str, str], ...]] = {
    "aws_lambda_powertools.utilities.parameters.get_parameter": (("ssm", "get_parameter"),),
    "aws_lambda_powertools.utilities.parameters.get_secret": (
        ("secretsmanager", "get_secret_value"),
    ),
    "aws_lambda_powertools.utilities.parameters.SSMProvider": (("ssm", "get_parameter"),),
    "aws_lambda_powertools.utilities.parameters.SecretsProvider": (
        ("secretsmanager", "get_secret_value"),
    ),
    "aws_lambda_powertools.utilities.idempotency.DynamoDBPersistenceLayer": (
        ("dynamodb", "get_item"),
        ("dynamodb", "put_item"),
        ("dynamodb", "update_item"),
        ("dynamodb", "delete_item"),
    ),
}
# Operations whose IAM action is not named after them.
IAM_ACTIONS = {("s3", "head_object"): "s3:GetObject"}
# Operations IAM authorizes as the actions they enclose: a DynamoDB transaction, each of its
# writes as its own PutItem or UpdateItem, each check as ConditionCheckItem (izin's
# transactions delete nothing; `Store.require_application` checks a record exists).
ENCLOSING_ACTIONS = {
    ("dynamodb", "transact_write_items"): (
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
    ),
}
CLIENT = "izin.aws.client"
PRESIGN_CLIENT = "izin.aws.presign_client"


@dataclass
class Definition:
    """A module-level function or class (with its methods), and what it refers to."""

    qualified: str
    node: ast.AST
    module: Module


@dataclass(eq=False)
class Module:
    """A parsed module: its definitions and the names its imports bind."""

    name: str
    tree: ast.Module
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> qualified
    definitions: dict[str, ast.AST] = field(default_factory=dict)  # local name -> node

    @classmethod
    def parse(cls, name: str, path: Path) -> Module:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module = cls(name, tree)
        package = name.rsplit(".", 1)[0]
        for node in ast.walk(tree):  # imports inside functions bind names too
            if isinstance(node, ast.Import):
                for alias in node.names:
                    module.aliases[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{parent}.{base}" if base else parent
                for alias in node.names:
                    module.aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                module.definitions[node.name] = node
        return module

    def qualify(self, expression: ast.expr) -> str | None:
        """The qualified name a Name or a dotted Attribute refers to, when it is static."""
        parts: list[str] = []
        while isinstance(expression, ast.Attribute):
            parts.append(expression.attr)
            expression = expression.value
        if not isinstance(expression, ast.Name):
            return None
        head = expression.id
        if head in self.definitions:
            base = f"{self.name}.{head}"
        elif head in self.aliases:
            base = self.aliases[head]
        else:
            return None
        return ".".join([base, *reversed(parts)])


@functools.cache
def _layer_modules() -> dict[str, Module]:
    modules = {}
    for path in sorted((LAYER / "izin").rglob("*.py")):
        relative = path.relative_to(LAYER).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        name = ".".join(parts)
        modules[name] = Module.parse(name, path)
    return modules


def _definition(qualified: str) -> Definition | None:
    """The layer definition a qualified name names (a module's attribute, or a module)."""
    modules = _layer_modules()
    module_name, _, attribute = qualified.rpartition(".")
    while module_name:
        module = modules.get(module_name)
        if module is not None and attribute.split(".")[0] in module.definitions:
            head = attribute.split(".")[0]
            return Definition(f"{module_name}.{head}", module.definitions[head], module)
        if module is not None and module.aliases.get(attribute.split(".")[0]):
            # re-exported by the package (`from izin.tasks.issue import issue_ticket`)
            rest = attribute.split(".")[1:]
            return _definition(".".join([module.aliases[attribute.split(".")[0]], *rest]))
        module_name, _, head = module_name.rpartition(".")
        attribute = f"{head}.{attribute}"
    return None


def _client_service(call: ast.expr, module: Module) -> str | None:
    """ "dynamodb" for `client("dynamodb")`."""
    if (
        isinstance(call, ast.Call)
        and module.qualify(call.func) == CLIENT
        and call.args
        and isinstance(call.args[0], ast.Constant)
    ):
        return str(call.args[0].value)
    return None


def _clients_bound(node: ast.AST, module: Module) -> dict[str, str]:
    """Names and `self.` attributes bound to a client in this definition: name -> service."""
    bound: dict[str, str] = {}
    for inner in ast.walk(node):
        if isinstance(inner, ast.Assign) and (service := _client_service(inner.value, module)):
            for target in inner.targets:
                if isinstance(target, ast.Name):
                    bound[target.id] = service
                elif isinstance(target, ast.Attribute):
                    bound[f"self.{target.attr}"] = service
        if isinstance(inner, ast.FunctionDef):  # a method or property returning a client
            for statement in ast.walk(inner):
                returned = statement.value if isinstance(statement, ast.Return) else None
                if returned is not None and (service := _client_service(returned, module)):
                    bound[f"self.{inner.name}"] = service
    return bound


@functools.cache
def _self_clients(module: Module) -> dict[str, str]:
    """`self.<attribute>` bound to a client anywhere in the module's classes (a method
    calls `self._db.put_item`, the property `_db` returns `client("dynamodb")`)."""
    bound: dict[str, str] = {}
    for node in module.definitions.values():
        if isinstance(node, ast.ClassDef):
            found = _clients_bound(node, module)
            bound.update({k: v for k, v in found.items() if k.startswith("self.")})
    return bound


def _calls_in(node: ast.AST, module: Module) -> Iterator[tuple[str, str]]:
    """(service, operation) of every AWS call written in this definition."""
    bound = _self_clients(module) | _clients_bound(node, module)
    for call in ast.walk(node):
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
            continue
        target, operation = call.func.value, call.func.attr
        if service := _client_service(target, module):
            yield service, operation
        elif isinstance(target, ast.Name) and target.id in bound:
            yield bound[target.id], operation
        elif (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
            and f"self.{target.attr}" in bound
        ):
            yield bound[f"self.{target.attr}"], operation
        elif (
            operation == "generate_presigned_post"
            and isinstance(target, ast.Call)
            and module.qualify(target.func) == PRESIGN_CLIENT
        ):
            yield "s3", "put_object"
        elif (
            operation == "generate_presigned_url"
            and isinstance(target, ast.Call)
            and module.qualify(target.func) == PRESIGN_CLIENT
            and call.args
            and isinstance(call.args[0], ast.Constant)
        ):
            yield "s3", str(call.args[0].value)


def _references(node: ast.AST, module: Module) -> Iterator[str]:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name | ast.Attribute):
            qualified = module.qualify(inner)
            if qualified:
                yield qualified


# `x.update(…)` is far more often a dict's than a store's: a method named like one of the
# built-in containers' counts when called on `self` only (the store's generic `get`, `put`,
# `update` are reached through its named methods: `update_ticket` calls `self.update`).
_BUILTIN_METHODS = frozenset(dir(dict) + dir(list) + dir(set) + dir(str))


def _attribute_names(node: ast.AST) -> set[str]:
    return {
        inner.attr
        for inner in ast.walk(node)
        if isinstance(inner, ast.Attribute)
        and (
            inner.attr not in _BUILTIN_METHODS
            or (isinstance(inner.value, ast.Name) and inner.value.id == "self")
        )
    }


def _parts(definition: Definition, called: set[str]) -> list[ast.AST]:
    """What of a definition can run: a function whole; of a class, its body outside the
    methods, and each method whose name the code reached refers to (on any object: a store
    handed in as a parameter is a DynamoStore at run time)."""
    node = definition.node
    if not isinstance(node, ast.ClassDef):
        return [node]
    parts: list[ast.AST] = []
    for statement in node.body:
        if (
            not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef)
            or statement.name in called
            or statement.name.startswith("__")
        ):
            parts.append(statement)
    return parts


def operations(handler: Path) -> set[tuple[str, str]]:
    """Every (service, operation) the function whose handler module this is can call."""
    start = Module.parse(f"functions.{handler.parent.name}.app", handler)
    found: set[tuple[str, str]] = set(_calls_in(start.tree, start))
    called = _attribute_names(start.tree)
    reached: dict[str, Definition] = {}
    done: set[int] = set()  # the parts (by id) already read
    pending = list(_references(start.tree, start))
    while True:
        while pending:
            qualified = pending.pop()
            for library, calls in LIBRARY_CALLS.items():
                if qualified == library:
                    found.update(calls)
            definition = _definition(qualified)
            if definition is not None:
                reached.setdefault(definition.qualified, definition)
        fresh = [
            (part, definition.module)
            for definition in reached.values()
            for part in _parts(definition, called)
            if id(part) not in done
        ]
        if not fresh:
            return found
        for part, module in fresh:
            done.add(id(part))
            found.update(_calls_in(part, module))
            called |= _attribute_names(part)
            pending.extend(_references(part, module))


@functools.cache
def _api_names(service: str) -> dict[str, str]:
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def iam_action(service: str, operation: str) -> str:
    """`ses:SendEmail` for ("sesv2", "send_email"); KeyError for an unknown operation."""
    if (service, operation) in IAM_ACTIONS:
        return IAM_ACTIONS[service, operation]
    return f"{IAM_PREFIX.get(service, service)}:{_api_names(service)[operation]}"


def actions(handler: Path) -> set[str]:
    """The IAM actions a function's role must allow, from its handler's module."""
    found: set[str] = set()
    for service, operation in operations(handler):
        enclosed = ENCLOSING_ACTIONS.get((service, operation))
        found.update(enclosed or (iam_action(service, operation),))
    return found
