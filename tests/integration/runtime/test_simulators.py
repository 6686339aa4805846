"""The SIINAS and OSS simulators: answers, records and injected faults."""

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from izin_local.simulators import OssSimulator, SiinasSimulator, _Handler, _Server


@pytest.fixture
def siinas() -> Iterator[SiinasSimulator]:
    simulator = SiinasSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


def post(url: str, payload: Any, *, timeout: float = 10) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer t"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_siinas_accepts_a_bap_and_records_the_request(siinas: SiinasSimulator):
    status, answer = post(f"{siinas.url}/verifikasi-teknis/IZ%2F1/bap", {"nomor_bap": "7"})
    assert status == 201 and answer["status"] == "diterima" and answer["id_unggah"]
    assert post(f"{siinas.url}/elsewhere", {})[0] == 404
    first, second = siinas.requests
    assert (first.method, first.path, first.json, first.status) == (
        "POST",
        "/verifikasi-teknis/IZ%2F1/bap",
        {"nomor_bap": "7"},
        201,
    )
    assert first.headers["Authorization"] == "Bearer t"
    assert second.status == 404


def test_oss_accepts_receive_license_status():
    oss = OssSimulator()
    oss.start()
    try:
        assert post(f"{oss.url}/receiveLicenseStatus", {"IZINSTATUS": {}}) == (
            200,
            {"responreceiveLicenseStatus": {"kode": 200, "keterangan": "Sukses"}},
        )
    finally:
        oss.stop()


def test_fail_next_answers_the_next_requests_with_the_status(siinas: SiinasSimulator):
    siinas.fail_next(2, status=503)
    url = f"{siinas.url}/verifikasi-teknis/1/bap"
    assert [post(url, {})[0] for _ in range(3)] == [503, 503, 201]
    assert [request.status for request in siinas.requests] == [503, 503, 201]


def test_slow_next_delays_the_answer(siinas: SiinasSimulator):
    siinas.slow_next(1, seconds=2.0)
    url = f"{siinas.url}/verifikasi-teknis/1/bap"
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        post(url, {}, timeout=0.3)
    assert post(url, {})[0] == 201


def test_a_caller_gone_before_the_answer_is_no_traceback_but_a_bug_still_is(
    capfd: pytest.CaptureFixture[str],
) -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.simulator = SiinasSimulator()
    try:
        for error in (BrokenPipeError(32, "Broken pipe"), ValueError("a bug in the simulator")):
            try:
                raise error
            except Exception:
                server.handle_error(None, ("127.0.0.1", 9))
    finally:
        server.server_close()
    printed = capfd.readouterr().err
    assert "BrokenPipeError" not in printed
    assert "ValueError: a bug in the simulator" in printed


def test_down_refuses_connections_until_up_on_the_same_port(siinas: SiinasSimulator):
    url = f"{siinas.url}/verifikasi-teknis/1/bap"
    siinas.down()
    assert not siinas.is_up
    with pytest.raises(urllib.error.URLError) as refused:
        post(url, {})
    assert isinstance(refused.value.reason, ConnectionRefusedError)
    siinas.up()
    assert post(url, {})[0] == 201


def test_izin_fault_makes_a_running_runtime_s_simulator_misbehave(runtime: Any) -> None:
    from izin_local.cli import main

    siinas = runtime.siinas
    url = f"{siinas.url}/verifikasi-teknis/IZ-9/bap"
    assert (
        main(["fault", "siinas", "--fail-next", "2", "--status", "503", "--url", runtime.http_url])
        == 0
    )
    assert [post(url, {})[0] for _ in range(3)] == [503, 503, 201]

    assert main(["fault", "siinas", "--down", "--url", runtime.http_url]) == 0
    with pytest.raises(urllib.error.URLError):
        post(url, {}, timeout=2)
    assert main(["fault", "siinas", "--up", "--url", runtime.http_url]) == 0
    assert post(url, {})[0] == 201

    status, _ = post(f"{runtime.http_url}/_local/simulators/nobody/faults", {"down": True})
    assert status == 404
    status, answer = post(f"{runtime.http_url}/_local/simulators/oss/faults", {"sideways": 1})
    assert status == 400 and "bad fault" in answer["message"]
