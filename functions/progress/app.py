"""Record an automatic step (1, 15, 16, 20) on the application and its audit trail; at
the outcome, email it to every officer who acted on the application.

Input: {id_izin, step, status?}. Output: {step, outcome}.
"""

from typing import Any

from izin import wiring
from izin.models import ProgressRequest
from izin.observability import MetricUnit, logger, metrics
from izin.progress import notify_outcome, record_step
from izin.settings import needs_settings
from izin.store import InvocationStore


@logger.inject_lambda_context(correlation_id_path="id_izin")
@metrics.log_metrics
@needs_settings()
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = ProgressRequest.model_validate(event)
    now = wiring.now()

    def recorded(kept: wiring.KeptRoster) -> tuple[InvocationStore, dict[str, Any]]:
        # The outcome's email reads the record and the trail (already notified? who acted?):
        # the application's partition, trail and all, in one Query.
        view = InvocationStore(
            wiring.store(), whole_applications=True, with_trail=True, roster_at=kept.at
        )
        step = record_step(
            view, kept.roster, request.id_izin, request.step, now=now, status=request.status
        )
        return view, step

    store, result = wiring.with_kept_roster(recorded)
    metrics.add_metric(name="StepsCompleted", unit=MetricUnit.Count, value=1)
    if result["outcome"]:
        # The officers' addresses as the roster has them now: read, not kept.
        roster = wiring.roster(store)
        notify_outcome(store, roster, wiring.mailer(), request.id_izin, now=now)
        metrics.add_metric(
            name=f"Outcome{result['outcome'].title().replace('_', '')}",
            unit=MetricUnit.Count,
            value=1,
        )
    return result
