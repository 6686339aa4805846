"""Errors the state machine retries by name (its Retry lists them; see the ASL)."""


class TransientError(Exception):
    """A passing failure of something the step needs: the state machine tries the step again."""


# Error codes AWS answers for a passing condition, whatever the service: throttling, a
# service busy or failing on its side, SES refusing a send for now (its sending quota).
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServiceError",
        "MessageRejected",
        "LimitExceededException",
    }
)


def raise_transient(http_response: object, parsed: dict, model: object, **_: object) -> None:
    """botocore's after-call hook: a call that failed for a passing reason is TransientError.

    Registered on every client the layer makes (`izin.aws`), so that an error boto3's own
    retries could not outlast reaches the state machine's Retry, not its Catch (which parks
    the application). Any 5xx counts, and the codes of TRANSIENT_CODES.
    """
    status = getattr(http_response, "status_code", 200)
    code = str((parsed.get("Error") or {}).get("Code", "")) if isinstance(parsed, dict) else ""
    if status >= 500 or code in TRANSIENT_CODES:
        operation = getattr(model, "name", "an AWS call")
        raise TransientError(f"{operation}: {code or status} (passing; the step is retried)")
