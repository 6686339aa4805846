"""The local AWS endpoint keeps connections open, and every kind of answer stays framed.

werkzeug's server closes each connection after one answer; ours keeps it, so a request
or an answer framed wrongly would corrupt the next call on the same connection. These
calls go one after another down one connection and each must come back whole.
"""

import http.client
import socket
from typing import Any

import boto3
import pytest
from botocore.config import Config
from izin_local.moto_server import KeepAliveRequestHandler, MotoServer

REGION = "ap-southeast-3"
BIG = bytes(range(256)) * 8192  # 2 MiB: larger than any socket buffer


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every connection the server accepts, in order."""
    accepted: list[object] = []
    setup = KeepAliveRequestHandler.setup

    def counting(handler: KeepAliveRequestHandler) -> None:
        accepted.append(handler.client_address)
        setup(handler)

    monkeypatch.setattr(KeepAliveRequestHandler, "setup", counting)
    return accepted


def _s3(endpoint: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION
    ).client("s3", endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}))


def test_sdk_calls_of_every_shape_share_one_connection(
    moto_server: MotoServer, connections: list[object]
):
    s3 = _s3(moto_server.endpoint)
    s3.create_bucket(Bucket="berkas", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="berkas", Key="bap.pdf", Body=BIG)  # Expect: 100-continue
    head = s3.head_object(Bucket="berkas", Key="bap.pdf")  # a length, and no body
    got = s3.get_object(Bucket="berkas", Key="bap.pdf")["Body"].read()
    s3.delete_object(Bucket="berkas", Key="bap.pdf")  # 204
    listed = s3.list_objects_v2(Bucket="berkas")

    assert head["ContentLength"] == len(BIG)
    assert got == BIG
    assert listed["KeyCount"] == 0
    assert len(connections) == 1


def test_a_chunked_request_body_is_read_to_its_end(moto_server: MotoServer):
    _s3(moto_server.endpoint).create_bucket(
        Bucket="surat", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    connection = http.client.HTTPConnection("127.0.0.1", moto_server.port, timeout=10)
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20261202/ap-southeast-3/s3/"
        "aws4_request, SignedHeaders=host, Signature=0",
    }
    parts = iter([b"tembusan ", b"BAP ", b"ke DPMPTSP"])
    connection.request(
        "PUT", "/surat/tembusan.txt", body=parts, headers=headers, encode_chunked=True
    )
    put = connection.getresponse()
    put.read()
    first_socket = connection.sock
    connection.request("GET", "/surat/tembusan.txt", headers=headers)
    got = connection.getresponse()

    assert put.status == 200
    assert (got.status, got.read()) == (200, b"tembusan BAP ke DPMPTSP")
    assert not got.will_close
    assert connection.sock is first_socket
    connection.close()


def test_an_idle_connection_is_closed_and_nothing_is_logged(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setattr(KeepAliveRequestHandler, "timeout", 0.3)
    with socket.create_connection(("127.0.0.1", moto_server.port), timeout=10) as idle:
        assert idle.recv(1) == b""  # closed by the server, well within the 10 s
    assert [r.getMessage() for r in caplog.records if r.name == "werkzeug"] == []
