"""`izin` answers a runtime that is not there, or a bad argument, with one line and exit != 0.

A refused connection is a port that was just free: nothing listens, nothing is reached.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest
from izin.aws import client
from izin_local.cli import main
from moto import mock_aws


@pytest.fixture
def closed() -> Iterator[str]:
    """An endpoint URL on which nothing listens, as AWS_ENDPOINT_URL for this test only."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client.cache_clear()
    yield f"http://127.0.0.1:{port}"
    client.cache_clear()  # no client of this endpoint outlives the test


@pytest.fixture
def endpoint(closed: str, monkeypatch: pytest.MonkeyPatch) -> str:
    # `izin status` sets AWS_ENDPOINT_URL for the process when unset: set it, to be undone.
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed)
    return closed


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["status", "IP-1", "--json", "--table", "IzinTable"],
        ["resume", "IP-1", "--table", "IzinTable"],
    ],
)
def test_an_aws_endpoint_that_refuses_is_one_line_naming_it_and_how_to_start_it(
    endpoint: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--endpoint-url", endpoint]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"izin {argv[0]}: nothing answers at the AWS endpoint {endpoint}")
    assert "izin local serve" in err and "make serve" in err and "--endpoint-url" in err


@pytest.mark.parametrize(
    "argv", [["simulate", "permohonan", "IP-1"], ["fault", "siinas", "--down"]]
)
def test_an_http_api_that_refuses_is_one_line_naming_it(
    closed: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--url", closed]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"izin {argv[0]}: nothing answers at {closed}")
    assert "izin local serve" in err and "--url" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["nothing"],
        ["status", "--bogus"],
        ["status", "--endpoint-url", "not-a-url"],
        ["status", "--endpoint-url", "http://127.0.0.1:99999"],
        ["calendar", "twenty"],
        ["calendar", "-5"],
        ["simulate", "permohonan", "IP-1", "--data", "{"],
        ["simulate", "permohonan", "IP-1", "--data", "[1]"],
        ["simulate", "nothing", "IP-1"],
        ["fault", "oss", "--fail-next", "-1"],
        ["fault", "oss", "--slow-next", "1", "--seconds", "nan"],
        ["local", "serve", "--port", "70000"],
        ["bench", "--applications", "0"],
        ["demo", "--workday-seconds", "-1"],
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("izin")
    assert "--help" in err


def test_the_command_itself_prints_no_traceback(closed: str) -> None:
    answer = subprocess.run(
        [sys.executable, "-m", "izin_local.cli", "status", "--endpoint-url", closed],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert answer.returncode == 1 and answer.stdout == ""
    assert answer.stderr.splitlines() == [
        f"izin status: nothing answers at the AWS endpoint {closed}: start the local runtime "
        "with `izin local serve` (or `make serve`), or point at a running one with "
        "--endpoint-url (or AWS_ENDPOINT_URL)"
    ]


@mock_aws
def test_petugas_finds_the_stack_s_configuration_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from izin_local.cli import ConfigurationSetNotFound, _mail_configuration_set

    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-3")
    ses = boto3.client("sesv2")
    assert _mail_configuration_set() == ""  # none: sent without, as a stack without one
    ses.create_configuration_set(ConfigurationSetName="marketing")
    ses.create_configuration_set(ConfigurationSetName="izin-prod-izin")
    assert _mail_configuration_set() == "izin-prod-izin"
    ses.create_configuration_set(ConfigurationSetName="izin-test-izin")
    with pytest.raises(ConfigurationSetNotFound):
        _mail_configuration_set()
