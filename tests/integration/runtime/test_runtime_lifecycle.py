"""Starting and stopping the runtime: a clean world each time, os.environ put back."""

import dataclasses
import json
import os
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from izin_local.lambda_runner import FunctionSpec, LambdaRunner, Zygote
from izin_local.officer import known_session, remember_session, wait_until
from izin_local.runtime import LocalRuntime
from izin_local.template import TemplateError

FIXTURE = Path(__file__).parent / "fixture"


def test_two_runtimes_in_sequence_each_start_from_a_clean_world(tmp_path: Path):
    before = dict(os.environ)
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox" / "old.eml").write_text("From: old\n\nold world")

    external = "http://127.0.0.1:9/siinas-of-a-test"
    with LocalRuntime(
        FIXTURE / "template.yaml",
        tmp_path,
        env={"SIINAS_BASE_URL": external, "IZIN_FLAG": "on"},
        parameter_overrides={"PublicBaseUrl": "https://public.example"},
    ) as first:
        assert first.siinas is None and first.oss is not None
        assert os.environ["SIINAS_BASE_URL"] == external
        assert os.environ["PUBLIC_BASE_URL"] == "https://public.example"
        assert os.environ["IZIN_FLAG"] == "on"
        assert list((tmp_path / "outbox").iterdir()) == []
        boto3.client("sqs").send_message(
            QueueUrl=first.queue_urls["WorkDeadLetterQueue"], MessageBody="x"
        )
        first_urls = first.queue_urls
        remember_session(first.http_url, "196907151994031007", "izin_sesi=of-the-first")
        first_http = first.http_url
    assert dict(os.environ) == before
    # Its officers' sessions end with it: a runtime on the same port would refuse them.
    assert known_session(first_http, "196907151994031007") == ""

    with LocalRuntime(FIXTURE / "template.yaml", tmp_path) as second:
        assert second.siinas is not None
        sqs = boto3.client("sqs")
        left = sqs.receive_message(QueueUrl=second.queue_urls["WorkDeadLetterQueue"])
        assert "Messages" not in left
        assert len(boto3.client("stepfunctions").list_state_machines()["stateMachines"]) == 1
        assert second.invoke("EchoFunction", {"again": True})["event"] == {"again": True}
        # A queue's URL is AWS's, not of moto's port: a state machine's definition holding
        # one is the same text at each start, and parsed once.
        assert second.queue_urls == first_urls
    assert dict(os.environ) == before


def test_a_failed_start_undoes_what_it_started(tmp_path: Path):
    template = tmp_path / "template.yaml"
    template.write_text(
        (FIXTURE / "template.yaml")
        .read_text()
        .replace("Parameters:\n", "Parameters:\n  Required:\n    Type: String\n", 1)
    )
    for folder in ("functions", "statemachine"):
        (tmp_path / folder).symlink_to(FIXTURE / folder)
    before = dict(os.environ)
    runtime = LocalRuntime(template, tmp_path / "state", aws_port=_free_port())
    with pytest.raises(TemplateError, match="Required has no Default"):
        runtime.start()
    assert dict(os.environ) == before
    with socket.socket() as probe:  # the moto port is free again
        probe.bind(("127.0.0.1", int(runtime.aws_endpoint.rsplit(":", 1)[1])))
    runtime.stop()  # harmless


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _echo_spec() -> FunctionSpec:
    return FunctionSpec(
        logical_id="EchoFunction",
        name="echo",
        arn="arn:aws:lambda:ap-southeast-3:123456789012:function:echo",
        handler="app.lambda_handler",
        code_dir=FIXTURE / "functions" / "echo",
        runtime="python3.12",
        timeout=3,
        memory_size=128,
    )


@pytest.fixture
def runners() -> Iterator[list[LambdaRunner]]:
    """Runners a test makes; their workers are killed at its end."""
    made: list[LambdaRunner] = []
    yield made
    for runner in made:
        runner.close()


def test_a_worker_is_reused_warm_and_answers_by_name(runners: list[LambdaRunner]):
    runner = LambdaRunner({"EchoFunction": _echo_spec()})
    runners.append(runner)
    first = runner.invoke("EchoFunction", {"n": 1})
    second = runner.invoke("EchoFunction", {"n": 2})
    assert first.result["function_name"] == "echo"
    assert second.result["event"] == {"n": 2}
    assert runner.cold_starts() == {"EchoFunction": 1}
    payload, errored = runner.invoke_by_name("echo", "")
    assert (json.loads(payload)["event"], errored) == ({}, False)


def test_an_unknown_function_name_is_a_lambda_error():
    payload, errored = LambdaRunner().invoke_by_name("nobody", {})
    assert errored and json.loads(payload)["errorType"] == "LookupError"


def _runner_for(
    tmp_path: Path,
    code: str,
    runners: list[LambdaRunner],
    *,
    timeout: int = 3,
    concurrency: int | None = None,
    environment: dict[str, str] | None = None,
) -> LambdaRunner:
    (tmp_path / "app.py").write_text(code)
    spec = FunctionSpec(
        logical_id="Probe",
        name="probe",
        arn="arn:aws:lambda:ap-southeast-3:123456789012:function:probe",
        handler="app.lambda_handler",
        code_dir=tmp_path,
        runtime="python3.12",
        timeout=timeout,
        memory_size=128,
        environment=environment or {},
        reserved_concurrency=concurrency,
    )
    runner = LambdaRunner({"Probe": spec})
    runners.append(runner)
    return runner


def _gone(pid: int) -> bool:
    """The process has exited (reaped, or a zombie waiting for it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_a_handler_past_its_timeout_fails_as_lambda_reports_it_and_its_worker_dies(
    tmp_path: Path, runners: list[LambdaRunner]
):
    runner = _runner_for(
        tmp_path,
        "import os, threading\n"
        "def lambda_handler(event, context):\n"
        "    if event.get('pid'):\n"
        "        return os.getpid()\n"
        "    threading.Event().wait()\n",
        runners,
        timeout=1,
        concurrency=1,
    )
    pid = runner.invoke("Probe", {"pid": True}).result
    payload, errored = runner.invoke_by_name("probe", {})
    error = json.loads(payload)
    assert errored and error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    deadline = time.monotonic() + 10
    while not _gone(pid):
        assert time.monotonic() < deadline, f"worker {pid} still runs after its timeout"
        time.sleep(0.05)
    # The next invocation gets a new worker: a second cold start.
    assert runner.invoke("Probe", {"pid": True}).result != pid
    assert runner.cold_starts() == {"Probe": 2}


def test_a_runner_given_a_log_writes_its_workers_lines_there(
    tmp_path: Path, runners: list[LambdaRunner], capfd: pytest.CaptureFixture[str]
):
    (tmp_path / "app.py").write_text(
        "def lambda_handler(event, context):\n    print('from the handler', event['n'])\n"
    )
    spec = dataclasses.replace(_echo_spec(), code_dir=tmp_path)
    with (tmp_path / "functions.log").open("w") as log:
        runner = LambdaRunner({"EchoFunction": spec}, log=log)
        runners.append(runner)
        runner.invoke("EchoFunction", {"n": 1})
        runner.invoke("EchoFunction", {"n": 2})
        runner.close()
    assert (tmp_path / "functions.log").read_text().splitlines() == [
        "from the handler 1",
        "from the handler 2",
    ]
    assert "from the handler" not in capfd.readouterr().out


def test_a_worker_sees_its_own_environment_only(
    tmp_path: Path, runners: list[LambdaRunner], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("IZIN_OF_THE_RUNTIME", "not for functions")
    runner = _runner_for(
        tmp_path,
        "import os\ndef lambda_handler(event, context):\n    return dict(os.environ)\n",
        runners,
        environment={"TABLE_NAME": "own-table"},
    )
    environment = runner.invoke("Probe", {}).result
    assert environment["TABLE_NAME"] == "own-table"
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == "probe"
    assert environment["_HANDLER"] == "app.lambda_handler"
    assert "IZIN_OF_THE_RUNTIME" not in environment


def test_one_invocation_at_a_time_per_worker_and_no_more_workers_than_the_concurrency(
    tmp_path: Path, runners: list[LambdaRunner]
):
    runner = _runner_for(
        tmp_path,
        "import os, time\n"
        "def lambda_handler(event, context):\n"
        "    time.sleep(0.2)\n"
        "    return os.getpid()\n",
        runners,
        concurrency=2,
    )
    with ThreadPoolExecutor(max_workers=6) as pool:
        pids = list(pool.map(lambda _: runner.invoke("Probe", {}).result, range(6)))
    assert len(set(pids)) == 2
    assert runner.cold_starts() == {"Probe": 2}


def test_invocations_waiting_for_a_worker_are_served_in_the_order_they_came(
    tmp_path: Path, runners: list[LambdaRunner]
):
    """A worker that comes free goes to the invocation that waited longest, never to one
    that arrives at that moment: in a burst, no page waits while later ones are served."""
    runner = _runner_for(
        tmp_path,
        "import os, time\n"
        "def lambda_handler(event, context):\n"
        "    with open(event['log'], 'a') as log:\n"
        "        log.write(f\"{event['n']}\\n\")\n"
        "    deadline = time.monotonic() + 20\n"
        "    while event.get('gate') and not os.path.exists(event['gate']):\n"
        "        assert time.monotonic() < deadline, 'the gate never opened'\n"
        "        time.sleep(0.01)\n"
        "    return event['n']\n",
        runners,
        timeout=30,
        concurrency=1,
    )
    log, gate = tmp_path / "served.log", tmp_path / "gate"

    def served() -> list[int]:
        return [int(n) for n in log.read_text().split()] if log.exists() else []

    with ThreadPoolExecutor(max_workers=12) as pool:
        event = {"log": str(log), "gate": str(gate)}
        calls = [pool.submit(runner.invoke, "Probe", {**event, "n": 0})]
        holds = "the first invocation holds the worker"
        wait_until(lambda: served() == [0], timeout=20, what=holds, every=0.01)
        for n in range(1, 5):  # each queued before the next comes
            calls.append(pool.submit(runner.invoke, "Probe", {**event, "n": n}))
            wait_until(
                lambda: runner.waiting() == {"Probe": len(calls) - 1},
                timeout=20,
                what=f"{n} waiting",
                every=0.01,
            )
        gate.touch()  # the worker comes free while later invocations arrive
        calls += [pool.submit(runner.invoke, "Probe", {**event, "n": n}) for n in range(5, 11)]
        assert sorted(call.result().result for call in calls) == list(range(11))
    assert served()[:5] == [0, 1, 2, 3, 4]
    assert runner.waiting() == {"Probe": 0} and runner.cold_starts() == {"Probe": 1}


def test_a_module_that_cannot_load_is_an_import_module_error(
    tmp_path: Path, runners: list[LambdaRunner]
):
    runner = _runner_for(tmp_path, "import no_such_module_anywhere\n", runners)
    payload, errored = runner.invoke_by_name("probe", {})
    assert errored and json.loads(payload)["errorType"] == "Runtime.ImportModuleError"


def test_a_result_json_cannot_hold_is_a_marshal_error(tmp_path: Path, runners: list[LambdaRunner]):
    runner = _runner_for(
        tmp_path, "def lambda_handler(event, context):\n    return {1, 2}\n", runners
    )
    payload, errored = runner.invoke_by_name("probe", {})
    assert errored and json.loads(payload)["errorType"] == "Runtime.MarshalError"


def test_the_zygote_starts_when_asked_before_any_invocation_and_once():
    zygote = Zygote()
    runner = LambdaRunner(zygote=zygote)
    try:
        assert zygote.pid is None  # a runner alone (a test's) starts nothing
        runner.start_zygote()
        started = zygote.pid
        assert started is not None
        runner.start_zygote()  # once: the same process
        assert zygote.pid == started
    finally:
        runner.close()
        zygote.stop()
