"""Logging and metrics shared by every function (Powertools).

Every log line carries `id_izin` as the correlation id once a handler has set it, so an
administrator follows one application through all the functions.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

logger = Logger(service="izin")
metrics = Metrics(namespace="Izin", service="izin")


def count(name: str, **dimensions: str) -> None:
    """Publish one count now, for an event a handler sees only sometimes."""
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        return  # single_metric does not heed the switch the shared Metrics heeds
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace="Izin") as metric:
        for key, value in dimensions.items():
            metric.add_dimension(name=key, value=value)


__all__ = ["MetricUnit", "count", "logger", "metrics", "single_metric"]
