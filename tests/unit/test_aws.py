"""The adapters' AWS settings as AWS, not moto, would see them."""

from urllib.parse import parse_qs, urlsplit

import pytest
from izin import aws


def test_a_presigned_link_uses_sigv4_and_the_bucket_s_regional_host(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    aws.presign_client.cache_clear()
    try:
        url = aws.presign_client().generate_presigned_url(
            "get_object", Params={"Bucket": "izin-docs", "Key": "a/bap.pdf"}, ExpiresIn=60
        )
    finally:
        aws.presign_client.cache_clear()
    parts = urlsplit(url)
    assert parts.netloc == "izin-docs.s3.ap-southeast-3.amazonaws.com"
    assert parts.path == "/a/bap.pdf"
    query = parse_qs(parts.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert "/ap-southeast-3/s3/aws4_request" in query["X-Amz-Credential"][0]


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [
        ("ThrottlingException", 400, True),
        ("ProvisionedThroughputExceededException", 400, True),
        ("InternalServerError", 500, True),
        ("MessageRejected", 400, True),
        ("AnythingElse", 503, True),
        ("ConditionalCheckFailedException", 400, False),
        ("AccessDeniedException", 400, False),
    ],
)
def test_a_passing_aws_failure_is_a_transient_error_the_state_machine_retries(
    monkeypatch: pytest.MonkeyPatch, code: str, status: int, transient: bool
):
    from botocore.exceptions import ClientError
    from botocore.stub import Stubber
    from izin.errors import TransientError

    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    aws.client.cache_clear()
    try:
        dynamodb = aws.client("dynamodb")
        with Stubber(dynamodb) as stub:
            stub.add_client_error("get_item", service_error_code=code, http_status_code=status)
            expected = TransientError if transient else ClientError
            with pytest.raises(expected) as raised:
                dynamodb.get_item(TableName="t", Key={"PK": {"S": "a"}})
    finally:
        aws.client.cache_clear()
    assert transient or not isinstance(raised.value, TransientError)
    if transient:
        assert "GetItem" in str(raised.value)
