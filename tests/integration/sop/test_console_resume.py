"""The console under the local runtime (issue #15): the Kepala Bidang signs in, finds a
parked application among the incidents on /konsol, and resumes it with the page's button;
the new execution starts at the state that failed, as `izin resume` would."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from izin.roster import Role, load_roster
from izin_local.officer import Officer, SignedInBrowsers, http_request, wait_until
from izin_local.scenario import submit
from izin_local.testing import ROSTER, System, endpoints_of, start_system, wait_for_status

FAILED_AT = "05 Dokumen - Surat Pengantar Kepala Bidang"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, roster_file: Path) -> Iterator[System]:
    state = tmp_path_factory.mktemp("konsol")
    with start_system(state, workday_seconds=120, roster=roster_file) as rt:
        yield System(rt, endpoints_of(rt, roster_file))


def test_a_parked_application_is_resumed_from_the_console(
    system: System, roster_file: Path
) -> None:
    endpoints, id_izin = system.endpoints, "IP-KONSOL-001"
    submit(endpoints, id_izin)
    assert Officer(endpoints.outbox, id_izin, endpoints.roster).act(4, "done").status == 200
    wait_for_status(endpoints.store, id_izin, "TERHENTI")
    # Where it parked is kept on the record (the history goes 90 days after the execution).
    parked_in = (endpoints.store.application(id_izin) or {}).get("parked_in")
    assert parked_in == {"execution": id_izin, "state": FAILED_AT}

    url = system.runtime.http_url.rstrip("/")
    kabid = load_roster(ROSTER).first(Role.KEPALA_BIDANG)
    cookie = SignedInBrowsers(url, endpoints.roster).cookie(kabid.nip)
    page = http_request(f"{url}/konsol?status=TERHENTI", cookies=[cookie])
    assert page.status == 200 and "SignatoryMissing" in page.text
    assert re.findall(r'<li class="row" data-id="([^"]+)"', page.text) == [id_izin]
    token = re.search(
        rf'name="id_izin" value="{id_izin}">\s*<input type="hidden" name="csrf" value="([^"]+)"',
        page.text,
    )
    assert token is not None
    fields = {"id_izin": [id_izin], "csrf": [html.unescape(token.group(1))]}
    assert (
        http_request(f"{url}/konsol", {**fields, "csrf": ["palsu"]}, cookies=[cookie]).status == 403
    )

    roster_file.write_text(ROSTER.read_text())  # the data fix: the Kepala Dinas is back
    system.runtime.seed_officer_secrets()
    answer = http_request(f"{url}/konsol", fields, cookies=[cookie])
    assert answer.status == 303
    resumed = [e for e in endpoints.store.audit(id_izin) if e["action"] == "application.resumed"]
    assert len(resumed) == 1 and kabid.nip in resumed[0]["actor"]
    assert resumed[0]["note"] == f"dilanjutkan dari {FAILED_AT}"

    sfn = boto3.client("stepfunctions")
    arn = system.execution_arn(id_izin) + "-lanjut-1"

    def first_states() -> list[str] | None:
        events = sfn.get_execution_history(executionArn=arn)["events"]
        names = [
            e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
        ]
        return names[:2] if len(names) >= 2 else None

    entered = wait_until(first_states, timeout=60, what="the resumed execution's first states")
    assert entered == ["Mulai", FAILED_AT]
    # A second press finds it resumed already: refused, nothing started again.
    again = http_request(f"{url}/konsol", fields, cookies=[cookie])
    assert again.status == 409 and "tidak dapat dilanjutkan" in again.text
