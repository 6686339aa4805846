"""Starting and stopping the runtime: a clean world each time, os.environ put back."""

import json
import os
import socket
import sys
from pathlib import Path

import boto3
import pytest
from izin_local.lambda_runner import FunctionSpec, LambdaRunner
from izin_local.provisioner import ProvisioningError
from izin_local.runtime import LocalRuntime

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
    assert dict(os.environ) == before

    with LocalRuntime(FIXTURE / "template.yaml", tmp_path) as second:
        assert second.siinas is not None
        sqs = boto3.client("sqs")
        left = sqs.receive_message(QueueUrl=second.queue_urls["WorkDeadLetterQueue"])
        assert "Messages" not in left
        assert len(boto3.client("stepfunctions").list_state_machines()["stateMachines"]) == 1
        assert second.invoke("EchoFunction", {"again": True})["event"] == {"again": True}
    assert dict(os.environ) == before


def test_a_failed_start_undoes_what_it_started(tmp_path: Path):
    template = tmp_path / "template.yaml"
    template.write_text(
        (FIXTURE / "template.yaml")
        .read_text()
        .replace("WORK_QUEUE_ARN: !GetAtt WorkQueue.Arn", "TABLE_NAME: another-table")
    )
    for folder in ("functions", "statemachine"):
        (tmp_path / folder).symlink_to(FIXTURE / folder)
    before = dict(os.environ)
    runtime = LocalRuntime(template, tmp_path / "state", aws_port=_free_port())
    with pytest.raises(ProvisioningError, match="give TABLE_NAME different values"):
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


def test_a_new_runner_resets_the_layer_lifecycle_once_before_its_first_invocation(monkeypatch):
    import izin.lifecycle

    resets: list[str] = []
    monkeypatch.setattr(izin.lifecycle, "reset", lambda: resets.append("reset"))
    runner = LambdaRunner({"EchoFunction": _echo_spec()})
    assert resets == []
    first = runner.invoke("EchoFunction", {"n": 1})
    runner.invoke("EchoFunction", {"n": 2})
    assert resets == ["reset"]
    assert first.result["function_name"] == "echo"
    payload, errored = runner.invoke_by_name("echo", "")
    assert (json.loads(payload)["event"], errored) == ({}, False)


def test_without_a_lifecycle_module_the_runner_still_runs(monkeypatch):
    monkeypatch.setitem(sys.modules, "izin.lifecycle", None)
    runner = LambdaRunner({"EchoFunction": _echo_spec()})
    assert runner.invoke("EchoFunction", {}).errored is False


def test_an_unknown_function_name_is_a_lambda_error():
    payload, errored = LambdaRunner().invoke_by_name("nobody", {})
    assert errored and json.loads(payload)["errorType"] == "LookupError"


def _runner_for(tmp_path: Path, code: str, *, timeout: int = 3) -> LambdaRunner:
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
    )
    return LambdaRunner({"Probe": spec})


def test_a_handler_past_its_timeout_fails_as_lambda_reports_it(tmp_path: Path):
    runner = _runner_for(
        tmp_path,
        "import threading\n"
        "release = threading.Event()\n"
        "def lambda_handler(event, context):\n"
        "    release.wait(30)\n",
        timeout=1,
    )
    try:
        payload, errored = runner.invoke_by_name("probe", {})
    finally:
        sys.modules["izin_fn_Probe"].release.set()
    error = json.loads(payload)
    assert errored and error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]


def test_a_result_json_cannot_hold_is_a_marshal_error(tmp_path: Path):
    runner = _runner_for(tmp_path, "def lambda_handler(event, context):\n    return {1, 2}\n")
    payload, errored = runner.invoke_by_name("probe", {})
    assert errored and json.loads(payload)["errorType"] == "Runtime.MarshalError"
