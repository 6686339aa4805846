"""`izin bench --applications N`: N applications through the whole SOP concurrently; figures.

What runs: the local runtime of template.yaml (moto in server mode, the HTTP gateway, the
SQS pollers and the OSS/SIINAS simulators in this process; every function in worker
processes of its own, under its own IAM role). N threads each drive one application
(`IP-BENCH-0001`, ...) with `izin_local.scenario.drive`, by the same HTTP path as `izin
demo` and the integration tests: OSS and SIINAS post signed webhooks, every officer opens
the email's link, GETs the task page and POSTs the form. Every application takes the
demo's path (field inspection, one send-back by the Kepala Bidang): all 20 steps, 12
officer's decisions. The applications arrive `--arrival-gap` seconds apart (ARRIVAL_GAP,
0.1 s, by default), not in one instant: the local gateway listens with a backlog of 128,
and more connections at once get some reset. Two cores finish about 25 to 35
applications a minute (2026-12-04): a burst of many more waits in the queues, and a page
not back within the gateway's 30 s is its 503, as API Gateway's would be; the officer
reloads it (a decision is sent again only if the reloaded page still asks for it), and the
reloads are counted. A gap of 5 s holds 200 applications at the rate the machine can
serve. The simulated people read the outbox through `SharedOutbox` (one scanner for all
of them) and the drivers the records through `SharedRecords` (one batched read for all of
them), so that their reading of N applications' mail and records is not what is measured.

What is measured (printed one figure per line, plain text):

- applications completed / failed: completed means the record ends `SELESAI` with outcome
  `BERLAKU_EFEKTIF` and the execution `SUCCEEDED`; anything else (or a driver's timeout)
  is a failure, listed with its reason.
- wall time: from the first application's arrival to the last one's end (the runtime's
  start-up excluded, printed on its own line); throughput = completed applications / wall
  time, per minute.
- end-to-end per application, p50 / p95: as each driving thread sees it, from OSS's first
  POST to the record reading `SELESAI`. It includes the simulated people's polling (the
  outbox every 0.05 s, the record every 0.1 s as of at most 0.25 s before), not any
  thinking time: they act at once.
- latency per SOP step, p50 / p95: for each officer's decision, the time from the
  decision's audit entry (`task.decided`, its `at`, written while the officer's POST is
  served) to the next audit entry where the workflow waits for a person again
  (`task.issued`, its `at`); for the Kepala Dinas's approval (step 14), whose next waiting
  point is SIINAS, to the BAP's upload (`bap.uploaded`, step 17). That is what the system
  adds between two human steps: callbacks, Lambda tasks, documents, emails. Both times
  are the server's clock; steps 12 and 13 count twice per application (the send-back).
- state transitions per application: the `StateEntered` events of the execution's
  history (GetExecutionHistory, every page).
- peak memory: this process's `ru_maxrss` (KiB on Linux), in MiB; the workers' resident
  memory at the end.
- CPU: this process's CPU time (user + system) during the run and the workers' (from
  /proc, by function), their sum per state transition, and the engine floor measured in
  the same run (`engine_floor`) beside it as a ratio.
- AWS calls per application, by service and by caller (`metering`).
- the machine (nproc, Python, moto, boto3), so figures from two machines can be compared,
  and its load average at the end: other processes on the machine slow the run down.

A benchmark, not a test: nothing is asserted about speed. `run_bench` returns 0 when
every application completed as expected, 1 otherwise.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import platform
import resource
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from izin import sop
from izin.settings import Settings
from izin.store import DynamoStore

from izin_local import engine_floor, function_logs
from izin_local.config import ARRIVAL_GAP
from izin_local.demo import DEMO_SCENARIO
from izin_local.engine_floor import Floor
from izin_local.metering import RUNTIME, AwsCallMeter
from izin_local.officer import RELOADS
from izin_local.outbox import Outbox, OutboxMessage, parse_message
from izin_local.runtime import LocalRuntime
from izin_local.scenario import Endpoints, Scenario, drive
from izin_local.testing import System, endpoints_of

EXPECTED_OUTCOME = "BERLAKU_EFEKTIF"
# Where the workflow waits for someone again after an officer's decision.
WAITS_AGAIN = frozenset({"task.issued", "bap.uploaded"})


@dataclass
class Run:
    """One application's run: how it ended and what was measured of it."""

    id_izin: str
    seconds: float = 0.0
    error: str = ""
    status: str = ""
    outcome: str = ""
    execution_status: str = ""
    transitions: int = 0
    handoffs: list[tuple[int, float]] = field(default_factory=list)
    # The simulated people's own CPU: the driving thread's (reading emails, filling forms);
    # what their requests cost the gateway, moto and the functions is the system's.
    people_cpu: float = 0.0

    @property
    def completed(self) -> bool:
        return (
            not self.error
            and (self.status, self.outcome) == ("SELESAI", EXPECTED_OUTCOME)
            and self.execution_status == "SUCCEEDED"
        )


# -- the records, as N drivers read them at once --------------------------------------------


class SharedRecords(DynamoStore):
    """The table for N driving threads at once: one batched read of the records they wait
    on per REFRESH for all of them.

    Each driver waits for its application's step by reading the record every 0.1 s
    (`scenario.wait_for_step`); N drivers at once would be N GetItems every 0.1 s on moto's
    one process (2,000 a second for 200 applications), starving the system measured. Here
    they share one BatchGetItem per 100 applications per REFRESH, and see a record at most
    REFRESH old. A read takes the records of the drivers still waiting (those that asked
    within ACTIVE seconds), not all N: applications arriving seconds apart have mostly ended
    or not begun. Every other read and write goes to the table as it is.
    """

    REFRESH = 0.25
    ACTIVE = 1.0

    def __init__(self, table_name: str, ids: Sequence[str]) -> None:
        super().__init__(table_name)
        self._ids = frozenset(ids)
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = {}
        self._read_at: dict[str, float] = {}
        self._asked_at: dict[str, float] = {}

    def application(self, id_izin: str) -> dict[str, Any] | None:
        if id_izin not in self._ids:
            return super().application(id_izin)
        with self._lock:
            now = self._asked_at[id_izin] = time.monotonic()
            if now - self._read_at.get(id_izin, -math.inf) >= self.REFRESH:
                waiting = {i for i, at in self._asked_at.items() if now - at < self.ACTIVE}
                wanted = sorted(waiting | {id_izin})
                found = self.applications_by_id(wanted)
                read = time.monotonic()
                for asked in wanted:
                    self._read_at[asked] = read
                    if asked in found:
                        self._records[asked] = found[asked]
            record = self._records.get(id_izin)
        return copy.deepcopy(record)


# -- the outbox, as N people read it at once ------------------------------------------------


class SharedOutbox(Outbox):
    """The outbox for N simulated people at once: one thread lists the folder for all of
    them and hands each new message to the waits it satisfies; a waiting person sleeps
    until then.

    People waiting on their own each looked every 0.05 s: 200 of them woke 4,000 times a
    second, 6 ms of the runtime process's CPU per state transition in a burst of 200, and
    the GIL the system they measure needs. Here the folder is listed once per REFRESH by
    one scanner (while anyone waits), each new file parsed once, and a predicate asked once
    per message. Same answers as Outbox: the newest message that satisfies the predicate,
    among those found when the wait began, else the first new ones to satisfy it.
    """

    REFRESH = 0.05

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self._lock = threading.Lock()  # the arrivals and the waits
        self._scanning = threading.Lock()  # one listing of the folder at a time
        self._arrivals: list[OutboxMessage] = []  # in the order found; only ever appended
        self._known: set[str] = set()
        self._waits: list[_Wait] = []
        self._scanner: threading.Thread | None = None
        self._refreshed = -math.inf

    def messages(self) -> list[OutboxMessage]:
        """Every message, newest first."""
        self._refresh()
        with self._lock:
            return sorted(self._arrivals, key=lambda message: message.name, reverse=True)

    def wait_for(
        self,
        predicate: Callable[[OutboxMessage], bool] = lambda message: True,
        *,
        timeout: float = 10.0,
    ) -> OutboxMessage:
        if time.monotonic() - self._refreshed >= self.REFRESH:  # as Outbox: the folder now
            self._refresh()
        wait = _Wait(predicate)
        with self._lock:
            for message in sorted(self._arrivals, key=lambda m: m.name, reverse=True):
                if predicate(message):
                    return message
            self._waits.append(wait)
            if self._scanner is None:
                self._scanner = threading.Thread(
                    target=self._scan_while_waited, name="bench-outbox", daemon=True
                )
                self._scanner.start()
        wait.done.wait(timeout)
        with self._lock:
            if wait in self._waits:
                self._waits.remove(wait)
        if wait.error is not None:
            raise wait.error
        if wait.found is None:
            raise TimeoutError(f"no matching email in {self.directory} after {timeout} s")
        return wait.found

    def _scan_while_waited(self) -> None:
        while True:
            time.sleep(self.REFRESH)
            self._refresh()
            with self._lock:
                if not self._waits:
                    self._scanner = None
                    return

    def _refresh(self) -> None:
        """Read what arrived since the last look, and hand it to the waits."""
        with self._scanning:
            names = os.listdir(self.directory) if self.directory.exists() else []
            new = sorted(n for n in names if n.endswith(".eml") and n not in self._known)
            found = [parse_message(self.directory / name) for name in new]
            self._known.update(new)
            self._refreshed = time.monotonic()
            with self._lock:
                self._arrivals += found
                for wait in [w for w in self._waits if w.offer(found)]:
                    self._waits.remove(wait)


class _Wait:
    """One person's wait: its predicate, and what it found (or what the predicate raised)."""

    def __init__(self, predicate: Callable[[OutboxMessage], bool]) -> None:
        self.predicate = predicate
        self.found: OutboxMessage | None = None
        self.error: Exception | None = None
        self.done = threading.Event()

    def offer(self, arrived: Sequence[OutboxMessage]) -> bool:
        """Whether one of the messages just found ends the wait (the newest that matches)."""
        try:
            matching = [message for message in arrived if self.predicate(message)]
        except Exception as error:  # the waiting thread raises it, not the scanner
            self.error = error
        else:
            if not matching:
                return False
            self.found = max(matching, key=lambda message: message.name)
        self.done.set()
        return True


# -- what is computed from the record ----------------------------------------------------


def handoffs(audit: Iterable[Mapping[str, Any]]) -> list[tuple[int, float]]:
    """(step, seconds) for each officer's decision: until the workflow waits again."""
    entries = sorted(audit, key=lambda e: datetime.fromisoformat(str(e["at"])))
    found: list[tuple[int, float]] = []
    for i, entry in enumerate(entries):
        if entry.get("action") != "task.decided":
            continue
        decided = datetime.fromisoformat(str(entry["at"]))
        following = (e for e in entries[i + 1 :] if e.get("action") in WAITS_AGAIN)
        if (waits := next(following, None)) is not None:
            seconds = (datetime.fromisoformat(str(waits["at"])) - decided).total_seconds()
            found.append((int(entry["step"]), seconds))
    return found


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile: the smallest value with at least p % of them at or below."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def state_transitions(history: Iterable[Mapping[str, Any]]) -> int:
    """How many states the execution entered."""
    return sum(1 for event in history if str(event.get("type", "")).endswith("StateEntered"))


def peak_memory_mib() -> float:
    """This process's peak resident memory (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time of this process so far, user and system, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine() -> str:
    """What the figures were measured on."""
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
        f"Python {platform.python_version()}, moto {version('moto')}, "
        f"boto3 {version('boto3')}, {platform.system()} {platform.machine()}"
    )


# -- driving ---------------------------------------------------------------------------------


def drive_one(
    endpoints: Endpoints,
    id_izin: str,
    scenario: Scenario,
    timeout: float,
    start: threading.Barrier,
    delay: float,
) -> Run:
    """One application through the SOP, `delay` s after every thread is ready; never raises."""
    run = Run(id_izin)
    start.wait()
    time.sleep(delay)
    began, cpu_began = time.monotonic(), time.thread_time()
    try:
        final = drive(endpoints, id_izin, scenario, timeout=timeout)
        run.status, run.outcome = str(final.get("status", "")), str(final.get("outcome", ""))
    except Exception as error:  # a benchmark reports a failure and goes on
        run.error = describe_failure(error, time.monotonic() - began)
    run.seconds = time.monotonic() - began
    run.people_cpu = time.thread_time() - cpu_began
    return run


def describe_failure(error: BaseException, after: float) -> str:
    """The error, where in the driving code it surfaced, and when."""
    what = "".join(traceback.format_exception_only(error)).strip()
    ours = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if f"{os.sep}izin_local{os.sep}" in frame.filename
    ]
    where = f" in {Path(ours[-1].filename).name}:{ours[-1].lineno} {ours[-1].name}" if ours else ""
    return f"{what}{where}, after {after:.1f} s"


def measure(system: System, run: Run) -> None:
    """Read the execution and the audit trail of a run, after the fact. A run whose driver
    gave up leaves an execution waiting on a person who will not come: read as it is, not
    waited for (a minute each, which kept a burst of 200 reporting for twenty minutes)."""
    try:
        execution = system.execution(run.id_izin) if run.error else system.finished(run.id_izin)
        run.execution_status = str(execution["status"])
        run.transitions = state_transitions(system.history(run.id_izin))
        run.handoffs = handoffs(system.endpoints.store.audit(run.id_izin))
    except Exception as error:
        run.error = run.error or f"reading the run: {error}"


# -- the report --------------------------------------------------------------------------


def step_label(number: int) -> str:
    step = sop.step(number)
    return f"{step.code} {sop.ROLE_TITLES[step.actor]}"


@dataclass(frozen=True)
class Costs:
    """What the run cost: CPU by process, AWS calls, and the engine's floor beside it."""

    runtime_cpu: float  # this process: moto, the gateway, the pollers, the simulated people
    workers_cpu: Mapping[str, float]  # the functions' workers, by function (and the zygote)
    calls: AwsCallMeter | None = None
    floor: Floor | None = None
    workers_memory: tuple[float, int] = (0.0, 0)  # resident MiB at the end, how many workers

    @property
    def total_cpu(self) -> float:
        return self.runtime_cpu + sum(self.workers_cpu.values())


def report(
    runs: Sequence[Run],
    *,
    wall: float,
    startup: float,
    costs: Costs,
    reloads: int = 0,
    out: Callable[[str], None] = print,
) -> None:
    """The figures, one per line. `reloads`: the officers' pages answered API Gateway's 503
    (not back within its 30 s) and reloaded."""
    done = [r for r in runs if r.completed]
    failed = [r for r in runs if not r.completed]
    e2e = [r.seconds for r in done]
    transitions = [r.transitions for r in done]
    per_step: dict[int, list[float]] = defaultdict(list)
    for run in done:
        for number, seconds in run.handoffs:
            per_step[number].append(seconds)

    out(f"machine: {machine()}")
    out(f"applications: {len(runs)}")
    out(f"applications completed: {len(done)}")
    out(f"applications failed: {len(failed)}")
    out(
        f"pages reloaded by officers after API Gateway's 503: {reloads} "
        "(a page not back within its 30 s)"
    )
    out(f"runtime start-up: {startup:.1f} s")
    out(f"wall time: {wall:.1f} s")
    out(f"throughput: {len(done) / wall * 60 if wall else 0.0:.1f} applications/min")
    out(f"end-to-end per application p50: {percentile(e2e, 50):.1f} s")
    out(f"end-to-end per application p95: {percentile(e2e, 95):.1f} s")
    out(f"state transitions per application: {percentile(transitions, 50):.0f}")
    out(f"state transitions, all applications: {sum(transitions)}")
    out(f"state transitions per second: {sum(transitions) / wall if wall else 0.0:.1f}")
    workers = sum(costs.workers_cpu.values())
    out(
        f"CPU time: {costs.total_cpu:.1f} s (runtime process {costs.runtime_cpu:.1f} s, "
        f"functions' workers {workers:.1f} s)"
    )
    out(f"CPU use: {costs.total_cpu / wall if wall else 0.0:.2f} cores (of {os.cpu_count()})")
    count = sum(transitions)
    per_transition = costs.total_cpu / count * 1000 if count else math.nan
    out(
        f"CPU per state transition: {per_transition:.1f} ms "
        f"(runtime process {costs.runtime_cpu / count * 1000 if count else math.nan:.1f} ms, "
        f"workers {workers / count * 1000 if count else math.nan:.1f} ms)"
    )
    people = sum(r.people_cpu for r in runs)
    out(
        f"CPU of the simulated people (the bench's own threads, in the runtime process): "
        f"{people:.1f} s, {people / count * 1000 if count else math.nan:.1f} ms per state "
        f"transition; the system's alone: "
        f"{(costs.total_cpu - people) / count * 1000 if count else math.nan:.1f} ms"
    )
    if costs.floor is not None:
        floor = costs.floor
        out(
            f"engine floor: {floor.ms_per_transition:.1f} ms per state transition "
            f"(moto's interpreter, no-op handlers, {floor.transitions // floor.executions} "
            f"states, {floor.executions} executions, this machine, this run)"
        )
        ratio = per_transition / floor.ms_per_transition
        out(f"CPU per state transition / engine floor: {ratio:.1f}")
    top = sorted(costs.workers_cpu.items(), key=lambda item: -item[1])[:6]
    out("CPU of the workers by function: " + ", ".join(f"{k} {v:.1f} s" for k, v in top))
    if costs.calls is not None and runs:
        per_app = len(runs)
        services = costs.calls.by_service()
        out(
            "AWS calls per application: "
            + ", ".join(f"{svc} {n / per_app:.0f}" for svc, n in services.most_common())
        )
        callers = costs.calls.by_caller("dynamodb")
        product = sum(n for who, n in callers.items() if who != RUNTIME)
        out(
            f"DynamoDB calls per application: {product / per_app:.0f} by the functions, "
            f"{services['dynamodb'] / per_app:.0f} with the runtime's own (pollers, interpreter, "
            "the simulated people reading the record)"
        )
        out(
            "DynamoDB calls per application by caller: "
            + ", ".join(f"{who} {n / per_app:.0f}" for who, n in callers.most_common())
        )
        operations = costs.calls.by_operation("dynamodb")
        out(
            "DynamoDB calls per application by caller and operation: "
            + ", ".join(
                f"{who} {op} {n / per_app:.1f}"
                for (who, op), n in operations.most_common()
                if who != RUNTIME
            )
        )
    resident, count_workers = costs.workers_memory
    out(
        f"peak memory: {peak_memory_mib():.1f} MiB (runtime process); workers at the end "
        f"{resident:.1f} MiB resident, {count_workers} workers and the zygote (pages they "
        "share with the zygote are counted in each)"
    )
    out(f"load average at the end (1 min, whole machine): {os.getloadavg()[0]:.2f}")
    out("latency per SOP step: officer's decision (task.decided) -> next task.issued")
    out("  (step 14: -> bap.uploaded); p50 / p95 in seconds, n decisions")
    for number in sorted(per_step):
        values = per_step[number]
        out(
            f"  step {step_label(number):<17} p50 {percentile(values, 50):6.2f} s"
            f"  p95 {percentile(values, 95):6.2f} s  n {len(values)}"
        )
    for run in failed:
        reason = run.error or (
            f"status {run.status}, outcome {run.outcome!r}, execution {run.execution_status}"
        )
        out(f"failed: {run.id_izin}: {reason}")


def run_bench(
    *,
    applications: int,
    state_dir: Path,
    template: Path,
    options: dict[str, Any],
    scenario: Scenario = DEMO_SCENARIO,
    out: Callable[[str], None] = print,
    arrival_gap: float = ARRIVAL_GAP,
) -> int:
    """Drive `applications` applications concurrently and print the figures; 0 if all ended well."""
    if applications < 1:
        raise ValueError("applications must be at least 1")
    secrets = {
        "oss": options["secret_values"]["OssWebhookSecret"],
        "siinas": options["secret_values"]["SiinasWebhookSecret"],
    }
    # The waits of one application grow with the load on one core: be patient, not flaky.
    # A wait past 20 minutes is a stuck application, not a slow one: report it and end.
    timeout = min(60.0 + 10.0 * applications, 1200.0)
    ids = [f"IP-BENCH-{n:04d}" for n in range(1, applications + 1)]
    out(
        f"izin bench: {applications} applications, {arrival_gap:g} s apart, through the whole SOP "
        "(field inspection, one send-back by the Kepala Bidang)"
    )
    began = time.monotonic()
    function_log = state_dir / "functions.log"
    with LocalRuntime(template, state_dir, function_log=function_log, **options) as runtime:
        endpoints = dataclasses.replace(
            endpoints_of(runtime, Settings.model_validate(dict(os.environ)).roster_path(), secrets),
            outbox=SharedOutbox(runtime.outbox.directory),
            store=SharedRecords(runtime.table_names["IzinTable"], ids),
        )
        system = System(runtime, endpoints)
        meter = AwsCallMeter(
            {keys["AWS_ACCESS_KEY_ID"]: fn for fn, keys in runtime.provisioned.credentials.items()}
        )
        startup = time.monotonic() - began
        barrier = threading.Barrier(applications + 1)
        with ThreadPoolExecutor(applications, thread_name_prefix="bench") as pool:
            futures = [
                pool.submit(
                    drive_one, endpoints, id_izin, scenario, timeout, barrier, i * arrival_gap
                )
                for i, id_izin in enumerate(ids)
            ]
            with meter.counting():
                barrier.wait()
                cpu_before, wall_began = cpu_seconds(), time.monotonic()
                workers_before = runtime.runner.cpu_seconds()
                reloads_before = RELOADS.count
                runs = [future.result() for future in futures]
                reloads = RELOADS.count - reloads_before
                wall, cpu = time.monotonic() - wall_began, cpu_seconds() - cpu_before
                workers_after = runtime.runner.cpu_seconds()
                workers_memory = runtime.runner.resident_mib()
        for run in runs:
            measure(system, run)
    workers = {name: used - workers_before.get(name, 0.0) for name, used in workers_after.items()}
    counted = [r.transitions for r in runs if r.transitions]
    states = int(percentile(counted, 50)) if counted else 0  # none completed: no floor
    floor = engine_floor.measure(states, min(applications, 10)) if states else None
    costs = Costs(
        runtime_cpu=cpu,
        workers_cpu=workers,
        calls=meter,
        floor=floor,
        workers_memory=workers_memory,
    )
    report(runs, wall=wall, startup=startup, costs=costs, reloads=reloads, out=out)
    out("\n".join(function_logs.summary(function_log)))
    return 0 if all(run.completed for run in runs) else 1
