"""The local HTTP gateway's server: a reader gone before its answer is a line in the log,
not a traceback on the console (`izin local serve`, `izin bench`); an answer later than
HTTP APIs' integration timeout is their 503."""

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from izin_local.gateway import (
    MAX_BODY_BYTES,
    SERVICE_UNAVAILABLE,
    TOO_LARGE,
    HttpGateway,
    _Handler,
    _Server,
)
from izin_local.lambda_runner import FunctionSpec, Invocation
from izin_local.outbox import Outbox


@pytest.fixture
def server() -> Iterator[_Server]:
    made = _Server(("127.0.0.1", 0), _Handler)
    yield made
    made.server_close()


@pytest.mark.parametrize("gone", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError()])
def test_a_reader_gone_before_its_answer_is_one_log_line(
    server: _Server,
    gone: ConnectionError,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with caplog.at_level(logging.WARNING, logger="izin_local.gateway"):
        try:
            raise gone
        except ConnectionError:
            server.handle_error(None, ("127.0.0.1", 40000))
    assert capsys.readouterr().err == ""
    assert [r.getMessage() for r in caplog.records] == [f"127.0.0.1 left before its answer: {gone}"]


def test_any_other_error_keeps_its_traceback(
    server: _Server, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        raise ValueError("a bug of the gateway's own")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 40000))
    printed = capsys.readouterr().err
    assert "Traceback" in printed and "ValueError: a bug of the gateway's own" in printed


class SlowRunner:
    """A runner whose one function answers only once let go (`release`)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.finished = threading.Event()
        spec = FunctionSpec(
            logical_id="PageFunction",
            name="izin-local-PageFunction",
            arn="arn:aws:lambda:ap-southeast-3:123456789012:function:izin-local-PageFunction",
            handler="app.lambda_handler",
            code_dir=Path("."),
            runtime="python3.12",
            timeout=60,
            memory_size=512,
            events={"Page": {"Type": "HttpApi", "Properties": {"Path": "/page", "Method": "GET"}}},
        )
        self.functions = {spec.logical_id: spec}

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        self.release.wait(10)
        self.finished.set()
        return Invocation(result={"statusCode": 200, "body": "done"})


def test_an_answer_later_than_the_integration_timeout_is_a_503_and_the_invocation_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As an HTTP API: past its integration timeout it answers 503 "Service Unavailable",
    and the Lambda runs on to its end (a decision taken meanwhile stands)."""
    gateway = HttpGateway(outbox=Outbox(tmp_path), integration_timeout=0.2)
    runner = SlowRunner()
    try:
        gateway.serve(runner)  # type: ignore[arg-type]
        with caplog.at_level(logging.WARNING, logger="izin_local.gateway"):
            answer = gateway.respond(
                method="GET", target="/page", headers=[], body=b"", source_ip="127.0.0.1"
            )
        assert (answer.status, json.loads(answer.body)) == (503, SERVICE_UNAVAILABLE)
        assert "GET /page: no answer within 0.2 s" in caplog.text
        assert not runner.finished.is_set()
        runner.release.set()
        assert runner.finished.wait(10)  # not cut short by the 503
        quick = gateway.respond(
            method="GET", target="/page", headers=[], body=b"", source_ip="127.0.0.1"
        )
        assert (quick.status, quick.body) == (200, b"done")
    finally:
        runner.release.set()
        gateway.stop()


def test_a_body_larger_than_an_http_api_takes_is_413_before_any_function(tmp_path: Path) -> None:
    """As an HTTP API: a request body over 10 MB is answered 413 and invokes nothing."""
    gateway = HttpGateway(outbox=Outbox(tmp_path))
    runner = SlowRunner()
    runner.release.set()
    try:
        gateway.serve(runner)  # type: ignore[arg-type]
        large = b"x" * (MAX_BODY_BYTES + 1)
        answer = gateway.respond(
            method="GET", target="/page", headers=[], body=large, source_ip="127.0.0.1"
        )
        assert (answer.status, json.loads(answer.body)) == (413, TOO_LARGE)
        assert not runner.finished.is_set()
        fits = gateway.respond(
            method="GET", target="/page", headers=[], body=large[1:], source_ip="127.0.0.1"
        )
        assert fits.status == 200 and runner.finished.is_set()
    finally:
        gateway.stop()
