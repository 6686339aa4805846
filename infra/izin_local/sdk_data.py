"""botocore's data files parsed once per process, not once per session.

botocore caches what it loads per session (each Loader instance): every new session parses
the endpoint, partition and service-model JSON again, about 0.1 s of a core per client. The
runtime makes a new session at every start (and each function's role its own), and so do
moto's interpreter and the tests; the zygote makes one per worker.

Botocore merges a service's extras into its loaded model in place, the same merge each time,
so sharing the parsed dicts changes nothing of what a client sees.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.loaders import JSONFileLoader

# botocore's own, for a test to compare against.
ORIGINAL_LOAD_FILE = JSONFileLoader.load_file
_LOCK = threading.Lock()
_shared = False


def share_parsed_files() -> None:
    """Keep every botocore data file this process parses, for every later session (once)."""
    global _shared
    with _LOCK:
        if _shared:
            return
        parsed: dict[str, Any] = {}
        load_file = ORIGINAL_LOAD_FILE

        def shared(self: JSONFileLoader, file_path: str) -> Any:
            if file_path not in parsed:
                parsed[file_path] = load_file(self, file_path)
            return parsed[file_path]

        JSONFileLoader.load_file = shared  # type: ignore[method-assign]
        _shared = True


def preload(services: tuple[str, ...], region: str) -> None:
    """Parse the data files of these services' clients now (no credentials: nothing is sent)."""
    import boto3

    share_parsed_files()
    session = boto3.session.Session(region_name=region)
    for service in services:
        session.client(service)  # type: ignore[call-overload]
