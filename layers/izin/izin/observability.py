"""Logging and metrics shared by every function (Powertools).

Every log line carries `id_izin` as the correlation id once a handler has set it, so an
administrator follows one application through all the functions.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)


class _EmfProvider(AmazonCloudWatchEMFProvider):
    """Powertools' CloudWatch EMF, but with metrics switched off (POWERTOOLS_METRICS_DISABLED,
    as the local runtime and the tests run) an invocation's metrics end with it. Powertools
    3.37 keeps them instead: in a warm container they pile up until 100, are printed anyway,
    and the next invocation's end warns that it has none, which reads as a failure in the
    functions' log."""

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        if is_metrics_disabled():
            self.clear_metrics()
            return
        super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)


logger = Logger(service="izin")
metrics = Metrics(provider=_EmfProvider(namespace="Izin", service="izin"))


def count(name: str, **dimensions: str) -> None:
    """Publish one count now, for an event a handler sees only sometimes."""
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        return  # single_metric does not heed the switch the shared Metrics heeds
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace="Izin") as metric:
        for key, value in dimensions.items():
            metric.add_dimension(name=key, value=value)


__all__ = ["MetricUnit", "count", "logger", "metrics", "single_metric"]
