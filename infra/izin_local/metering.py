"""Count the AWS calls moto serves: by service, and by who made them.

A call made with a function's role session belongs to that function; a call with any
other credentials is the runtime's own (its SQS pollers, the Step Functions interpreter,
the simulated people of the bench); a request with no Authorization header is a
presigned S3 link opened by a browser. `izin bench` reads the counts per application.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

_SCOPE = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/")

RUNTIME = "(runtime)"
PRESIGNED = "(presigned link)"


class AwsCallMeter:
    """(caller, service, operation) -> how many requests, while `counting()` is active.

    The operation is the JSON protocols' `X-Amz-Target` (DynamoDB's `GetItem`, Step
    Functions' `SendTaskSuccess`); services of other protocols count under "".
    """

    def __init__(self, callers: Mapping[str, str]) -> None:
        self._callers = dict(callers)  # access key id -> function logical id
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def counting(self) -> Iterator[AwsCallMeter]:
        """Count every request moto serves in this process until the block ends."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        original = DomainDispatcherApplication.__dict__["__call__"]

        @functools.wraps(original)
        def counted(app: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            self.record(
                environ.get("HTTP_AUTHORIZATION") or "", environ.get("HTTP_X_AMZ_TARGET") or ""
            )
            return original(app, environ, start_response)

        DomainDispatcherApplication.__call__ = counted  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            DomainDispatcherApplication.__call__ = original  # type: ignore[method-assign]

    def record(self, authorization: str, target: str = "") -> None:
        found = _SCOPE.search(authorization)
        operation = target.rpartition(".")[2]
        if found is None:
            key = (PRESIGNED, "s3", operation)
        else:
            key = (self._callers.get(found.group(1), RUNTIME), found.group(2), operation)
        with self._lock:
            self._counts[key] += 1

    def by_service(self) -> Counter[str]:
        with self._lock:
            counts = Counter[str]()
            for (_caller, service, _operation), count in self._counts.items():
                counts[service] += count
            return counts

    def by_caller(self, service: str) -> Counter[str]:
        with self._lock:
            counts = Counter[str]()
            for (caller, svc, _operation), count in self._counts.items():
                if svc == service:
                    counts[caller] += count
            return counts

    def by_operation(self, service: str) -> Counter[tuple[str, str]]:
        """(caller, operation) -> how many requests to `service`."""
        with self._lock:
            return Counter(
                {(caller, op): n for (caller, svc, op), n in self._counts.items() if svc == service}
            )
