"""The functions' metrics: each invocation publishes its own (CloudWatch EMF on stdout); with
metrics switched off (the local runtime, the tests) an invocation's metrics end with it,
however long a container stays warm."""

import json
import warnings
from typing import Any

import pytest
from izin.observability import MetricUnit, metrics


@metrics.log_metrics
def _handler(event: dict[str, Any], context: Any) -> None:
    metrics.add_metric(name="StepsCompleted", unit=MetricUnit.Count, value=1)


def test_with_metrics_on_each_invocation_publishes_its_own(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    for _ in range(3):
        _handler({}, None)
    published = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [blob["StepsCompleted"] for blob in published] == [[1.0], [1.0], [1.0]]


def test_with_metrics_off_a_warm_container_prints_and_warns_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "No application metrics to publish" fails the test
        for _ in range(150):  # past Powertools' 100 values a metric
            _handler({}, None)
    assert capsys.readouterr().out == ""
