"""A step that waits on OSS or SIINAS (2–3, 18, 19): keep the token, or apply an event already here.

Input: {id_izin, step, event: "source:type", task_token}. Output: none; the state waits.
"""

from typing import Any

from izin import wiring
from izin.events import register_wait
from izin.observability import logger


@logger.inject_lambda_context(correlation_id_path="id_izin")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    delivered = register_wait(
        wiring.store(),
        wiring.callbacks(),
        id_izin=event["id_izin"],
        step=int(event["step"]),
        event_key=event["event"],
        token=event["task_token"],
        now=wiring.now(),
    )
    return {"delivered": delivered}
