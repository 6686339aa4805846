"""botocore's data files parsed once per process, not once per session.

botocore caches what it loads per session (each Loader instance): every new session parses
the endpoint, partition and service-model JSON again, about 0.1 s of a core per client, and
walks its data folders again to list the services and find each file (another 8 ms a
client: some 400 folders listed, a thousand paths tested). The runtime makes a new session
at every start (and each function's role its own), and so do moto's interpreter and the
tests; the zygote makes one per worker.

Botocore merges a service's extras into its loaded model in place, the same merge each time,
so sharing the parsed dicts changes nothing of what a client sees. A loader's answers depend
only on its search paths and extras types (and on the data files, which do not change while
the process runs): loaders that agree on both share them.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.loaders import JSONFileLoader, Loader

# botocore's own, for a test to compare against.
ORIGINAL_LOAD_FILE = JSONFileLoader.load_file
# The Loader's methods that botocore caches per instance (`instance_cache`), its own too.
LOADER_METHODS = (
    "list_available_services",
    "determine_latest_version",
    "list_api_versions",
    "load_service_model",
    "load_data_with_path",
)
ORIGINAL_LOADER_METHODS = {name: getattr(Loader, name) for name in LOADER_METHODS}
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
        for name, method in ORIGINAL_LOADER_METHODS.items():
            setattr(Loader, name, _across_loaders(method))
        _shared = True


def _across_loaders(method: Any) -> Any:
    """`method`'s answers shared by every Loader with the same search paths and extras."""
    answers: dict[tuple[Any, ...], Any] = {}

    def shared(self: Loader, *args: Any, **kwargs: Any) -> Any:
        key = (tuple(self.search_paths), tuple(self.extras_types), args, *sorted(kwargs.items()))
        if key not in answers:
            answers[key] = method(self, *args, **kwargs)
        return answers[key]

    return shared


def preload(services: tuple[str, ...], region: str) -> None:
    """Parse the data files of these services' clients now (no credentials: nothing is sent)."""
    import boto3

    share_parsed_files()
    session = boto3.session.Session(region_name=region)
    for service in services:
        session.client(service)  # type: ignore[call-overload]
