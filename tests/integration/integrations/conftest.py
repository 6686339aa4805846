"""Fixtures for the calls in and out (CONTRACT §1, §2) under the local runtime of the template.

The runtime is the real template with its real queues (maxReceiveCount as deployed); only
the workers' retry delays and HTTP timeout are shortened, through the template's own
parameters, so that a message reaches its DLQ in seconds rather than minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from izin.roster import Role
from izin_local.config import TEMPLATE, runtime_options
from izin_local.officer import Decided, http_get, parse_task_page
from izin_local.runtime import LocalRuntime
from izin_local.testing import ROSTER, SharedSystem, System, runtime_name

# Each retry 1 s later (the shortest visibility SQS takes; the doubling is the unit tests'
# to check), so a message's five receives reach its DLQ in about 5 s; a call that takes
# more than 2 s has failed.
FAST_RETRIES = {"RetryBaseSeconds": "1", "RetryMaxSeconds": "1", "CallTimeoutSeconds": "2"}

StartSystem = Callable[..., AbstractContextManager[LocalRuntime]]


def _runtime(state_dir: Path, **parameters: str) -> LocalRuntime:
    options = runtime_options(120)
    options["parameter_overrides"] |= {"RosterFile": str(ROSTER), **FAST_RETRIES, **parameters}
    options["env"] = {}  # the built-in simulators, whatever this shell has set
    return LocalRuntime(TEMPLATE, state_dir, **options)


@pytest.fixture(scope="module")
def start_system(tmp_path_factory: pytest.TempPathFactory) -> StartSystem:
    """Starts a runtime with fast retries and these template parameters (a context manager)."""
    return lambda **parameters: _runtime(tmp_path_factory.mktemp("state"), **parameters)


@pytest.fixture(scope="module")
def system(request: pytest.FixtureRequest, shared_system: SharedSystem) -> System:
    """The whole system with fast retries, SIINAS and OSS simulated: one runtime for this
    folder's consecutive modules on a worker (each keeps to its own application ids, and
    puts back the simulators it made misbehave after each test)."""
    return shared_system(runtime_name(request.module, "integrations"), _runtime)


def is_manual_upload_email(subject: str, text: str | None, id_izin: str) -> bool:
    """Whether an email is the Operator's manual SIINAS upload task for this application."""
    return (
        "Tugas manual" in subject
        and "Unggah BAP" in subject
        and f"ID Izin    : {id_izin}\n" in (text or "")
    )


@pytest.fixture(scope="module")
def operator_uploads_by_hand() -> Callable[[System, str], Decided]:
    """The Operator's part of step 17 by hand: open the task email, fill the form, press done."""

    def act(system: System, id_izin: str) -> Decided:
        endpoints = system.endpoints
        operator = endpoints.roster.first(Role.OPERATOR)
        message = endpoints.outbox.wait_for(
            lambda m: is_manual_upload_email(m.subject, m.text, id_izin), timeout=90
        )
        assert message.to == (operator.email,)
        link = next(link for link in message.links if "/tasks/" in link)
        status, html = http_get(link)
        form = parse_task_page(html)
        assert status == 200 and form is not None, (status, html[:500])
        assert form.step == 17 and "done" in form.buttons, form
        values = dict(form.fields)
        values |= {
            "nomor_tanda_terima": [f"SIINAS-{id_izin}-001"],
            "tanggal_unggah": ["2026-11-27"],
            "bukti": ["Tangkapan layar halaman unggah SIINAS, tanda terima terlampir"],
            "nip": [operator.nip],
            "decision": ["done"],
        }
        status, page = system.post_form(link, values)
        return Decided(17, "done", status, operator.email, page)

    return act
