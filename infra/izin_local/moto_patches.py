"""Where moto is not faithful to AWS, the smallest patch that makes it so.

Each patch is one function that applies it and returns the function that undoes it, so a
runtime applies them at start and removes them at stop, and a test can apply all but one.
They rely on moto internals, hence the pin `moto>=5.2.5,<5.3`. The facts behind each are
in TOOLING.md ("moto and Step Functions").
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
import logging
import pkgutil
import re
import threading
import types
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Final
from urllib.parse import unquote, urlparse

logger = logging.getLogger(__name__)

Undo = Callable[[], None]

# (function name, event as moto passes it) -> (JSON payload, errored)
LambdaInvoker = Callable[[str, Any], tuple[str, bool]]


def route_lambda_invocations(invoke: LambdaInvoker) -> Undo:
    """Run Lambda code in the local runtime's workers instead of in Docker (which moto needs).

    Both `lambda.invoke` and the state machine's Lambda tasks end in
    `LambdaFunction._invoke_lambda`, which must return (payload, errored, logs); an errored
    payload's `errorType` is what Retry and Catch match.
    """
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.__dict__["_invoke_lambda"]
    original_invoke = LambdaFunction.__dict__["invoke"]

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        payload, errored = invoke(self.function_name, event)
        return payload, errored, ""

    @functools.wraps(original_invoke)
    def invoke_api(self: Any, body: str, request_headers: Any, response_headers: Any) -> Any:
        answer = original_invoke(self, body, request_headers, response_headers)
        # An exception the handler let escape is "Unhandled" in Lambda; moto says "Handled".
        if response_headers.get("x-amz-function-error") == "Handled":
            response_headers["x-amz-function-error"] = "Unhandled"
        return answer

    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
    LambdaFunction.invoke = invoke_api  # type: ignore[method-assign]

    def undo() -> None:
        LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]
        LambdaFunction.invoke = original_invoke  # type: ignore[method-assign]

    return undo


_DYNAMODB_WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
)


def serialize_dynamodb_writes() -> Undo:
    """Make moto's conditional writes atomic, as DynamoDB's are.

    moto checks a condition and then writes, with no lock between: two concurrent
    conditional updates can both win. One lock around every write method closes that gap.
    The same lock is held for each whole DynamoDB request, because moto's response layer
    also reads items outside the backend (update_item deep-copies the old item first)
    while another request mutates them in place: 'dictionary changed size during
    iteration', a 500 that real DynamoDB never gives.
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    # Re-entrant: a request holds it while its backend write takes it again.
    lock = threading.RLock()
    originals = {name: DynamoDBBackend.__dict__[name] for name in _DYNAMODB_WRITES}
    original_call_action = DynamoHandler.__dict__["call_action"]

    def locked(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def serialized(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(*args, **kwargs)

        return serialized

    for name, method in originals.items():
        setattr(DynamoDBBackend, name, locked(method))
    DynamoHandler.call_action = locked(original_call_action)  # type: ignore[method-assign]

    def undo() -> None:
        for name, method in originals.items():
            setattr(DynamoDBBackend, name, method)
        DynamoHandler.call_action = original_call_action  # type: ignore[method-assign]

    return undo


def deliver_early_callbacks_to_heartbeat() -> Undo:
    """Keep a SendTaskSuccess that arrives before a heartbeat task starts waiting.

    With HeartbeatSeconds, moto sets up the heartbeat endpoint only after the task's own
    Lambda/SQS call has returned; an outcome sent during that call is stored but the new
    endpoint never hears of it, so the state times out. Notify it at once in that case.
    """
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint

    original = CallbackEndpoint.__dict__["setup_heartbeat_endpoint"]

    @functools.wraps(original)
    def setup_heartbeat_endpoint(self: Any, heartbeat_seconds: int) -> Any:
        endpoint = original(self, heartbeat_seconds)
        if self.get_outcome() is not None:
            endpoint.notify()
        return endpoint

    CallbackEndpoint.setup_heartbeat_endpoint = setup_heartbeat_endpoint  # type: ignore[method-assign]
    return functools.partial(setattr, CallbackEndpoint, "setup_heartbeat_endpoint", original)


def skip_executions_without_worker() -> Undo:
    """Let SendTask* ignore executions that have no worker (yet, or any more), or no status.

    `send_task_success`/`_failure`/`_heartbeat` scan every execution and read
    `exec_worker.env.callback_pool_manager`; under concurrency one execution is always
    starting or ending, and the whole call crashes with 'NoneType' has no attribute
    'callback_pool_manager'. Scanning by status, moto reads `exec_status.value` of each, and
    an execution still being started has none: 'NoneType' has no attribute 'value' (seen
    with 200 applications). Such an execution cannot hold the token anyway.
    """
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.__dict__["_get_executions"]

    @functools.wraps(original)
    def _get_executions(self: Any, execution_status: Any = None) -> list[Any]:
        return [
            execution
            for execution in list(original(self, None))
            if getattr(execution, "exec_status", None) is not None
            and (execution_status is None or execution_status == execution.status)
            and execution.exec_worker is not None
            and execution.exec_worker.env is not None
        ]

    StepFunctionsParserBackend._get_executions = _get_executions  # type: ignore[method-assign]
    return functools.partial(setattr, StepFunctionsParserBackend, "_get_executions", original)


_BOTO_CLIENT_MODULE = "moto.stepfunctions.parser.asl.utils.boto_client"
_INTERPRETER_PACKAGE = "moto.stepfunctions.parser.asl.component"


class InterpreterIdentity:
    """The credentials moto's Step Functions interpreter calls with: the state machine's role.

    Until set (or for a template of several state machines), moto's own anonymous keys.
    """

    def __init__(self) -> None:
        self.credentials: dict[str, str] | None = None


def cache_interpreter_clients(identity: InterpreterIdentity | None = None) -> Undo:
    """Reuse one boto3 client per (region, service) in moto's Step Functions interpreter.

    moto builds a new boto3 client for every task it runs, which is most of its CPU cost
    (7.8x slower on a 41-state machine). The function is imported by name into each task
    module, so every module holding it is patched, not only its home. The key also holds
    the moto port, so a client never outlives the server it points at. With an
    `identity`, the clients call as the state machine's role, so its policies are enforced
    as they are on AWS (a task whose function the role may not invoke fails).

    A client kept calls on kept connections, and one the server closes as idle at the
    moment a task sends on it fails with ConnectionClosedError: moto's clients make one
    attempt and call that a task's failure, where Step Functions meets it as
    Lambda.SdkClientException, which the workflow's Retry takes. So a kept client tries
    again, as the SDK's standard mode does, on such errors.
    """
    from moto.settings import moto_server_port

    home = importlib.import_module(_BOTO_CLIENT_MODULE)
    original = home.boto_client_for
    cache: dict[tuple[str, str, str, str | None], Any] = {}
    # boto3's default session is not safe to build clients from in parallel.
    lock = threading.Lock()

    @functools.wraps(original)
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        credentials = identity.credentials if identity is not None else None
        key = (region, service, moto_server_port(), (credentials or {}).get("AWS_ACCESS_KEY_ID"))
        with lock:
            client = cache.get(key)
            if client is None:
                client = _rebuilt(original(region, service, state_credentials), credentials)
                cache[key] = client
            return client

    holders = [home, *_modules_holding(original)]
    for module in holders:
        module.boto_client_for = boto_client_for  # type: ignore[attr-defined]

    def undo() -> None:
        for module in holders:
            module.boto_client_for = original  # type: ignore[attr-defined]
        cache.clear()

    return undo


def _rebuilt(client: Any, credentials: Mapping[str, str] | None) -> Any:
    """The same client (endpoint, region, config, keys), retrying more, and calling with the
    role's session when `credentials` are given."""
    import boto3
    from botocore.config import Config

    own = client._request_signer._credentials
    keys = {"aws_access_key_id": own.access_key, "aws_secret_access_key": own.secret_key}
    if credentials is not None:
        keys = {
            "aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"],
            "aws_session_token": credentials["AWS_SESSION_TOKEN"],
        }
    # Tried again as the SDK's standard mode does: a connection closed under it, say.
    retries = Config(retries={"mode": "standard", "total_max_attempts": 3})
    return boto3.client(
        client.meta.service_model.service_name,
        region_name=client.meta.region_name,
        endpoint_url=client.meta.endpoint_url,
        config=client.meta.config.merge(retries),
        **keys,
    )


def _modules_holding(function: Callable[..., Any]) -> list[ModuleType]:
    """Every interpreter module that imported `function` by name (importing them first)."""
    package = importlib.import_module(_INTERPRETER_PACKAGE)
    holders = []
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{_INTERPRETER_PACKAGE}."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # a few ported modules import LocalStack code moto lacks
            logger.debug("skipping %s", info.name, exc_info=True)
            continue
        if getattr(module, "boto_client_for", None) is function:
            holders.append(module)
    return holders


def _copy_module_with(deepcopy: Callable[..., Any]) -> Any:
    """The `copy` module as a moto module is made to see it: its own deepcopy."""
    return types.SimpleNamespace(Error=copy.Error, copy=copy.copy, deepcopy=deepcopy)


def query_one_partition() -> Undo:
    """Let a DynamoDB Query on a table read its one partition, as DynamoDB does.

    moto's `Table.query` walks every item of the table to find the partition's; each
    application adds its items, so every Query grew with the whole table. Here a Query
    without an index sees only its partition's items (the same items, so the same
    answer), already in the order moto sorts them in. Index queries are left as they
    are. Without a projection, its results are not deep-copied either: only read to write
    the answer, they are the stored items' (moto copies them for a projection, which
    changes what it is given).
    """
    import moto.dynamodb.models.table as table_module
    from moto.dynamodb.models.table import Table

    original_query = Table.__dict__["query"]
    original_all_items = Table.__dict__["all_items"]
    scope = threading.local()

    def results_read(value: Any, memo: Any = None) -> Any:
        """A projection-free Query's results are kept, not copied."""
        if getattr(scope, "shared", False) and isinstance(value, list):
            return list(value)
        return copy.deepcopy(value, memo)

    def all_items(self: Any) -> Any:
        scoped = getattr(scope, "items", None)
        if scoped is not None and scoped[0] is self:
            return iter(scoped[1])
        return original_all_items(self)

    @functools.wraps(original_query)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key)  # .get: items is a defaultdict
        if partition is None:
            items = []
        elif self.has_range_key:
            # Handed over in moto's order, each key's value read once: moto's own sort
            # (which reads both values at each of its n log n comparisons) finds them sorted.
            items = sorted(partition.values(), key=lambda item: item.range_key.cast_value)
        else:
            items = [partition]
        projection = args[5] if len(args) > 5 else kwargs.get("projection_expressions")
        scope.items, scope.shared = (self, items), not projection
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            scope.items, scope.shared = None, False

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    table_module.copy = _copy_module_with(results_read)

    def undo() -> None:
        Table.query = original_query  # type: ignore[method-assign]
        Table.all_items = original_all_items  # type: ignore[method-assign]
        table_module.copy = copy

    return undo


def back_up_transaction_items_only() -> Undo:
    """Let a DynamoDB transaction back up the items it names, not its tables.

    moto's `transact_write_items` deep-copies each table it writes, once per write, so
    that it can roll back: every transaction cost grew with the whole table (izin writes
    a change and its audit entry as one, several times per step). Here the items the
    transaction names are copied instead, and put back as they were when it is cancelled;
    the answer is moto's own. Writes are serialized (`serialize_dynamodb_writes`), so
    nothing else changes them meanwhile.
    """
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.exceptions import TransactionCanceledException
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.__dict__["transact_write_items"]

    def tables_kept(value: Any, memo: Any = None) -> Any:
        """During a transaction, a table is kept, not copied."""
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def backups(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        kept = []
        for item in transact_items:
            operation = next(iter(item.values()), None)
            if not isinstance(operation, dict) or operation.get("TableName") not in backend.tables:
                continue  # moto refuses it on its own, before writing anything
            table = backend.tables[operation["TableName"]]
            attributes = operation.get("Key") or operation.get("Item") or {}
            names = [n for n in (table.hash_key_attr, table.range_key_attr) if n]
            if not all(name in attributes for name in names):
                continue
            hash_key = DynamoType(attributes[table.hash_key_attr])
            range_key = (
                DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
            )
            kept.append(
                (table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key)))
            )
        return kept

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        kept = backups(self, transact_items)
        dynamodb_models.copy = _copy_module_with(tables_kept)
        try:
            original(self, transact_items)
        except TransactionCanceledException:
            for table, hash_key, range_key, before in reversed(kept):
                if before is None:
                    table.delete_item(hash_key, range_key)
                elif range_key is not None:
                    table.items[hash_key][range_key] = before
                else:
                    table.items[hash_key] = before
            raise
        finally:
            dynamodb_models.copy = copy

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    return functools.partial(setattr, DynamoDBBackend, "transact_write_items", original)


def measure_items_directly() -> Undo:
    """Let moto measure a DynamoDB item without building an object for each of its values.

    moto measures items to hold DynamoDB's limits (400 KB an item, 1 MB a Query's page):
    `DynamoType.size` wraps each member of a map or set in a new DynamoType to measure it,
    and an item's attributes (`LimitedSizeDict`) measure the whole item again at each
    attribute set. A Query measures each item of its partition twice (every item of the
    partition, whether its sort key matches or not), so a Query of a whole trail spent
    most of its time measuring: about a tenth of the runtime's CPU. Here the same sizes, by
    moto's own rules (a number by its digits, a text or binary by its bytes, a boolean or
    null as 1, a list or map by its members and a map's keys), are counted from the values
    as they are; a stored item keeps its size until an UpdateItem (alone or in a
    transaction: the one way moto changes a stored item in place; a put stores a new
    item) changes it; and a new item is measured whole once (its sizes only add up: over
    the limit at the end is over it at the attribute that crossed it, which is where moto
    stops).
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    original_update = DynamoDBBackend.__dict__["update_item"]
    originals = (
        DynamoType.size,
        Item.size,
        Item.__init__,
        LimitedSizeDict.__setitem__,
        original_update,
    )
    sets = ("SS", "NS", "BS")

    def measure(kind: str, value: Any) -> int:
        if kind == "N":
            return len(str(value))
        if kind in sets:
            member = kind[0]
            return sum(measure(member, one) for one in value)
        if kind == "L":
            return sum(measure_member(one) for one in value)
        if kind == "M":
            return sum(_bytesize(key) + measure_member(one) for key, one in value.items())
        if isinstance(value, bool):
            return 1
        return _bytesize(value)

    def measure_member(member: Any) -> int:
        if type(member) is DynamoType:
            return measure(member.type, member.value)
        kind = next(iter(member))  # a member as it came, {type: value}, as DynamoType reads it
        return measure(kind, member[kind])

    def size(self: Any) -> int:
        return measure(self.type, self.value)

    def item_size(self: Any) -> int:
        size: int | None = self.__dict__.get(_SIZE_KEPT)
        if size is None:
            size = sum(_bytesize(key) + measure(v.type, v.value) for key, v in self.attrs.items())
            setattr(self, _SIZE_KEPT, size)
        return size

    @functools.wraps(original_update)
    def update_item(self: Any, table_name: str, key: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original_update(self, table_name, key, *args, **kwargs)
        finally:  # changed, or partly changed before it failed: measured again when asked
            changed = _stored_item(self, table_name, key)
            if changed is not None:
                changed.__dict__.pop(_SIZE_KEPT, None)

    def measured(entry: Any) -> int:
        if type(entry) is DynamoType:
            return measure(entry.type, entry.value)
        return _bytesize(str(entry))

    def refuse_over_the_limit(attributes: Any, more: int = 0) -> None:
        current = sum(map(measured, attributes.keys())) + sum(map(measured, attributes.values()))
        if current + more > 405000:  # moto's limit, as it tests it
            from moto.dynamodb.exceptions import ItemSizeTooLarge

            raise ItemSizeTooLarge

    def __setitem__(self: Any, key: str, value: Any) -> None:
        refuse_over_the_limit(self, _bytesize(key) + measured(value))
        dict.__setitem__(self, key, value)

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key, self.range_key = hash_key, range_key
        self.attrs = LimitedSizeDict()
        for key, value in attrs.items():
            dict.__setitem__(self.attrs, key, DynamoType(value))
        refuse_over_the_limit(self.attrs)

    DynamoType.size = size  # type: ignore[method-assign]
    Item.size = item_size  # type: ignore[method-assign]
    Item.__init__ = __init__  # type: ignore[method-assign]
    LimitedSizeDict.__setitem__ = __setitem__  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]

    def undo() -> None:
        DynamoType.size, Item.size, Item.__init__ = originals[:3]  # type: ignore[method-assign]
        LimitedSizeDict.__setitem__ = originals[3]  # type: ignore[method-assign]
        DynamoDBBackend.update_item = originals[4]  # type: ignore[method-assign]
        for table in _all_tables():
            for item in table.all_items():
                item.__dict__.pop(_SIZE_KEPT, None)

    return undo


# Where measure_items_directly keeps a stored item's size, on the item.
_SIZE_KEPT: Final = "_izin_size"


def _stored_item(backend: Any, table_name: str, key: Any) -> Any:
    """The item `key` names in the table, as moto's update_item finds it; None if none."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = backend.tables.get(table_name)
    if table is None or not isinstance(key, dict) or table.hash_key_attr not in key:
        return None
    range_name = table.range_key_attr
    try:
        return table.get_item(
            DynamoType(key[table.hash_key_attr]),
            DynamoType(key[range_name]) if range_name and range_name in key else None,
        )
    except Exception:  # a key moto refuses: nothing was changed
        return None


def _all_tables() -> list[Any]:
    """Every DynamoDB table moto holds, in every account and region."""
    from moto.dynamodb.models import dynamodb_backends

    return [
        table
        for account in dynamodb_backends.values()
        for backend in account.values()
        for table in backend.tables.values()
    ]


def _bytesize(value: str | bytes) -> int:
    """moto's `bytesize`: a text's length in UTF-8 bytes (its length, when it is ASCII)."""
    if isinstance(value, bytes):
        return len(value)
    return len(value) if value.isascii() else len(value.encode("utf-8"))


def serialize_dynamodb_results_as_json() -> Undo:
    """Write DynamoDB's answers with json.dumps instead of moto's model-driven serializer.

    moto's answers already hold DynamoDB's wire shapes ({"S": ...}, {"N": "1"}); its
    serializer walks each value against the service model again, and that walk was the
    largest single cost of the local runtime. An answer with anything json cannot write
    as DynamoDB would (bytes) takes moto's own path.

    Before that, moto turns its model's values into those shapes (`dynamo_to_dict`), asking
    each string and number of every item whether it has a `to_json` and importing its own
    class at each: a tenth of the runtime's CPU, most of it in Queries of a whole trail.
    `_wire_shapes` does the same by the value's exact type and hands moto's function
    anything else (binary values, objects of moto's with their own `to_json`); in the same
    walk it leaves out the members that are None, which moto's serializer does not write.
    """
    from moto.dynamodb import responses
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.__dict__.get("execute_result")
    original_to_dict = responses.dynamo_to_dict

    def execute_result(self: Any, context: Any) -> Any:
        try:
            body = json.dumps(self.result, separators=(",", ":"))
        except (TypeError, ValueError):
            return super(DynamoResult, self).execute_result(context)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]
    responses.dynamo_to_dict = _wire_shapes(original_to_dict)  # type: ignore[assignment]

    def undo() -> None:
        responses.dynamo_to_dict = original_to_dict
        if original is None:
            del DynamoResult.execute_result
        else:
            DynamoResult.execute_result = original  # type: ignore[method-assign]

    return undo


def _wire_shapes(to_dict: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's `dynamo_to_dict` by exact type: plain values as they are, a DynamoType of a
    text, number or boolean as {type: value}, containers walked; the rest by moto's own.
    A mapping's members that are None are left out."""
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    plain = (str, int, float, bool, type(None))
    binary = ("B", "BS")
    mappings = (dict, LimitedSizeDict)  # an item's attributes are a LimitedSizeDict

    def convert(value: Any) -> Any:
        kind = type(value)
        if kind in plain:
            return value
        if kind is DynamoType:
            if value.type in binary:
                return to_dict(value)
            return {value.type: convert(value.value)}
        if kind in mappings:
            return {key: convert(item) for key, item in value.items() if item is not None}
        if kind is list:
            return [convert(item) for item in value]
        return _without_none(to_dict(value))

    return convert


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value


# Parsed definitions, by their text, for the life of the process: a runtime's restart
# (a test module's own runtime) finds the program parsed by the one before.
_PARSED_DEFINITIONS: dict[str, Any] = {}


def parse_each_definition_once(parsed: dict[str, Any] | None = None) -> Undo:
    """Parse a state machine's definition once per process, not at every execution's start.

    moto parses the ASL (ANTLR, then its evaluation components) when the state machine is
    created, to validate it, and anew for every execution: about 0.7 s of CPU each time for
    this project's 2,000-line machine. The parsed program holds no execution's state (that
    lives in each execution's Environment), except in Parallel and Map states, whose
    definitions are therefore parsed as before. A definition is its own key: an edited ASL
    is parsed afresh. `parsed`: the cache to use (the process's own by default).
    """
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    cache = _PARSED_DEFINITIONS if parsed is None else parsed
    original = AmazonStateLanguageParser.__dict__["parse"]
    parse = original.__func__
    lock = threading.Lock()

    @functools.wraps(parse)
    def parse_once(definition: str) -> Any:
        if _has_concurrent_states(definition):
            return parse(definition)
        with lock:
            program = cache.get(definition)
        if program is None:
            program = parse(definition)  # a definition that fails raises, and is not kept
            with lock:
                cache[definition] = program
        return program

    AmazonStateLanguageParser.parse = staticmethod(parse_once)  # type: ignore[method-assign]

    def undo() -> None:
        AmazonStateLanguageParser.parse = original  # type: ignore[method-assign]

    return undo


def _has_concurrent_states(definition: str) -> bool:
    return re.search(r'"Type"\s*:\s*"(Parallel|Map)"', definition) is not None


def parse_each_json_path_once() -> Undo:
    """Parse each JSONPath of the definition once, not at every state that reads it.

    moto's interpreter calls jsonpath_ng's `parse` for every path it evaluates (a state's
    InputPath, OutputPath and Parameters through its json_path module, its ResultPath
    through jsonpath_ng directly), and that builds a new parser (reading its yacc tables)
    each time. A parsed path is immutable.
    """
    modules = [importlib.import_module(name) for name in _JSON_PATH_MODULES]
    originals = [module.parse for module in modules]
    for module, original in zip(modules, originals, strict=True):
        module.parse = functools.lru_cache(maxsize=4096)(original)  # type: ignore[attr-defined]

    def undo() -> None:
        for module, original in zip(modules, originals, strict=True):
            module.parse = original  # type: ignore[attr-defined]

    return undo


def parse_each_update_expression_once() -> Undo:
    """Parse each DynamoDB UpdateExpression once per process, not twice at every update.

    moto tokenizes and parses an update's expression in its response layer (to check the
    names and values it uses) and again in its backend, at every UpdateItem and every
    Update of a transaction: a fifth of the backend's CPU for an update. izin's writes
    use a few dozen expressions, their values apart. The parsed tree is only read (moto's
    validator works on a deep copy of it); an expression that does not parse raises each
    time, and is not kept.
    """
    # Imported by name: the module opts out of type checking, its classes unknown to mypy.
    parser: Any = importlib.import_module("moto.dynamodb.parsing.expressions")
    original = parser.UpdateExpressionParser.__dict__["make"]
    parse = functools.lru_cache(maxsize=1024)(original.__func__)

    def make(cls: Any, expression: str) -> Any:
        return parse(cls, expression)

    parser.UpdateExpressionParser.make = classmethod(make)

    def undo() -> None:
        parser.UpdateExpressionParser.make = original

    return undo


def parse_each_condition_once() -> Undo:
    """Parse each DynamoDB condition once per process, with the names and values it uses.

    moto parses a ConditionExpression (a put's, an update's, each of a transaction's items')
    twice: in its response layer, to check the names and values it uses, and in its backend
    to evaluate it, tokenizing and parsing it anew each time: about a fifth of moto's CPU for
    izin's writes, whose every transaction checks a few conditions. izin's writes use a few
    dozen conditions, most with the same values again (`attribute_not_exists(PK)`, a
    roster's version). A parsed condition is only read (evaluated against an item), and it
    holds the values it names: it is kept by its text with the names and values it uses (a
    write's other placeholders, its update's, do not make it another), parsed from a copy of
    them that nothing else holds (moto stores a value of a write in the item, and later
    ADDs and DELETEs change a set in place). It is kept only when every placeholder moto
    read is one of those in the key. A condition that does not parse, or names a
    placeholder the write lacks, raises each time and is not kept.
    """
    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser.__dict__["parse"]
    kept: dict[tuple[str, str], tuple[Any, tuple[str, ...], tuple[str, ...]]] = {}

    def parse(self: Any) -> Any:
        expression = self.condition_expression
        names = self.expression_attribute_names or {}
        values = self.expression_attribute_values or {}
        used = set(_PLACEHOLDER.findall(expression)) if expression else set()
        if not expression or any(p not in (names if p[0] == "#" else values) for p in used):
            return original(self)
        uses = {p: names[p] if p[0] == "#" else values[p] for p in used}
        try:
            key = (expression, json.dumps(uses, sort_keys=True))
        except (TypeError, ValueError):  # not JSON's (bytes, from a direct call): not kept
            return original(self)
        found = kept.get(key)
        if found is None:
            private = ConditionExpressionParser(expression, dict(names), copy.deepcopy(values))
            condition = original(private)  # raises as moto does for the write's own
            found = (
                condition,
                tuple(private.expr_attr_names_found),
                tuple(private.expr_attr_values_found),
            )
            read = {n for n in found[1] if n.startswith("#")}
            if read | set(found[2]) <= used:
                if len(kept) >= _CONDITIONS_KEPT:
                    kept.clear()
                kept[key] = found
        condition, names_found, values_found = found
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return condition

    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]

    def undo() -> None:
        ConditionExpressionParser.parse = original  # type: ignore[method-assign]

    return undo


# A condition's placeholders, an attribute's name (#n) or a value (:v), found as moto's
# lexer finds its tokens (its own character class, which holds `[` and `]`): a token read
# longer than moto's makes the condition moto's (the write lacks it), one read otherwise
# is caught by comparing what moto read with the key.
_PLACEHOLDER = re.compile(r"[#:][A-z0-9\-_]+")
# Conditions kept by parse_each_condition_once (more, and it starts again: a bound, not a
# size izin reaches).
_CONDITIONS_KEPT: Final = 4096


# The modules of moto's interpreter that parse JSONPaths, each with the parser it imports.
_JSON_PATH_MODULES = (
    "moto.stepfunctions.parser.asl.utils.json_path",
    "moto.stepfunctions.parser.asl.component.common.path.result_path",
)


def stop_tracking_model_instances() -> Undo:
    """Let moto forget the model instances it no longer holds.

    moto appends every instance of its models it ever makes (each DynamoDB item written,
    each copy of one an update or a transaction takes, each SQS message) to a list per
    class, for its dashboard (`/moto-api/data.json`, which the runtime never serves): none
    is ever freed while the server runs, the garbage collector walks them all, and a
    runtime's stop spent seconds dropping them. The state moto holds is the same.
    """
    from moto.core.common_models import BaseModel

    original = BaseModel.__dict__["__new__"]

    def untracked(cls: type, *args: Any, **kwargs: Any) -> Any:
        return super(BaseModel, cls).__new__(cls)  # type: ignore[misc]

    BaseModel.__new__ = staticmethod(untracked)  # type: ignore[method-assign]

    def undo() -> None:
        BaseModel.__new__ = original  # type: ignore[method-assign]

    return undo


def list_moto_modules_once() -> Undo:
    """List moto's service packages once, not at every request.

    To route a request, moto's server asks `list_of_moto_modules` whether the Host names a
    service: that lists moto's package folder and stats each of its ~170 entries, for every
    request, under the one lock of its dispatcher (a few ms of CPU a request, every request
    waiting). The folder does not change while the server runs.
    """
    from moto import backends

    original = backends.__dict__["list_of_moto_modules"]
    listed = tuple(original())
    backends.list_of_moto_modules = lambda: listed

    def undo() -> None:
        backends.list_of_moto_modules = original

    return undo


def list_action_methods_once() -> Undo:
    """Find a service's actions once per class, not by inspecting its class at every request.

    To dispatch a request, moto lists every function of the service's response class
    (`inspect.getmembers`: each of its and its bases' hundreds of attributes) and looks the
    action up in that list, for every request of every service. The functions a class holds
    do not change while the server runs (the patches here replace functions, never add one).
    """
    from moto.core import responses

    original = responses.__dict__["method_names_from_class"]

    @functools.cache
    def method_names_from_class(clazz: object) -> frozenset[str]:
        return frozenset(original(clazz))

    responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]

    def undo() -> None:
        responses.method_names_from_class = original

    return undo


class RoleSessions:
    """The access key ids of the execution roles' sessions: the callers IAM is enforced on."""

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self._lock = threading.Lock()

    def add(self, access_key_id: str) -> None:
        with self._lock:
            self._keys.add(access_key_id)

    def __contains__(self, access_key_id: object) -> bool:
        with self._lock:
            return access_key_id in self._keys


_IAM_ACTIONS = {"lambda:Invoke": "lambda:InvokeFunction"}
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def enforce_role_policies(sessions: RoleSessions) -> Undo:
    """Refuse what a function's role does not allow, on the resource it is called on.

    moto enforces IAM only for every caller at once (`INITIAL_NO_AUTH_ACTION_COUNT`), and
    then authorizes most services against resource "*", so a statement scoped to a table
    or a secret ARN never matches. Here only the execution roles' sessions are enforced
    (the runtime itself, the tests and the AWS CLI keep an administrator's access), and
    each call is checked against the ARNs it really touches (`iam_resources`), through
    moto's own signature check and policy evaluator.
    """
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import AccessDeniedError, JsonRESTError

    original = ActionAuthenticatorMixin.__dict__["_authenticate_and_authorize_action"]

    @functools.wraps(original)
    def _authenticate_and_authorize_action(
        self: Any, iam_request_cls: type, resource: str = "*"
    ) -> None:
        found = _CREDENTIAL.search(self.headers.get("Authorization") or "")
        if found is None or found.group(1) not in sessions:
            return  # the runtime, a test, the AWS CLI; or a presigned URL's visitor
        parsed_url = urlparse(self.uri)
        path = self.raw_path + (f"?{parsed_url.query}" if parsed_url.query else "")
        iam_request = iam_request_cls(
            account_id=self.current_account,
            method=self.method,
            path=path,
            data=self.data,
            body=self.raw_body,
            headers=self.headers,
            action=self._get_action(),
        )
        iam_request.check_signature()
        # The IAM action where it is not the API operation's name (Invoke -> InvokeFunction).
        action = _IAM_ACTIONS.get(iam_request._action, iam_request._action)
        try:
            for iam_request._action, arn in authorizations(self, action, resource):
                iam_request.check_action_permitted(arn)
        except AccessDeniedError as denied:
            json_protocol = "json" in (self.headers.get("Content-Type") or "")
            if not json_protocol and not iam_request._action.startswith("lambda:"):
                raise
            # A JSON service (DynamoDB, Step Functions...) answers in JSON, as on AWS.
            raise JsonRESTError("AccessDeniedException", denied.message) from denied

    ActionAuthenticatorMixin._authenticate_and_authorize_action = (  # type: ignore[method-assign]
        _authenticate_and_authorize_action
    )
    return functools.partial(
        setattr, ActionAuthenticatorMixin, "_authenticate_and_authorize_action", original
    )


# What IAM authorizes each write of a DynamoDB transaction as ("Using IAM with DynamoDB
# transactions": no action of the transaction's own; each write as its underlying one).
_TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def authorizations(response: Any, action: str, resource: str = "*") -> list[tuple[str, str]]:
    """(IAM action, ARN) pairs one request must be allowed: its action on each resource it
    touches; for TransactWriteItems, each of its writes' own action on that write's table."""
    if action == "dynamodb:TransactWriteItems":
        return [
            (_TRANSACT_ACTIONS[kind], _dynamodb_arn(response, f"table/{w['TableName']}"))
            for item in _json_body(response).get("TransactItems") or []
            for kind, w in item.items()
            if kind in _TRANSACT_ACTIONS
        ]
    resources = [resource] if resource != "*" else iam_resources(response, action)
    return [(action, arn) for arn in resources]


def iam_resources(response: Any, action: str) -> list[str]:
    """The ARNs one request acts on, as IAM authorizes them ("*" where AWS has none)."""
    service = action.partition(":")[0]
    region, account = response.region, response.current_account
    body = _json_body(response)
    if service == "dynamodb":
        return [_dynamodb_arn(response, name) for name in _dynamodb_resources(body)] or ["*"]
    if service == "sqs":
        # moto finds the queue from QueueUrl only; GetQueueUrl names it by QueueName.
        name = body.get("QueueName") or str(body.get("QueueUrl", "")).rsplit("/", 1)[-1]
        return [f"arn:aws:sqs:{region}:{account}:{name}"] if name else ["*"]
    if service == "states":
        target = body.get("stateMachineArn") or body.get("executionArn")
        return [str(target)] if target else ["*"]
    if service == "ssm":
        name = str(body.get("Name", "")).lstrip("/")
        return [f"arn:aws:ssm:{region}:{account}:parameter/{name}"] if name else ["*"]
    if service == "secretsmanager":
        return [_secret_arn(response, str(body.get("SecretId", "")))]
    if service == "kms":  # the key by id or ARN (izin.auth passes KeyId to Decrypt too)
        key = str(body.get("KeyId", ""))
        if key.startswith("arn:"):
            return [key]
        return [f"arn:aws:kms:{region}:{account}:key/{key}"] if key else ["*"]
    if service in ("ses", "sesv2"):
        sender = body.get("FromEmailAddress") or response.querystring.get("Source", [""])[0]
        address = str(sender).rpartition("<")[2].rstrip(">").strip()
        resources = [f"arn:aws:ses:{region}:{account}:identity/{_ses_identity(response, address)}"]
        if body.get("ConfigurationSetName"):  # SES authorizes the configuration set too
            name = body["ConfigurationSetName"]
            resources.append(f"arn:aws:ses:{region}:{account}:configuration-set/{name}")
        return resources
    if service == "lambda":
        name = unquote(response.raw_path).split("/functions/", 1)[-1].split("/", 1)[0]
        if name.startswith("arn:"):
            return [name]
        return [f"arn:aws:lambda:{region}:{account}:function:{name}"]
    return ["*"]


def _ses_identity(response: Any, address: str) -> str:
    """The identity SES sends `address` by, and so authorizes: the address's own if it is
    verified, else its domain's (a domain verified with DKIM is the usual setup)."""
    from moto.ses.models import ses_backends

    verified = ses_backends[response.current_account][response.region].email_identities
    domain = address.rpartition("@")[2].lower()
    return domain if address not in verified and domain in verified else address


def _json_body(response: Any) -> dict[str, Any]:
    body = response.body
    if isinstance(body, dict):
        return body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body.startswith("{"):
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _dynamodb_arn(response: Any, resource: str) -> str:
    """A table's (or an index's) ARN in the request's region and account."""
    return f"arn:aws:dynamodb:{response.region}:{response.current_account}:{resource}"


def _dynamodb_resources(body: Mapping[str, Any]) -> list[str]:
    tables: list[str] = []
    if "TableName" in body:
        index = body.get("IndexName")
        tables.append(f"table/{body['TableName']}" + (f"/index/{index}" if index else ""))
    for name in body.get("RequestItems") or {}:
        tables.append(f"table/{name}")
    for item in body.get("TransactItems") or []:
        for operation in item.values():
            if isinstance(operation, dict) and "TableName" in operation:
                tables.append(f"table/{operation['TableName']}")
    return sorted(set(tables))


def _secret_arn(response: Any, secret_id: str) -> str:
    if secret_id.startswith("arn:"):
        return secret_id
    from moto.secretsmanager.models import secretsmanager_backends

    backend = secretsmanager_backends[response.current_account][response.region]
    try:
        return str(backend.describe_secret(secret_id).arn)
    except Exception:  # an unknown secret: the call fails on its own after this check
        account = response.current_account
        return f"arn:aws:secretsmanager:{response.region}:{account}:secret:{secret_id}"


# What SES takes in a message tag's name and value: ASCII letters, digits, "_" and "-",
# 256 characters at most ("MessageTag", SES API reference); moto 5.2 takes anything.
_SES_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def enforce_ses_tags() -> Undo:
    """Refuse an SES v2 send whose EmailTags SES would refuse, as SES does (400
    BadRequestException): moto sends it, and on AWS every such email would fail."""
    from moto.core.exceptions import JsonRESTError
    from moto.sesv2.responses import SESV2Response

    original = SESV2Response.__dict__["send_email"]

    @functools.wraps(original)
    def send_email(self: Any) -> Any:
        for tag in json.loads(self.body or "{}").get("EmailTags") or []:
            for part in ("Name", "Value"):
                if not _SES_TAG.match(str(tag.get(part, ""))):
                    raise JsonRESTError(
                        "BadRequestException",
                        f"Invalid tag {part.lower()} {tag.get(part)!r}: only ASCII letters, "
                        "numbers, underscores and dashes, at most 256 characters",
                    )
        return original(self)

    SESV2Response.send_email = send_email  # type: ignore[method-assign]
    return functools.partial(setattr, SESV2Response, "send_email", original)


def enforce_post_policies() -> Undo:
    """Hold an S3 browser upload (a presigned POST) to its policy, as S3 does.

    moto 5.2 stores whatever a form posts: it reads no policy, so a file over the
    `content-length-range`, a key outside the `starts-with` prefix or an expired form are
    all taken. Here the policy's expiration and each of its conditions are checked (exact
    values, `eq`, `starts-with`, `content-length-range`), and a form field no condition
    covers is refused, with S3's codes: 400 EntityTooLarge / EntityTooSmall, 403
    AccessDenied. The signature itself is not checked (moto would need the signer's secret).
    """
    from moto.s3.responses import S3Response

    original = S3Response.__dict__["_bucket_response_post"]

    @functools.wraps(original)
    def _bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        fields = dict((getattr(self, "form_data", None) or {}).items())  # the form, as posted
        if "key" in fields and "delete" not in self.querystring:
            refused = post_policy_refusal(fields, bucket_name, len(self.body or b""))
            if refused is not None:
                status, code, message = refused
                body = (
                    '<?xml version="1.0" encoding="UTF-8"?>'
                    f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
                )
                return status, {"Content-Type": "application/xml"}, body
        return original(self, request, bucket_name)

    S3Response._bucket_response_post = _bucket_response_post  # type: ignore[method-assign]
    return functools.partial(setattr, S3Response, "_bucket_response_post", original)


# Form fields S3 never matches against the policy's conditions.
_UNCHECKED_FIELDS = frozenset({"policy", "x-amz-signature", "file", "signature", "awsaccesskeyid"})


def post_policy_refusal(
    fields: Mapping[str, str], bucket: str, size: int, now: float | None = None
) -> tuple[int, str, str] | None:
    """Why S3 would refuse this form upload, as (status, code, message), or None."""
    import base64
    import time
    from datetime import datetime

    encoded = fields.get("policy") or fields.get("Policy")
    if not encoded:
        return 403, "AccessDenied", "Anonymous uploads need a policy"
    try:
        policy = json.loads(base64.b64decode(encoded))
        expires = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        return 400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON."
    if expires.timestamp() < (time.time() if now is None else now):
        return 403, "AccessDenied", "Invalid according to Policy: Policy expired."
    values = {k.lower(): v for k, v in fields.items()} | {"bucket": bucket}
    covered: set[str] = set()
    for condition in policy.get("conditions", []):
        if isinstance(condition, dict):
            checks = [("eq", f"${name}", value) for name, value in condition.items()]
        elif condition and str(condition[0]).lower() == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if size > high:
                return (
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                )
            if size < low:
                return (
                    400,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size",
                )
            continue
        else:
            checks = [(str(condition[0]).lower(), str(condition[1]), condition[2])]
        for operator, name, expected in checks:
            field = name.removeprefix("$").lower()
            covered.add(field)
            value = str(values.get(field, ""))
            ok = value == str(expected) if operator == "eq" else value.startswith(str(expected))
            if not ok:
                return (
                    403,
                    "AccessDenied",
                    f'Invalid according to Policy: Policy Condition failed: ["{operator}", '
                    f'"{name}", "{expected}"]',
                )
    extra = sorted(
        k.lower()
        for k in fields
        if k.lower() not in covered and k not in _UNCHECKED_FIELDS and not k.startswith("x-ignore-")
    )
    if extra:
        return 403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {extra[0]}"
    return None


def apply_all(
    invoke: LambdaInvoker,
    *,
    sessions: RoleSessions | None = None,
    identity: InterpreterIdentity | None = None,
    skip: frozenset[str] = frozenset(),
) -> Undo:
    """Apply every patch (but those named in `skip`); return one undo for all of them."""
    patches: dict[str, Callable[[], Undo]] = {
        "enforce_role_policies": functools.partial(
            enforce_role_policies, sessions if sessions is not None else RoleSessions()
        ),
        "enforce_post_policies": enforce_post_policies,
        "enforce_ses_tags": enforce_ses_tags,
        "route_lambda_invocations": functools.partial(route_lambda_invocations, invoke),
        "serialize_dynamodb_writes": serialize_dynamodb_writes,
        "query_one_partition": query_one_partition,
        "back_up_transaction_items_only": back_up_transaction_items_only,
        "measure_items_directly": measure_items_directly,
        "serialize_dynamodb_results_as_json": serialize_dynamodb_results_as_json,
        "deliver_early_callbacks_to_heartbeat": deliver_early_callbacks_to_heartbeat,
        "skip_executions_without_worker": skip_executions_without_worker,
        "cache_interpreter_clients": functools.partial(cache_interpreter_clients, identity),
        "parse_each_definition_once": parse_each_definition_once,
        "parse_each_json_path_once": parse_each_json_path_once,
        "parse_each_update_expression_once": parse_each_update_expression_once,
        "parse_each_condition_once": parse_each_condition_once,
        "list_moto_modules_once": list_moto_modules_once,
        "list_action_methods_once": list_action_methods_once,
        "stop_tracking_model_instances": stop_tracking_model_instances,
    }
    unknown = skip - patches.keys()
    if unknown:
        raise ValueError(f"no such patch: {sorted(unknown)}")
    undos = [apply() for name, apply in patches.items() if name not in skip]

    def undo_all() -> None:
        for undo in reversed(undos):
            undo()

    return undo_all
