"""boto3 clients, made lazily on first use and cached: never at import time.

In AWS the SDK finds its endpoint and credentials itself; under the local runtime
AWS_ENDPOINT_URL points every client at moto.
"""

from __future__ import annotations

import functools
from typing import Any

from botocore.config import Config

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=30
)


@functools.cache
def client(service: str) -> Any:
    """The shared boto3 client of one service."""
    import boto3  # imported here: a cold start of a function that never calls AWS skips it

    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]
