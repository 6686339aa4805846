"""What several unit suites share: the task page's door, on the in-memory store."""

from __future__ import annotations

import base64
import dataclasses
import importlib
import importlib.util
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from izin import sessions, sop, wiring
from izin import settings as settings_module
from izin.auth import Auth
from izin.memory_store import MemoryStore
from izin.roster import Officer, Roster, load_roster
from izin.store import RosterAt
from izin.tickets import Kind, open_ticket, ticket_hash
from izin_local import samples
from izin_local.testing import ROSTER as ROSTER_FILE
from izin_local.testing import local_auth
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
DOOR_ID = "IP-DOOR-0001"
DOOR_NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

Handler = Callable[[dict[str, Any]], dict[str, Any]]

# What every function's environment holds (template.yaml's Globals), and stand-ins for what
# some handlers need besides (their @needs_settings), for handlers run on fakes.
COMMON_ENVIRONMENT = {
    "TABLE_NAME": "izin-test",
    "BUCKET_NAME": "izin-test-documents",
    "PUBLIC_BASE_URL": "https://izin.example",
    "MAIL_FROM": "izin@example.go.id",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
HANDLER_ENVIRONMENT = {
    **COMMON_ENVIRONMENT,
    "STATE_MACHINE_ARN": "arn:aws:states:ap-southeast-3:123456789012:stateMachine:izin-test",
    "INBOUND_QUEUE_URL": "https://sqs.example/inbound",
    "OSS_WEBHOOK_SECRET_ARN": "arn:oss-webhook",
    "SIINAS_WEBHOOK_SECRET_ARN": "arn:siinas-webhook",
    "OSS_USER_KEY_SECRET_ARN": "arn:oss-user-key",
    "KD_INSTANSI": "6100",
    "IZIN_TOTP_KEY_ID": "totp-key",
    "IZIN_SESSION_KEY_SECRET_ARN": "arn:session-key",
}


@dataclass
class LambdaContext:
    function_name: str = "izin-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:ap-southeast-3:123456789012:function:izin-test"
    aws_request_id: str = "req-1"


@dataclass
class Recorder:
    """The mailer and the waiting states, as fakes that keep what they were given."""

    sent: list[Any] = field(default_factory=list)
    outputs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def send(self, email: Any) -> None:
        self.sent.append(email)

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        self.outputs.append((token, output))


@dataclass
class TaskDoor:
    """functions/task_page's handler over an application in the in-memory store."""

    store: MemoryStore
    recorder: Recorder
    handler: Handler
    roster: Roster
    auth: Auth
    cookies: list[str] = field(default_factory=list)

    def ticket(self, step: int) -> tuple[str, Officer]:
        """A new open ticket of an SOP step, and the officer it is assigned to."""
        officer = self.roster.first(sop.step(step).actor)
        ticket, _ = open_ticket(
            self.store,
            {
                "id_izin": DOOR_ID,
                "kind": Kind.STEP,
                "step": step,
                "assignee": officer.model_dump(mode="json"),
                "task_token": f"token-{step}",
            },
        )
        return ticket, officer

    def proof(self, ticket: str, officer: Officer) -> dict[str, str]:
        """Sign the officer in (the door sends the session's cookie from now on) and give
        the page's CSRF token: what a browser's POST of the task's form carries."""
        _, cookie = sessions.start_session(self.auth, officer)
        self.cookies = [cookie.split(";", 1)[0]]
        item = self.store.ticket(ticket_hash(ticket)) or {}
        return {"csrf": str(item.get("csrf", ""))}

    def post(
        self, ticket: str, body: str | bytes, *, base64_body: bool = False, **headers: str
    ) -> dict[str, Any]:
        """POST a body to a task link (bytes are sent base64-encoded, as forms are)."""
        if isinstance(body, bytes):
            body, base64_body = base64.b64encode(body).decode(), True
        return self.call("POST", ticket, body, base64_body, headers)

    def get(self, ticket: str) -> dict[str, Any]:
        """GET a task link."""
        return self.call("GET", ticket, "", False, {})

    def call(
        self, method: str, ticket: str, body: str, is_base64: bool, headers: dict[str, str]
    ) -> dict[str, Any]:
        http = {"method": method, "path": f"/tasks/{ticket}", "sourceIp": "127.0.0.1"}
        event = {
            "requestContext": {"http": {**http, "userAgent": "pytest"}},
            "pathParameters": {"ticket": ticket},
            "headers": {"content-type": "application/x-www-form-urlencoded", **headers},
            "body": body,
            "isBase64Encoded": is_base64,
            "cookies": self.cookies,
        }
        return self.handler(event)


# What fpdf2 laid out, by document, context and clock: the same inputs give the same bytes
# (render_pdf is deterministic), so suites that seal the same documents over and over lay
# each one out once per run, not once per test (about a second of a core each).
_RENDERED: dict[str, bytes] = {}


def _plain(value: Any) -> Any:
    """A context's value by its content (never by identity, which a later value may reuse)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, date | Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


@pytest.fixture
def rendered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each distinct PDF rendered once for the session (izin.documents.versions)."""
    # The module, not the package's `versions` (a function of the same name shadows it).
    versions = importlib.import_module("izin.documents.versions")
    render = versions.render_pdf

    def once(jenis: Any, context: Any, *, now: datetime) -> bytes:
        try:
            key = json.dumps([str(jenis), context, now], sort_keys=True, default=_plain)
        except TypeError:  # a value not known by its content: no key, no reuse
            return render(jenis, context, now=now)
        if key not in _RENDERED:
            _RENDERED[key] = render(jenis, context, now=now)
        return _RENDERED[key]

    monkeypatch.setattr(versions, "render_pdf", once)


@pytest.fixture(autouse=True)
def _sessions_as_new() -> Iterator[None]:
    """What izin.sessions keeps per container (generations read, sessions found not live)
    starts empty for each test, as in a new container."""
    yield
    sessions._GENERATIONS.clear()
    sessions._NOT_LIVE.clear()


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Handler]]:
    """A function's handler by name (functions/<name>/app.py), in a test's environment."""
    for name, value in HANDLER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    settings_module.settings.cache_clear()

    def load(name: str) -> Handler:
        spec = importlib.util.spec_from_file_location(
            f"handler_{name}_unit", ROOT / "functions" / name / "app.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return lambda event: dict(module.lambda_handler(event, LambdaContext()))

    yield load
    settings_module.settings.cache_clear()  # the next test's environment is read afresh


@pytest.fixture
def task_door(monkeypatch: pytest.MonkeyPatch, handler: Callable[[str], Handler]) -> TaskDoor:
    """The task page's handler, with the table, the mail and Step Functions faked."""
    store, recorder, roster = MemoryStore(), Recorder(), load_roster(ROSTER_FILE)
    store.create_application(
        DOOR_ID,
        {
            "id_izin": DOOR_ID,
            "data": samples.permohonan(DOOR_ID),
            "status": "PROSES",
            "created_at": DOOR_NOW.isoformat(),
        },
    )
    monkeypatch.setattr(wiring, "store", lambda: store)
    monkeypatch.setattr(wiring, "mailer", lambda: recorder)
    monkeypatch.setattr(wiring, "callbacks", lambda: recorder)
    monkeypatch.setattr(wiring, "roster", lambda table=None: roster)
    monkeypatch.setattr(wiring, "now", lambda: DOOR_NOW)
    kept = wiring.KeptRoster(roster, RosterAt(None), roster)  # the table holds no roster
    monkeypatch.setattr(wiring, "kept_roster", lambda fresh=False: kept)
    auth = local_auth(store, roster, DOOR_NOW)
    # Through the handler's own view of the table, when it passes one (as wiring.auth does),
    # presuming sessions when the roster is presumed.
    monkeypatch.setattr(
        wiring,
        "auth",
        lambda now, table=None, presumed=None: dataclasses.replace(
            auth,
            store=table or store,
            roster=wiring.presume_roster(table, presumed) if presumed else roster,
            presumes=presumed is not None,
        ),
    )
    return TaskDoor(store, recorder, handler("task_page"), roster, auth)
