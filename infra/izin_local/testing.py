"""Test support: the whole system of template.yaml running locally, and what tests read of it.

Used by the integration tests (as pytest fixtures) and by anyone scripting the local
runtime: start it, drive applications, read executions' histories and the table.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
from izin.auth import Auth, seed_from_roster
from izin.memory_store import MemoryStore
from izin.models import execution_name
from izin.roster import Roster, load_roster
from izin.sop import step
from izin.store import DynamoStore, Item, Store, Write
from izin.workflow import budget_name, year_spent_name

from izin_local.config import BSRE_SWITCH, TEMPLATE, runtime_options, webhook_secrets
from izin_local.officer import SignedInBrowsers, wait_until
from izin_local.runtime import LocalRuntime
from izin_local.scenario import Endpoints

ROSTER = Path(__file__).resolve().parents[2] / "layers/izin/izin/data/roster.json"


@contextlib.contextmanager
def moto_table(name: str) -> Iterator[DynamoStore]:
    """The template's table, empty, in moto in this process: a unit test's DynamoDB.

    Everything else AWS the test calls inside the block is moto's too (mock_aws); izin.aws's
    cached clients are made afresh on both sides of it.
    """
    from izin.aws import client
    from moto import mock_aws

    from izin_local.template import Template

    props = Template.load(TEMPLATE).resources["IzinTable"]["Properties"]
    with mock_aws():
        client.cache_clear()
        client("dynamodb").create_table(
            TableName=name,
            BillingMode=props["BillingMode"],
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
        )
        try:
            yield DynamoStore(name)
        finally:
            client.cache_clear()


class FirstWriteFails(MemoryStore):
    """A table whose first write of an item `hits` picks (by sort key) fails, as a throttled
    or killed invocation's would: with whatever else that write carries."""

    def __init__(self, hits: Callable[[str], bool]) -> None:
        super().__init__()
        self._hits = hits
        self.failed = False

    def put(self, pk: str, sk: str, fields: Item, *, if_absent: bool = False) -> bool:
        self._fail_once([sk])
        return super().put(pk, sk, fields, if_absent=if_absent)

    def write_all(self, writes: Sequence[Write]) -> None:
        self._fail_once([w.sk for w in writes])
        super().write_all(writes)

    def _fail_once(self, sort_keys: list[str]) -> None:
        if not self.failed and any(self._hits(sk) for sk in sort_keys):
            self.failed = True
            raise RuntimeError("ProvisionedThroughputExceededException")


class FakeCipher:
    """KMS as a unit test needs it: the context is bound (a wrong one fails), nothing else."""

    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        return json.dumps({"context": dict(context), "plain": plaintext.hex()}).encode()

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> bytes:
        sealed = json.loads(ciphertext)
        if sealed["context"] != dict(context):
            raise ValueError("InvalidCiphertextException: the encryption context differs")
        return bytes.fromhex(sealed["plain"])


def local_auth(store: Store, roster: Roster, now: datetime, *, seed: bool = True) -> Auth:
    """What the task and sign-in pages check codes and sessions with, on a test's store:
    the roster's `totp_secret`s enrolled (as the local runtime does), a fixed session key."""
    cipher = FakeCipher()
    if seed:
        seed_from_roster(store, cipher, roster, now)
    return Auth(
        store=store,
        roster=roster,
        cipher=cipher,
        now=now,
        session_key=lambda: b"unit-test-session-key",
        public_base_url="https://izin.example",
    )


@dataclass
class System:
    """A running system and what the tests read of it."""

    runtime: LocalRuntime
    endpoints: Endpoints
    _browsers: SignedInBrowsers | None = None

    @property
    def browsers(self) -> SignedInBrowsers:
        """Each officer's browser, signed in once (their decisions ride on the session)."""
        if self._browsers is None:
            self._browsers = SignedInBrowsers(self.runtime.http_url, self.endpoints.roster)
        return self._browsers

    def post_form(self, url: str, fields: Mapping[str, Sequence[str]]) -> tuple[int, str]:
        """POST a task's form from the browser of the officer whose NIP it carries."""
        return self.browsers.post(url, fields)

    def execution_arn(self, id_izin: str) -> str:
        """The ARN of the application's execution."""
        machine = self.runtime.state_machine_arns["IzinStateMachine"]
        return machine.replace(":stateMachine:", ":execution:") + ":" + execution_name(id_izin)

    def execution(self, id_izin: str) -> dict[str, Any]:
        """DescribeExecution of the application's execution."""
        sfn = boto3.client("stepfunctions")
        answer = sfn.describe_execution(executionArn=self.execution_arn(id_izin))
        return dict(answer)

    def finished(self, id_izin: str, timeout: float = 60) -> dict[str, Any]:
        """The execution once it has stopped running."""
        return wait_until(
            lambda: e if (e := self.execution(id_izin))["status"] != "RUNNING" else None,
            timeout=timeout,
            what=f"execution of {id_izin} finished",
        )

    def history(self, id_izin: str) -> list[dict[str, Any]]:
        """Every event of the execution's history."""
        sfn = boto3.client("stepfunctions")
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": self.execution_arn(id_izin), "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events += [dict(e) for e in page["events"]]
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def states(self, id_izin: str) -> list[str]:
        """The names of the states the execution entered, in order."""
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(id_izin)
            if "stateEnteredEventDetails" in e
        ]

    def oss_statuses(self, id_izin: str) -> list[Any]:
        """The receiveLicenseStatus calls OSS received for this application, in order."""
        assert self.runtime.oss is not None
        return [
            r
            for r in self.runtime.oss.requests
            if r.path == "/receiveLicenseStatus"
            and (r.json or {}).get("IZINSTATUS", {}).get("id_izin") == id_izin
        ]

    def final_output(self, id_izin: str) -> dict[str, Any]:
        """The execution's output."""
        output: dict[str, Any] = json.loads(self.execution(id_izin).get("output") or "{}")
        return output


# `shared_system(name, start, roster=ROSTER)` (the tests' session fixture): the System that
# `start(state_dir)` started under `name` on this test worker, shared by the modules asking.
SharedSystem = Callable[..., System]


def runtime_name(module: ModuleType, default: str) -> str:
    """The shared runtime a test module asks for: its `OWN_RUNTIME` when it changes what
    others rely on (an officer's secret, a Plh in force), else its folder's `default`."""
    return str(getattr(module, "OWN_RUNTIME", default))


def start_system(
    state_dir: Path,
    *,
    workday_seconds: float,
    roster: Path = ROSTER,
    parameter_overrides: dict[str, str] | None = None,
    bsre: bool = False,
) -> LocalRuntime:
    """A runtime of the real template, with the built-in simulators, the roster, a clock;
    with `bsre`, the Kepala Dinas signs step 14 through the BSrE simulator."""
    options = runtime_options(workday_seconds)
    options["parameter_overrides"] |= {"RosterFile": str(roster), **(parameter_overrides or {})}
    # The built-in simulators, whatever this shell has set; the functions log warnings only.
    options["env"] = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
    if bsre:
        options["env"][BSRE_SWITCH] = "simulator"
    return LocalRuntime(TEMPLATE, state_dir, **options)


def endpoints_of(
    runtime: LocalRuntime,
    roster: Path = ROSTER,
    secrets: Mapping[str, str] | None = None,
) -> Endpoints:
    """What a scenario needs of a running runtime (secrets: the local ones by default)."""
    return Endpoints(
        http_url=runtime.http_url,
        outbox=runtime.outbox,
        store=DynamoStore(runtime.table_names["IzinTable"]),
        roster=load_roster(roster),
        secrets=dict(secrets) if secrets is not None else webhook_secrets(),
    )


def human(n: int) -> list[str]:
    """The states of an officer's step: its deadline, then the wait for the decision."""
    return [f"{n:02d} Tenggat", step(n).state_name]


def awaits(n: int) -> list[str]:
    """The states of a wait on OSS or SIINAS: its budget, the year's check, the wait."""
    waiting = step(n)
    return [budget_name(waiting), year_spent_name(waiting), waiting.state_name]


def doc(code: str, title: str) -> list[str]:
    """The state that renders one document."""
    return [f"{code} Dokumen - {title}"]


def wait_for_status(store: Store, id_izin: str, status: str, timeout: float = 60) -> dict[str, Any]:
    """The application's record once its status is `status`."""
    return wait_until(
        lambda: a if (a := store.application(id_izin) or {}).get("status") == status else None,
        timeout=timeout,
        what=f"{id_izin} {status}",
    )
