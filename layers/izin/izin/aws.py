"""boto3 clients, made lazily on first use and cached: never at import time.

In AWS the SDK finds its endpoint and credentials itself; under the local runtime
AWS_ENDPOINT_URL points every client at moto.

Every client comes from one boto3 session per container: a session of its own per client
would parse botocore's endpoint and partition data again for each (about 0.1 s of a core
per client, paid at every cold start).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from botocore.config import Config

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=30
)


# A botocore session is not safe for making clients from two threads at once.
_MAKING = threading.Lock()


@functools.cache
def session() -> Any:
    """The container's one boto3 session (its credentials are resolved at the first client);
    its clients parse JSON answers by `izin.response_parser`."""
    import boto3  # imported here: a cold start of a function that never calls AWS skips it
    import botocore.session

    from izin.response_parser import session_parsing_fast

    return boto3.session.Session(
        botocore_session=session_parsing_fast(botocore.session.get_session())
    )


@functools.cache
def client(service: str) -> Any:
    """The shared boto3 client of one service."""
    from izin.errors import raise_transient

    with _MAKING:
        made = session().client(service, config=_CONFIG)
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
    with _MAKING:
        return session().client("s3", config=_PRESIGN_CONFIG)
