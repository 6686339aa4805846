"""Fixtures for whole executions of the SOP under the local runtime of the real template."""

from collections.abc import Iterator

import pytest
from izin_local.testing import System, endpoints_of, start_system


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The whole system, with SLAs long enough that no test's officer is ever late."""
    with start_system(tmp_path_factory.mktemp("state"), workday_seconds=120) as runtime:
        yield System(runtime, endpoints_of(runtime))
