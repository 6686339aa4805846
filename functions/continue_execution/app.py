"""A wait on OSS or SIINAS outlasted its execution's year: continue in a new execution.

Input: ContinueRequest {id_izin, step, execution, lanjut_dari, state}. Output: {execution}.
"""

from typing import Any

from izin import wiring
from izin.models import ContinueRequest
from izin.observability import logger
from izin.resume import continue_as_new
from izin.settings import needs_settings, settings
from izin.stepfunctions import StepFunctionsExecutions


@logger.inject_lambda_context(correlation_id_path="id_izin")
@needs_settings("state_machine_arn")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = ContinueRequest.model_validate(event)
    name = continue_as_new(
        request,
        store=wiring.store(),
        executions=StepFunctionsExecutions(settings().state_machine_arn),
        now=wiring.now(),
    )
    logger.info("execution continued", extra={"previous": request.execution, "next": name})
    return {"execution": name}
