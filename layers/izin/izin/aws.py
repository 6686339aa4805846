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

    from izin.errors import raise_transient

    made = boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]
    made.meta.events.register("after-call", raise_transient)
    return made


# SigV4 and the bucket's regional host: the legacy global host (<bucket>.s3.amazonaws.com)
# that botocore uses by default fails for buckets in regions opened after 2019, Jakarta
# (ap-southeast-3) among them. An IP endpoint (moto) still gets path-style URLs.
_PRESIGN_CONFIG = _CONFIG.merge(
    Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
)


@functools.cache
def presign_client() -> Any:
    """The S3 client whose presigned links officers' browsers open."""
    import boto3

    return boto3.session.Session().client("s3", config=_PRESIGN_CONFIG)
