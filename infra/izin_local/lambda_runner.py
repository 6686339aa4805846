"""Run the template's Lambda functions as Lambda runs them: each in processes of its own.

Every invocation ends here: `lambda.invoke` and the state machine's tasks (through the
moto patch), the SQS pollers and the HTTP gateway. Each function has a pool of workers
(`lambda_worker`), each worker one process forked by the zygote (`lambda_zygote`), as
Lambda has execution environments:

- a worker runs one invocation at a time; an idle one is reused (a warm start), and a new
  one is forked on demand up to the function's concurrency (`ReservedConcurrentExecutions`
  when the template sets it, else `DEFAULT_CONCURRENCY`); past that, an invocation waits
  for a worker to come free (where Lambda would throttle);
- a worker's environment is its function's own (the template's variables, Lambda's own,
  the credentials of the function's own role), never the runtime's or another function's;
- past the function's Timeout the worker is killed and the invocation fails with
  `Sandbox.Timedout`, as on Lambda: nothing the handler would have done later happens.

A raised exception becomes Lambda's error payload, whose `errorType` (the class name) is
what Step Functions' Retry and Catch match. Every failure and timeout is logged here, so
`izin local serve` shows it.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from izin_local.lambda_worker import (
    ChannelClosed,
    error_payload,
    receive_exactly,
    receive_message,
    send_message,
)

logger = logging.getLogger(__name__)

# Workers of one function alive at once when the template reserves no concurrency: one a
# core (two at least). More only added cold starts and contention: on two cores, four a
# function cost a sixth more CPU a state transition and ran fewer applications a minute
# (`izin bench`, 10 applications). Each worker is a process of about 60-100 MB.
DEFAULT_CONCURRENCY = max(2, os.cpu_count() or 2)

_PID = struct.Struct(">I")


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
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class Invocation:
    """What one invocation gave: the JSON-able result, or the error raised."""

    result: Any = None
    error: LambdaError | None = None

    @property
    def errored(self) -> bool:
        return self.error is not None

    def payload(self) -> str:
        """The response body `lambda.invoke` gives, as JSON."""
        if self.error is None:
            return json.dumps(self.result)
        return json.dumps(self.error.payload)


class LambdaError(Exception):
    """An invocation's error as Lambda reports it; `errorType` names the class raised."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        super().__init__(str(payload.get("errorMessage", "")))
        self.payload = dict(payload)
        self.error_type = str(payload.get("errorType", "Unknown"))

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> LambdaError:
        """An error whose class bears the handler's class name, as a test would catch it."""
        name = str(payload.get("errorType", "Unknown")).replace(".", "_")
        return type(name, (cls,), {})(payload)


# Lambda's largest synchronous invocation request (its Invoke refuses more, before any
# handler runs): an HTTP API's event with a base64 body of about 4.5 MB reaches it.
MAX_REQUEST_BYTES = 6 * 1024 * 1024


def _too_large() -> LambdaError:
    message = f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the Invoke operation"
    return LambdaError.of({"errorType": "RequestEntityTooLargeException", "errorMessage": message})


def _timed_out(request_id: str, timeout: float) -> LambdaError:
    message = f"{request_id} Task timed out after {timeout:.2f} seconds"
    return LambdaError.of({"errorType": "Sandbox.Timedout", "errorMessage": message})


class Zygote:
    """The process that forks workers (`lambda_zygote`), started with a runtime (its imports,
    about a second of a core, beside the runtime's own start) or else on the first fork.

    It holds only what every function imports (no function's code, no environment: a
    worker takes its function's as its whole `os.environ`), so one serves every runtime of
    a process (`shared`): the tests' forty runtimes start it once, not forty times."""

    _shared: Zygote | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._control: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    def shared(cls) -> Zygote:
        """This process's zygote, stopped when the process exits."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
                atexit.register(cls._shared.stop)
            return cls._shared

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the process now, if it is not running; a fork waits until it is ready."""
        with self._lock:
            self._started()

    def fork(self) -> tuple[int, socket.socket, int]:
        """A new worker process: its pid, our end of its socket, the read end of its log."""
        ours, theirs = socket.socketpair()
        log_read, log_write = os.pipe()
        try:
            with self._lock:
                control = self._started()
                socket.send_fds(control, [b"F"], [theirs.fileno(), log_write])
                pid = _PID.unpack(receive_exactly(control, _PID.size))[0]
        except BaseException:
            os.close(log_read)
            ours.close()
            raise
        finally:
            theirs.close()
            os.close(log_write)
        os.set_blocking(log_read, False)
        return pid, ours, log_read

    def stop(self) -> None:
        with self._lock:
            control, self._control = self._control, None
            process, self._process = self._process, None
        if control is not None:
            control.close()
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _started(self) -> socket.socket:
        if self._control is not None and self._process and self._process.poll() is None:
            return self._control
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(  # noqa: S603 (our own module, our interpreter)
            [sys.executable, "-m", "izin_local.lambda_zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._control = ours
        return ours


@dataclass
class Worker:
    """One execution environment of a function: a process and the socket to it."""

    pid: int
    channel: socket.socket
    log: int  # the read end of the worker's stdout and stderr

    def read_log(self) -> str:
        """What the worker has written since the last read."""
        chunks = []
        while True:
            try:
                chunk = os.read(self.log, 65536)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")

    def kill(self) -> str:
        """Kill the process; what it had logged."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.channel.close()
        left = self.read_log()
        os.close(self.log)
        return left


@dataclass
class FunctionPool:
    """The workers of one function: idle ones reused, new ones up to its concurrency; the
    invocations waiting for one, served in the order they came (`queue`)."""

    spec: FunctionSpec
    environment: Mapping[str, str]
    concurrency: int
    idle: list[Worker] = field(default_factory=list)
    alive: int = 0
    cold_starts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)  # idle, alive, queue
    queue: collections.deque[_Turn] = field(default_factory=collections.deque)


@dataclass
class _Turn:
    """An invocation waiting for a worker; once `ready`, handed one that came free, else
    leave to start one in the place of a worker gone, or told the runtime stopped."""

    ready: threading.Event = field(default_factory=threading.Event)
    worker: Worker | None = None
    closed: bool = False


class LambdaRunner:
    """Runs the functions of one runtime in their own worker processes."""

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec] | None = None,
        *,
        environments: Mapping[str, Mapping[str, str]] | None = None,
        zygote: Zygote | None = None,
        log: TextIO | None = None,
    ) -> None:
        self._by_logical_id: dict[str, FunctionSpec] = {}
        self._log_to = log  # None: this process's stdout
        self._log_lock = threading.Lock()  # one worker's lines never cut into another's
        self._by_name: dict[str, FunctionSpec] = {}
        self._pools: dict[str, FunctionPool] = {}
        self._lock = threading.Lock()
        self._zygote = zygote or Zygote.shared()
        self._workers: dict[int, str] = {}  # pid -> logical id, every live worker
        self._closed = False
        self.register(functions or {}, environments=environments)

    def start_zygote(self) -> None:
        """Have the zygote import now, while the caller goes on, not in the first invocation."""
        self._zygote.start()

    def register(
        self,
        functions: Mapping[str, FunctionSpec],
        *,
        environments: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """Make these functions invocable (by logical id, and by name for moto).

        `environments` gives each function's whole environment by logical id; a function
        without one gets the template's variables and Lambda's own, with this process's
        AWS endpoint and credentials.
        """
        with self._lock:
            for logical_id, spec in functions.items():
                self._by_logical_id[logical_id] = spec
                self._by_name[spec.name] = spec
                environment = (environments or {}).get(logical_id) or lambda_environment(spec)
                self._pools[logical_id] = FunctionPool(
                    spec, dict(environment), spec.reserved_concurrency or DEFAULT_CONCURRENCY
                )

    @property
    def functions(self) -> dict[str, FunctionSpec]:
        return dict(self._by_logical_id)

    def spec(self, logical_id: str) -> FunctionSpec:
        try:
            return self._by_logical_id[logical_id]
        except KeyError:
            raise KeyError(f"no function {logical_id!r} in the template") from None

    def cold_starts(self) -> dict[str, int]:
        """How many workers each function has started."""
        with self._lock:
            return {logical_id: pool.cold_starts for logical_id, pool in self._pools.items()}

    def waiting(self) -> dict[str, int]:
        """How many invocations of each function wait for a worker (where Lambda would
        throttle them), first come first served."""
        with self._lock:
            pools = dict(self._pools)
        return {logical_id: len(pool.queue) for logical_id, pool in pools.items()}

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) of the live workers, by function, and of the zygote."""
        with self._lock:
            workers = dict(self._workers)
        used: dict[str, float] = defaultdict(float)
        for pid, logical_id in workers.items():
            used[logical_id] += _process_cpu_seconds(pid)
        if self._zygote.pid is not None:
            used["(zygote)"] += _process_cpu_seconds(self._zygote.pid)
        return dict(used)

    def resident_mib(self) -> tuple[float, int]:
        """The resident memory of the live workers and the zygote, in MiB, and the workers."""
        with self._lock:
            pids = list(self._workers)
        if self._zygote.pid is not None:
            pids.append(self._zygote.pid)
        return sum(_resident_mib(pid) for pid in pids), len(pids) - (self._zygote.pid is not None)

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        """Call the function's handler with `event` in one of its workers (an event larger
        than Lambda takes is refused, as Lambda's Invoke refuses it)."""
        spec = self.spec(logical_id)
        size = len(json.dumps(event).encode())
        if size > MAX_REQUEST_BYTES:
            logger.error("%s: Invoke refused a %d-byte event", logical_id, size)
            return Invocation(error=_too_large())
        pool = self._pools[logical_id]
        worker = self._acquire(pool)
        request_id = str(uuid.uuid4())
        context = {
            "function_name": spec.name,
            "invoked_function_arn": spec.arn,
            "memory_limit_in_mb": spec.memory_size,
            "timeout_seconds": spec.timeout,
            "aws_request_id": request_id,
        }
        healthy = False
        try:
            worker.channel.settimeout(spec.timeout)
            send_message(worker.channel, {"event": event, "context": context})
            answer = receive_message(worker.channel)
            healthy = True
        except TimeoutError:
            logger.error(
                "%s timed out after %s s (request %s)", logical_id, spec.timeout, request_id
            )
            return Invocation(error=_timed_out(request_id, spec.timeout))
        except (ChannelClosed, OSError) as gone:
            logger.error("%s: its worker exited (request %s): %s", logical_id, request_id, gone)
            exited = f"RequestId: {request_id} Error: Runtime exited"
            payload = {"errorType": "Runtime.ExitError", "errorMessage": exited}
            return Invocation(error=LambdaError.of(payload))
        finally:
            self._release(pool, worker, healthy=healthy)
        if "error" in answer:
            error = LambdaError.of(answer["error"])
            logger.error(
                "%s failed (request %s): %s: %s",
                logical_id,
                request_id,
                error.error_type,
                error,
            )
            return Invocation(error=error)
        return Invocation(result=json.loads(answer["result"]))

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

    def close(self) -> None:
        """Kill every worker (a busy one's invocation fails); the zygote serves on."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
        for pool in pools:
            with pool.lock:
                idle, pool.idle = pool.idle, []
                pool.alive -= len(idle)
                waiting, pool.queue = list(pool.queue), collections.deque()
            for turn in waiting:
                turn.closed = True
                turn.ready.set()
            for worker in idle:
                self._forget(worker)

    def _acquire(self, pool: FunctionPool) -> Worker:
        """A worker of the pool: an idle one, a new one while the pool is under its
        concurrency, else the first to come free after those who waited before (first come,
        first served: in a burst, no invocation waits while later ones are served)."""
        turn: _Turn | None = None
        with pool.lock:
            if self._closed:
                raise RuntimeError("the runtime is stopped")
            if pool.queue or (not pool.idle and pool.alive >= pool.concurrency):
                turn = _Turn()
                pool.queue.append(turn)
            elif pool.idle:
                return pool.idle.pop()
            else:
                self._count_start(pool)
        if turn is not None:
            turn.ready.wait()
            if turn.closed:
                raise RuntimeError("the runtime is stopped")
            if turn.worker is not None:
                return turn.worker
        try:
            return self._start_worker(pool)
        except BaseException:
            self._hand_on(pool, None)
            raise

    @staticmethod
    def _count_start(pool: FunctionPool) -> None:
        pool.alive += 1
        pool.cold_starts += 1

    def _hand_on(self, pool: FunctionPool, worker: Worker | None) -> None:
        """A worker came free (or, None, one is gone): to the first invocation waiting, else
        to the idle ones; a gone one's place, to the first waiting, who starts a new one."""
        with pool.lock:
            turn = pool.queue.popleft() if pool.queue and not self._closed else None
            if worker is None:
                pool.alive -= 1
                if turn is not None:
                    self._count_start(pool)  # the waiter starts one in its place
            elif turn is not None:
                turn.worker = worker
            else:
                pool.idle.append(worker)
        if turn is not None:
            turn.ready.set()

    def _start_worker(self, pool: FunctionPool) -> Worker:
        pid, channel, log = self._zygote.fork()
        with self._lock:
            self._workers[pid] = pool.spec.logical_id
        spec = pool.spec
        send_message(
            channel,
            {
                "environment": dict(pool.environment),
                "code_dir": str(spec.code_dir),
                "handler": spec.handler,
            },
        )
        return Worker(pid, channel, log)

    def _release(self, pool: FunctionPool, worker: Worker, *, healthy: bool) -> None:
        self._log(worker.read_log())
        kept = healthy and not self._closed
        self._hand_on(pool, worker if kept else None)
        if not kept:
            self._forget(worker)

    def _forget(self, worker: Worker) -> None:
        with self._lock:
            self._workers.pop(worker.pid, None)
        self._log(worker.kill())

    def _log(self, text: str) -> None:
        """A worker's log lines, to the runner's log: this process's stdout (`izin local
        serve`'s console) unless it was given a file."""
        if text:
            to = self._log_to or sys.stdout
            with self._log_lock:
                to.write(text if text.endswith("\n") else text + "\n")
                to.flush()


def _process_cpu_seconds(pid: int) -> float:
    """User + system CPU of one process, from /proc (0 when it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _resident_mib(pid: int) -> float:
    """A process's resident set (VmRSS), in MiB (0 when it has gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def lambda_environment(
    spec: FunctionSpec,
    *,
    credentials: Mapping[str, str] | None = None,
    local: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A function's whole environment, as Lambda sets it, plus what the local world adds.

    Lambda's own variables first, then the template's (Globals merged), the credentials
    of the function's role, and the local runtime's (its AWS endpoint, the caller's
    overrides). Without `credentials`, this process's AWS credentials are used.
    """
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "")
    own = {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": spec.handler,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    if credentials is None:
        credentials = {
            key: os.environ[key]
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
            if key in os.environ
        }
    return {**own, **spec.environment, **credentials, **(local or {})}
