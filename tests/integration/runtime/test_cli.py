"""`izin status`, `resume` and `repair` against an AWS endpoint that holds no izin table (or
just the one a test puts there)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from izin.aws import client
from izin.store import DynamoStore
from izin.tickets import Kind, ticket_hash
from izin_local.cli import main
from izin_local.template import Template
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def empty_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server that answers but holds nothing, as this test's AWS_ENDPOINT_URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    client.cache_clear()
    yield endpoint
    client.cache_clear()
    server.stop()


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "IP-1"],
        ["resume", "IP-1", "--state-machine-arn", "arn:aws:states:::stateMachine:izin"],
    ],
)
def test_a_named_table_that_is_not_there_is_one_line(
    empty_endpoint: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--table", "NoSuchTable", "--endpoint-url", empty_endpoint]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"izin {argv[0]}: {empty_endpoint} has no table NoSuchTable")
    assert "--table" in err and "izin local serve" in err


def test_no_state_machine_there_is_one_line(
    empty_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["resume", "IP-1", "--table", "T", "--endpoint-url", empty_endpoint]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"izin resume: {empty_endpoint} has no Izin Perluasan state")
    assert "--state-machine-arn" in err and "izin local serve" in err


def test_no_table_named_and_none_there_is_one_line(
    empty_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("dynamodb", endpoint_url=empty_endpoint).create_table(
        TableName="other",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert main(["status", "--endpoint-url", empty_endpoint]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"izin status: {empty_endpoint} has no single table ending in IzinTable")
    assert "(it has other)" in err
    assert "--table" in err and "izin local serve" in err


def test_repair_prints_the_operator_s_link_for_a_parked_application(
    empty_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    props = Template.load(ROOT / "template.yaml").resources["IzinTable"]["Properties"]
    boto3.client("dynamodb", endpoint_url=empty_endpoint).create_table(
        TableName="izin-IzinTable",
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
    )
    store = DynamoStore("izin-IzinTable")
    store.create_application("IP-1", {"id_izin": "IP-1", "status": "TERHENTI", "created_at": "x"})
    store.save_step("IP-1", 10, {"temuan": "x", "decision": "done"})
    argv = ["repair", "IP-1", "--endpoint-url", empty_endpoint, "--base-url", "http://h:3000"]
    assert main([*argv, "--step", "10"]) == 0
    out, _ = capsys.readouterr()
    link = re.search(r"http://h:3000/tasks/([A-Za-z0-9_-]+)", out)
    assert link and "izin resume IP-1" in out
    assert store.ticket(ticket_hash(link.group(1)))["kind"] == Kind.REPAIR  # type: ignore[index]
    assert main([*argv, "--step", "11"]) == 1
    _, err = capsys.readouterr()
    assert err == "izin repair: IP-1 keeps no form data of step 11\n"
