"""A step failed for good: park the application (TERHENTI), keep the reason, email the Operator.

Input: {id_izin, gagal: {Error, Cause}, execution (ARN)}. Output: {status, error}.
"""

from typing import Any

from izin import wiring
from izin.models import ParkRequest
from izin.observability import MetricUnit, logger, metrics
from izin.progress import park
from izin.resume import where_parked
from izin.settings import needs_settings, settings
from izin.stepfunctions import entered


@logger.inject_lambda_context(correlation_id_path="id_izin")
@metrics.log_metrics
@needs_settings()
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = ParkRequest.model_validate(event)
    logger.error("application parked", extra={"error": request.gagal.get("Error")})
    metrics.add_metric(name="ApplicationsParked", unit=MetricUnit.Count, value=1)
    return park(
        wiring.store(),
        wiring.roster(),
        wiring.mailer(),
        request.id_izin,
        request.gagal,
        now=wiring.now(),
        public_base_url=settings().public_base_url,
        parked_in=where_parked(request.execution, entered),
    )
