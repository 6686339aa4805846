"""Logging and metrics shared by every function (Powertools).

Every log line carries `id_izin` as the correlation id once a handler has set it, so an
administrator follows one application through all the functions.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

logger = Logger(service="izin")
metrics = Metrics(namespace="Izin", service="izin")

__all__ = ["MetricUnit", "logger", "metrics", "single_metric"]
