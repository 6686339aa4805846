"""Fixtures for the local runtime's own tests: one runtime on the fixture template."""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from izin_local.moto_server import MotoServer
from izin_local.runtime import LocalRuntime

FIXTURE_TEMPLATE = Path(__file__).parent / "fixture" / "template.yaml"
OSS_SECRET = "oss-secret-for-tests"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    state_dir = tmp_path_factory.mktemp("state")
    with LocalRuntime(
        FIXTURE_TEMPLATE, state_dir, secret_values={"OssWebhookSecret": OSS_SECRET}
    ) as started:
        yield started


@pytest.fixture
def moto_server() -> Iterator[MotoServer]:
    """A moto server of its own, on a free port, for one test."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def oss_secret() -> str:
    """The value the runtime fixture gives the template's OssWebhookSecret."""
    return OSS_SECRET


@pytest.fixture
def eventually() -> Callable[..., Any]:
    """Poll `probe` until it returns something truthy; fail after `timeout` seconds."""

    def poll(probe: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"still false after {timeout} s: {probe}")
            time.sleep(interval)

    return poll


@pytest.fixture
def run_execution(eventually: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    """Run the fixture's Flow state machine on `payload`; its description once it ended."""

    def run(runtime: LocalRuntime, payload: dict[str, Any]) -> dict[str, Any]:
        stepfunctions = boto3.client("stepfunctions")
        arn = stepfunctions.start_execution(
            stateMachineArn=runtime.state_machine_arns["Flow"],
            name=f"{payload['mode']}-{uuid.uuid4().hex[:8]}",
            input=json.dumps(payload),
        )["executionArn"]

        def finished() -> dict[str, Any] | None:
            described = dict(stepfunctions.describe_execution(executionArn=arn))
            return None if described["status"] == "RUNNING" else described

        described: dict[str, Any] = eventually(finished, timeout=30)
        return described

    return run
