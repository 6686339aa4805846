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
