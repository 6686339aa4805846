"""Where moto is not faithful to AWS, the smallest patch that makes it so.

Each patch is one function that applies it and returns the function that undoes it, so a
runtime applies them at start and removes them at stop, and a test can apply all but one.
They rely on moto internals, hence the pin `moto>=5.2.5,<5.3`. The facts behind each are
in TOOLING.md ("moto and Step Functions").
"""

from __future__ import annotations

import functools
import importlib
import logging
import pkgutil
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

Undo = Callable[[], None]

# (function name, event as moto passes it) -> (JSON payload, errored)
LambdaInvoker = Callable[[str, Any], tuple[str, bool]]


def route_lambda_invocations(invoke: LambdaInvoker) -> Undo:
    """Run Lambda code in-process instead of in Docker (which moto needs and we lack).

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
    """Let SendTask* ignore executions that have no worker (yet, or any more).

    `send_task_success`/`_failure`/`_heartbeat` scan every execution and read
    `exec_worker.env.callback_pool_manager`; under concurrency one execution is always
    starting or ending, and the whole call crashes with 'NoneType' has no attribute
    'callback_pool_manager'. Such an execution cannot hold the token anyway.
    """
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.__dict__["_get_executions"]

    @functools.wraps(original)
    def _get_executions(self: Any, execution_status: Any = None) -> list[Any]:
        return [
            execution
            for execution in list(original(self, execution_status))
            if execution.exec_worker is not None and execution.exec_worker.env is not None
        ]

    StepFunctionsParserBackend._get_executions = _get_executions  # type: ignore[method-assign]
    return functools.partial(setattr, StepFunctionsParserBackend, "_get_executions", original)


_BOTO_CLIENT_MODULE = "moto.stepfunctions.parser.asl.utils.boto_client"
_INTERPRETER_PACKAGE = "moto.stepfunctions.parser.asl.component"


def cache_interpreter_clients() -> Undo:
    """Reuse one boto3 client per (region, service) in moto's Step Functions interpreter.

    moto builds a new boto3 client for every task it runs, which is most of its CPU cost
    (7.8x slower on a 41-state machine). The function is imported by name into each task
    module, so every module holding it is patched, not only its home. The key also holds
    the moto port, so a client never outlives the server it points at.
    """
    from moto.settings import moto_server_port

    home = importlib.import_module(_BOTO_CLIENT_MODULE)
    original = home.boto_client_for
    cache: dict[tuple[str, str, str], Any] = {}
    # boto3's default session is not safe to build clients from in parallel.
    lock = threading.Lock()

    @functools.wraps(original)
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service, moto_server_port())
        with lock:
            client = cache.get(key)
            if client is None:
                client = cache[key] = original(region, service, state_credentials)
            return client

    holders = [home, *_modules_holding(original)]
    for module in holders:
        module.boto_client_for = boto_client_for  # type: ignore[attr-defined]

    def undo() -> None:
        for module in holders:
            module.boto_client_for = original  # type: ignore[attr-defined]
        cache.clear()

    return undo


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


def apply_all(invoke: LambdaInvoker, *, skip: frozenset[str] = frozenset()) -> Undo:
    """Apply every patch (but those named in `skip`); return one undo for all of them."""
    patches: dict[str, Callable[[], Undo]] = {
        "route_lambda_invocations": functools.partial(route_lambda_invocations, invoke),
        "serialize_dynamodb_writes": serialize_dynamodb_writes,
        "deliver_early_callbacks_to_heartbeat": deliver_early_callbacks_to_heartbeat,
        "skip_executions_without_worker": skip_executions_without_worker,
        "cache_interpreter_clients": cache_interpreter_clients,
    }
    unknown = skip - patches.keys()
    if unknown:
        raise ValueError(f"no such patch: {sorted(unknown)}")
    undos = [apply() for name, apply in patches.items() if name not in skip]

    def undo_all() -> None:
        for undo in reversed(undos):
            undo()

    return undo_all
