"""Every function's door: its input event (tests/events/<function>.json) becomes its model,
and the handlers run on the in-memory store with fakes for mail and Step Functions.

The events have the shapes the state machine (statemachine/, generated from izin.sop), the
HTTP API (payload 2.0) and the SQS event sources hand the functions.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from izin import settings as settings_module
from izin import wiring
from izin.documents import DocumentRequest
from izin.events import InboundEvent
from izin.mail import MemoryMailer
from izin.mail_events import MailEvent
from izin.memory_store import MemoryStore
from izin.models import (
    ApplicationRequest,
    AwaitRequest,
    ContinueRequest,
    DeadlineRequest,
    DigestRequest,
    HttpRequest,
    MilestoneMessage,
    ParkRequest,
    ProgressRequest,
    ReconcileRequest,
    StepRequest,
    UploadMessage,
)
from izin.roster import load_roster
from izin.store import RosterAt
from izin_local import samples
from izin_local.testing import ROSTER as ROSTER_FILE
from pydantic import BaseModel

from tests.unit.conftest import HANDLER_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
ID = "IP-EVT-0001"

# Each function's input model; an SQS-fed function's model is that of each record's body.
MODELS: dict[str, type[BaseModel]] = {
    "await_event": AwaitRequest,
    "continue_execution": ContinueRequest,
    "deadline": DeadlineRequest,
    "digest": DigestRequest,
    "document": DocumentRequest,
    "inbound": InboundEvent,
    "mail_events": MailEvent,
    "oss_worker": MilestoneMessage,
    "park": ParkRequest,
    "pia": HttpRequest,
    "progress": ProgressRequest,
    "reconcile": ReconcileRequest,
    "request_task": StepRequest,
    "siinas_fallback": UploadMessage,
    "siinas_worker": UploadMessage,
    "task_page": HttpRequest,
    "tembusan": ApplicationRequest,
    "verify": HttpRequest,
    "webhook": HttpRequest,
    "workspace": HttpRequest,
}


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def handler_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"handler_{name}", ROOT / "functions" / name / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_function_has_an_input_model_and_an_event() -> None:
    functions = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
    assert sorted(MODELS) == functions
    assert sorted(p.stem for p in EVENTS.glob("*.json")) == functions


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_event_is_its_function_s_model(name: str) -> None:
    model, raw = MODELS[name], event(name)
    if "Records" in raw:
        for record in raw["Records"]:  # an SQS record's body, an SNS record's message
            model.model_validate_json(
                record["body"] if "body" in record else record["Sns"]["Message"]
            )
    else:
        model.model_validate(raw)


@pytest.mark.parametrize(
    "name", ["await_event", "continue_execution", "deadline", "park", "progress", "tembusan"]
)
def test_a_renamed_key_fails_at_the_door(name: str) -> None:
    raw = event(name)
    raw["idIzin"] = raw.pop("id_izin")
    with pytest.raises(ValueError, match="id_izin"):
        MODELS[name].model_validate(raw)


# -- the handlers, on fakes ----------------------------------------------------------------


@dataclass
class Context:
    function_name: str = "izin-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:ap-southeast-3:123456789012:function:izin-test"
    aws_request_id: str = "req-1"


class FakeCallbacks:
    def __init__(self) -> None:
        self.outputs: list[tuple[str, dict[str, Any]]] = []

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        self.outputs.append((token, output))


@dataclass
class Fakes:
    store: MemoryStore
    mailer: MemoryMailer
    callbacks: FakeCallbacks


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fakes]:
    for name, value in HANDLER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    settings_module.settings.cache_clear()
    store, mailer, callbacks = MemoryStore(), MemoryMailer(), FakeCallbacks()
    permohonan = samples.permohonan(ID)
    store.create_application(
        ID,
        {
            "id_izin": ID,
            "data": permohonan,
            "status": "PROSES",
            "current_step": 5,
            "created_at": NOW.isoformat(),
        },
    )
    roster = load_roster(ROSTER_FILE)
    monkeypatch.setattr(wiring, "store", lambda: store)
    monkeypatch.setattr(wiring, "mailer", lambda: mailer)
    monkeypatch.setattr(wiring, "callbacks", lambda: callbacks)
    monkeypatch.setattr(wiring, "roster", lambda table=None: roster)
    kept = wiring.KeptRoster(roster, RosterAt(None), roster)  # the table holds no roster
    monkeypatch.setattr(wiring, "kept_roster", lambda fresh=False: kept)
    monkeypatch.setattr(wiring, "now", lambda: NOW)
    monkeypatch.setattr(wiring, "secret", lambda arn: "oss-secret")
    yield Fakes(store, mailer, callbacks)
    settings_module.settings.cache_clear()  # the next test's environment is read afresh


def invoke(name: str) -> dict[str, Any]:
    answer: dict[str, Any] = handler_module(name).lambda_handler(event(name), Context())
    return answer


def test_deadline_plans_the_step_s_sla(fakes: Fakes) -> None:
    answer = invoke("deadline")
    assert answer["step"] == 5 and answer["reminders"] == 0 and answer["timeout_seconds"] > 0


def test_deadline_gives_a_wait_on_oss_what_is_left_of_the_execution_s_year(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IZIN_EXECUTION_BUDGET_SECONDS", "3600")
    started = NOW - timedelta(seconds=600)
    wait = {"id_izin": ID, "step": 2, "execution_started": started.isoformat()}
    answer = handler_module("deadline").lambda_handler(wait, Context())
    assert answer == {"step": 2, "timeout_seconds": 3000, "late": 0, "lanjut_baru": False}
    late = {**wait, "execution_started": (NOW - timedelta(hours=2)).isoformat()}
    assert handler_module("deadline").lambda_handler(late, Context())["timeout_seconds"] == 1


def test_deadline_counts_a_late_wait_on_siinas_once_per_lateness(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from izin import observability

    counts: list[str] = []
    monkeypatch.setattr(observability, "count", lambda name, **_: counts.append(name))
    wait = {"id_izin": ID, "step": 2, "execution_started": NOW.isoformat()}
    deadline = handler_module("deadline").lambda_handler
    first = deadline({**wait, "previous": {"step": 0, "late": 0}}, Context())
    assert first["late"] == 0 and counts == []
    again = deadline(
        {**wait, "previous": {**first, "habis": {"Error": "States.Timeout"}}}, Context()
    )
    assert again["late"] == 1 and counts == ["LongWaits", "LongWaits"]  # by step, and all
    [late] = [e for e in fakes.store.audit(ID) if e["action"] == "event.late"]
    assert late["step"] == 2 and "SIINAS belum mengirim verifikasi.diajukan" in late["note"]


@pytest.mark.parametrize(
    ("now", "counted"),
    [
        (datetime(2026, 3, 2, 2, 0, tzinfo=UTC), []),  # 2026: decreed (SKB 1497/2/5 of 2025)
        (datetime(2026, 10, 5, 2, 0, tzinfo=UTC), ["CalendarUnconfirmed"]),  # 2027 estimated
    ],
)
def test_deadline_counts_a_calendar_not_yet_decreed(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch, now: datetime, counted: list[str]
) -> None:
    from izin import observability

    counts: list[str] = []
    monkeypatch.setattr(wiring, "now", lambda: now)
    monkeypatch.setattr(observability, "count", lambda name, **_: counts.append(name))
    invoke("deadline")
    assert counts == counted


def test_deadline_says_once_per_container_that_a_year_is_not_decreed(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from izin import observability

    counts: list[str] = []
    warnings: list[str] = []
    monkeypatch.setattr(wiring, "now", lambda: datetime(2026, 10, 5, 2, 0, tzinfo=UTC))
    monkeypatch.setattr(observability, "count", lambda name, **_: counts.append(name))
    monkeypatch.setattr(observability.logger, "warning", lambda msg, **_: warnings.append(msg))
    deadline = handler_module("deadline").lambda_handler
    for _ in range(3):
        deadline(event("deadline"), Context())
    assert counts == ["CalendarUnconfirmed"] * 3  # the alarm's metric: every deadline
    assert warnings == ["deadline over days off not yet decreed"]  # the log: once


def test_request_task_emails_the_officer_a_link(fakes: Fakes) -> None:
    assert len(invoke("request_task")["ticket"]) == 12
    (email,) = fakes.mailer.sent
    assert "https://izin.example/tasks/" in email.text


def test_await_event_waits_and_offers_the_record_by_hand_once_late(fakes: Fakes) -> None:
    assert invoke("await_event") == {"delivered": False}
    assert fakes.store.wait(ID, "siinas:komitmen.terpenuhi") is not None
    assert fakes.mailer.sent == []  # on time: nobody is bothered
    module, late = handler_module("await_event"), {**event("await_event"), "late": 1}
    assert module.lambda_handler(late, Context()) == {"delivered": False}
    assert len(fakes.mailer.sent) == 1 and fakes.callbacks.outputs == []
    assert "Tugas manual" in fakes.mailer.sent[0].subject
    # Late again (or continued in a new execution): the link it has still works, no new one.
    assert module.lambda_handler({**late, "late": 2}, Context()) == {"delivered": False}
    assert len(fakes.mailer.sent) == 1
    assert fakes.store.wait(ID, "siinas:komitmen.terpenuhi")["manual_ticket"]  # type: ignore[index]


def test_progress_records_the_outcome(fakes: Fakes) -> None:
    assert invoke("progress") == {"step": 20, "outcome": "BERLAKU_EFEKTIF"}


def test_a_bounce_is_recorded_against_its_application(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from izin import observability

    counts: list[str] = []
    monkeypatch.setattr(observability, "count", lambda name, **_: counts.append(name))
    assert invoke("mail_events") == {"outcomes": ["email.bounced"]}
    [entry] = [e for e in fakes.store.audit(ID) if e["action"] == "email.bounced"]
    assert entry["to"] == ["kasi.lama@disperindag.kalbar.example"]
    assert "550 5.1.1 user unknown" in entry["note"] and "Permanent" in entry["note"]
    assert entry["subject"] == "[Izin Perluasan] Tugas langkah 07"
    assert counts == ["MailBounced"]


def test_a_bounce_of_an_email_about_no_application_is_only_logged(fakes: Fakes) -> None:
    raw = event("mail_events")
    sns = raw["Records"][0]["Sns"]
    sns["Message"] = sns["Message"].replace(ID, "IP-TIDAK-ADA")
    answer = handler_module("mail_events").lambda_handler(raw, Context())
    assert answer == {"outcomes": ["untagged"]}


def test_park_stops_the_application_and_tells_the_operator(fakes: Fakes) -> None:
    assert invoke("park") == {"status": "TERHENTI", "error": "DocumentDataMissing"}
    assert len(fakes.mailer.sent) == 1


def test_the_task_page_of_an_unknown_ticket_is_404(fakes: Fakes) -> None:
    assert invoke("task_page")["statusCode"] == 404


def test_the_verify_page_of_an_unknown_document_is_404(fakes: Fakes) -> None:
    assert invoke("verify")["statusCode"] == 404


def test_a_receive_nib_with_a_wrong_token_is_401_in_pias_shape(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from izin.settings import pia_settings

    for name, value in {
        "PIA_CREDENTIALS_SECRET_ARN": "arn:pia",
        "INBOUND_QUEUE_URL": "https://sqs.example/inbound",
        "PIA_KD_IZIN": "061000000000001",
        "PIA_KEWENANGAN": "01",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(wiring, "secret", lambda arn: '{"username": "u", "password": "p"}')
    pia_settings.cache_clear()
    try:
        answer = invoke("pia")
    finally:
        pia_settings.cache_clear()
    assert answer["statusCode"] == 401
    assert json.loads(answer["body"])["responreceiveNIB"]["status"] == "2"


def test_reconcile_asks_nothing_of_an_oss_that_is_not_configured(fakes: Fakes) -> None:
    assert invoke("reconcile") == {"checked": []}


def test_a_webhook_with_a_bad_signature_is_401(fakes: Fakes) -> None:
    answer = invoke("webhook")
    assert answer["statusCode"] == 401 and json.loads(answer["body"])["error"]
