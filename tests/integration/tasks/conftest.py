"""A running system whose roster has two Operators, so a task can be moved between them.

SIINAS (steps 02, 18) and OSS (19) are late after 6 s (0.02 of a 300 s hari kerja), so the
Operator's link to record their events by hand comes soon after the wait starts.
"""

import json
from pathlib import Path

import pytest
from izin_local.runtime import LocalRuntime
from izin_local.testing import ROSTER, SharedSystem, System, runtime_name, start_system

SECOND_OPERATOR = {
    "role": "operator",
    "nama": "Dedi Kurniawan, A.Md.",
    "nip": "199511222020121004",
    "jabatan": "Pengelola Data Perindustrian",
    "email": "dedi.kurniawan@disperindag.kalbar.example",
    # A test roster's secret (CONTRACT §4): the tests compute this Operator's codes.
    "totp_secret": "OVJ5FNKQAUBPDDSLKXG4ABVXWRYQIBSG",
}


@pytest.fixture
def second_operator() -> dict[str, str]:
    """The roster's second Operator, who can take over the first one's tasks."""
    return SECOND_OPERATOR


@pytest.fixture(scope="module")
def system(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    shared_system: SharedSystem,
) -> System:
    roster = json.loads(ROSTER.read_text())
    roster["officers"].append(SECOND_OPERATOR)
    path: Path = tmp_path_factory.mktemp("roster") / "roster.json"
    path.write_text(json.dumps(roster))
    late = {"EventLateDays": json.dumps({"2": 0.02, "18": 0.02, "19": 0.02})}

    def start(state: Path) -> LocalRuntime:
        return start_system(state, workday_seconds=300, roster=path, parameter_overrides=late)

    return shared_system(runtime_name(request.module, "tasks"), start, path)
