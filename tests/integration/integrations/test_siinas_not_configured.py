"""Step 17 where SIINAS_BASE_URL is empty (SIINAS publishes no API): the Operator uploads by hand.

The SIINAS worker opens the Operator's manual upload task at once, without calling anyone;
the Operator's decision on the task page completes step 17 and the application goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from izin.roster import Role
from izin_local.officer import Decided
from izin_local.scenario import Scenario, drive
from izin_local.testing import System, endpoints_of


@pytest.fixture(scope="module")
def system_without_siinas(start_system: Callable[..., Any]) -> Iterator[System]:
    """The whole system deployed with SiinasBaseUrl empty."""
    with start_system(SiinasBaseUrl="") as runtime:
        yield System(runtime, endpoints_of(runtime))


def test_without_siinas_the_operator_uploads_by_hand_and_the_application_completes(
    system_without_siinas: System,
    operator_uploads_by_hand: Callable[[System, str], Decided],
) -> None:
    system, id_izin = system_without_siinas, "IP-TANPA-SIINAS"
    outcome: list[dict[str, Any]] = []
    driver = threading.Thread(
        target=lambda: outcome.append(
            drive(system.endpoints, id_izin, Scenario(field_inspection=False), timeout=90)
        ),
        daemon=True,
    )
    driver.start()

    decided = operator_uploads_by_hand(system, id_izin)
    driver.join(timeout=120)

    assert decided.status == 200, decided.page[:500]
    assert outcome and outcome[0]["status"] == "SELESAI"
    assert system.finished(id_izin)["status"] == "SUCCEEDED"
    assert system.runtime.siinas is not None and system.runtime.siinas.requests == []
    trail = system.endpoints.store.audit(id_izin)
    assert "siinas.call_failed" not in [e["action"] for e in trail]
    [manual] = [e for e in trail if e["action"] == "bap.upload_manual"]
    assert "tidak dikonfigurasi" in manual["reason"]
    # The only upload is the Operator's own, with the receipt typed on the task page.
    [uploaded] = [e for e in trail if e["action"] == "bap.uploaded"]
    assert uploaded["nip"] == system.endpoints.roster.first(Role.OPERATOR).nip
    assert f"SIINAS-{id_izin}-001" in uploaded["note"]
