"""Run the template's Lambda handlers in this process, as Lambda would run them.

Every invocation ends here: `lambda.invoke` and the state machine's tasks (through the
moto patch), the SQS pollers and the HTTP gateway. A handler module is loaded from
`<CodeUri>/<module>.py` on its first invocation, once per runtime, under a module name of
its own, so two functions may both be `app.py`. A raised exception becomes Lambda's error
payload, whose `errorType` (the class name) is what Step Functions' Retry and Catch match.

Before the first invocation of a runtime, `izin.lifecycle.reset()` (when the layer has it)
forgets cached settings and clients, as a fresh Lambda container would.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

_LIFECYCLE_MODULE = "izin.lifecycle"


@dataclass(frozen=True)
class FunctionSpec:
    """One AWS::Serverless::Function, as the template (Globals merged) declares it."""

    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    runtime: str
    timeout: int
    memory_size: int
    environment: Mapping[str, str] = field(default_factory=dict)
    events: Mapping[str, Any] = field(default_factory=dict)

    @property
    def module_path(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_dir / (module.replace(".", "/") + ".py")

    @property
    def handler_name(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass
class LambdaContext:
    """The context object a Python handler receives."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    _started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        today = time.strftime("%Y/%m/%d", time.gmtime())
        self.log_stream_name = self.log_stream_name or f"{today}/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


@dataclass(frozen=True)
class Invocation:
    """What one invocation gave: the JSON-able result, or the error raised."""

    result: Any = None
    error: BaseException | None = None

    @property
    def errored(self) -> bool:
        return self.error is not None

    def payload(self) -> str:
        """The response body `lambda.invoke` gives, as JSON."""
        if self.error is None:
            return json.dumps(self.result)
        return json.dumps(error_payload(self.error))


class TaskTimedOut(Exception):
    """The handler ran past its Timeout."""

    error_type = "Sandbox.Timedout"


class MarshalError(Exception):
    """The handler's result cannot be serialised to JSON."""

    error_type = "Runtime.MarshalError"


def error_payload(error: BaseException) -> dict[str, Any]:
    """Lambda's answer for an unhandled exception: errorType is the class name."""
    return {
        "errorType": getattr(error, "error_type", type(error).__name__),
        "errorMessage": str(error),
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


class LambdaRunner:
    """Loads and calls the handlers of one runtime's functions."""

    def __init__(self, functions: Mapping[str, FunctionSpec] | None = None) -> None:
        self._by_logical_id: dict[str, FunctionSpec] = {}
        self._by_name: dict[str, FunctionSpec] = {}
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._lock = threading.Lock()
        self._fresh = True
        self.register(functions or {})

    def register(self, functions: Mapping[str, FunctionSpec]) -> None:
        """Make these functions invocable (by logical id, and by name for moto)."""
        with self._lock:
            self._by_logical_id.update(functions)
            self._by_name.update({spec.name: spec for spec in functions.values()})

    @property
    def functions(self) -> dict[str, FunctionSpec]:
        return dict(self._by_logical_id)

    def spec(self, logical_id: str) -> FunctionSpec:
        try:
            return self._by_logical_id[logical_id]
        except KeyError:
            raise KeyError(f"no function {logical_id!r} in the template") from None

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        """Call the handler with `event`; its result goes through JSON, as in Lambda.

        The handler runs in a thread of its own so that its Timeout holds: past it, the
        invocation fails with Lambda's Sandbox.Timedout. The thread cannot be killed, so
        it runs on to its end; what it does after the timeout is not undone.
        """
        spec = self.spec(logical_id)
        handler = self._handler(spec)
        context = LambdaContext(
            function_name=spec.name,
            invoked_function_arn=spec.arn,
            memory_limit_in_mb=spec.memory_size,
            timeout_seconds=spec.timeout,
        )
        outcome: list[Invocation] = []

        def run() -> None:
            try:
                result = handler(event, context)
            except Exception as error:
                logger.exception("%s failed (request %s)", spec.logical_id, context.aws_request_id)
                outcome.append(Invocation(error=error))
                return
            try:
                outcome.append(Invocation(result=json.loads(json.dumps(result))))
            except (TypeError, ValueError) as error:
                logger.exception("%s returned what JSON cannot hold", spec.logical_id)
                outcome.append(Invocation(error=MarshalError(str(error))))

        thread = threading.Thread(target=run, name=f"lambda-{spec.logical_id}", daemon=True)
        thread.start()
        thread.join(spec.timeout)
        if not outcome:
            logger.error(
                "%s timed out after %s s (request %s)",
                spec.logical_id,
                spec.timeout,
                context.aws_request_id,
            )
            return Invocation(
                error=TaskTimedOut(
                    f"{context.aws_request_id} Task timed out after {spec.timeout:.2f} seconds"
                )
            )
        return outcome[0]

    def invoke_by_name(self, function_name: str, event: Any) -> tuple[str, bool]:
        """The moto hook: function name and event as moto has them -> (payload, errored)."""
        spec = self._by_name.get(function_name)
        if spec is None:
            error = LookupError(f"function {function_name} is not in the local template")
            return json.dumps(error_payload(error)), True
        if isinstance(event, str | bytes):
            # moto passes the raw text "{}" when the request had no payload.
            event = json.loads(event) if event else {}
        invocation = self.invoke(spec.logical_id, event)
        return invocation.payload(), invocation.errored

    def _handler(self, spec: FunctionSpec) -> Callable[[Any, Any], Any]:
        with self._lock:
            if self._fresh:
                self._fresh = False
                _reset_lifecycle()
            handler = self._handlers.get(spec.logical_id)
            if handler is None:
                module = _load_module(f"izin_fn_{spec.logical_id}", spec.module_path)
                handler = getattr(module, spec.handler_name)
                self._handlers[spec.logical_id] = handler
            return handler


def _reset_lifecycle() -> None:
    try:
        lifecycle = importlib.import_module(_LIFECYCLE_MODULE)
    except ModuleNotFoundError as missing:
        if missing.name not in (_LIFECYCLE_MODULE, "izin"):
            raise
        return
    lifecycle.reset()


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load handler module {path}")
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as an import would: pydantic and dataclasses look
    # their module up in sys.modules.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
