"""The adapters' AWS settings as AWS, not moto, would see them."""

from typing import Any
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


def test_an_upload_form_is_signed_with_sigv4_for_the_bucket_s_regional_host(
    monkeypatch: pytest.MonkeyPatch,
):
    import base64
    import json

    from izin import evidence, wiring
    from izin.settings import settings

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    for name, value in {
        "TABLE_NAME": "t",
        "BUCKET_NAME": "izin-docs",
        "PUBLIC_BASE_URL": "https://izin.example.go.id",
        "MAIL_FROM": "izin@example.go.id",
    }.items():
        monkeypatch.setenv(name, value)
    aws.presign_client.cache_clear()
    settings.cache_clear()
    try:
        form = evidence.upload_form(
            wiring.S3Evidence(), "IP-1", 10, "https://izin.example.go.id/tasks/t/lampiran"
        )
    finally:
        aws.presign_client.cache_clear()
        settings.cache_clear()
    assert urlsplit(form.url).netloc == "izin-docs.s3.ap-southeast-3.amazonaws.com"
    assert form.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert "/ap-southeast-3/s3/aws4_request" in form.fields["x-amz-credential"]
    prefix = form.fields["key"].removesuffix("${filename}")
    assert prefix.startswith("applications/IP-1/lampiran/10/") and len(prefix) == 32 + 31
    conditions = json.loads(base64.b64decode(form.fields["policy"]))["conditions"]
    assert ["content-length-range", 1, evidence.MAX_BYTES] in conditions
    assert ["starts-with", "$key", prefix] in conditions


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (["None", "TransactionConflict"], None),  # the third try is made, and succeeds
        (["ConditionalCheckFailed", "None"], "ConditionFailed"),
        (["ValidationError", "None"], "TransactionCanceledException"),
    ],
)
def test_writes_made_together_are_tried_again_only_after_a_passing_cancel(
    monkeypatch: pytest.MonkeyPatch, reasons: list[str], expected: str | None
):
    from botocore.stub import Stubber
    from izin import store
    from izin.store import DynamoStore, Write

    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setattr(store.time, "sleep", lambda seconds: None)
    aws.client.cache_clear()
    writes = [Write("A", "1", {"x": 1}), Write("A", "2", {}, update=True, terms={"add": {"n": 1}})]
    cancelled: dict[str, Any] = {
        "service_error_code": "TransactionCanceledException",
        "modeled_fields": {"CancellationReasons": [{"Code": code} for code in reasons]},
    }
    try:
        with Stubber(aws.client("dynamodb")) as stub:
            stub.add_client_error("transact_write_items", **cancelled)
            if expected is None:
                stub.add_client_error("transact_write_items", **cancelled)
                stub.add_response("transact_write_items", {})
                DynamoStore("t").write_all(writes)
            else:
                with pytest.raises(Exception) as raised:
                    DynamoStore("t").write_all(writes)
                assert type(raised.value).__name__ == expected
            stub.assert_no_pending_responses()
    finally:
        aws.client.cache_clear()


def test_a_refusal_names_only_the_items_whose_condition_failed(monkeypatch: pytest.MonkeyPatch):
    """DynamoDB's cancellation lists a reason per item: ConditionFailed names those whose
    condition failed, not one that was only in a conflict (the task page tells a refused
    presumption, the roster's check say, from its own write's condition by them)."""
    from botocore.stub import Stubber
    from izin.store import ConditionFailed, DynamoStore, Write

    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    aws.client.cache_clear()
    codes = ["ConditionalCheckFailed", "TransactionConflict", "None"]
    try:
        with Stubber(aws.client("dynamodb")) as stub:
            stub.add_client_error(
                "transact_write_items",
                service_error_code="TransactionCanceledException",
                modeled_fields={"CancellationReasons": [{"Code": code} for code in codes]},
            )
            writes = [
                Write("A", "1", {}),
                Write("ROSTER", "ROSTER", {}, check=True),
                Write("A", "2", {}),
            ]
            with pytest.raises(ConditionFailed) as refused:
                DynamoStore("t").write_all(writes)
            assert refused.value.keys == (("A", "1"),)
            stub.assert_no_pending_responses()
    finally:
        aws.client.cache_clear()


def test_writes_made_together_that_keep_conflicting_are_a_transient_error(
    monkeypatch: pytest.MonkeyPatch,
):
    from botocore.stub import Stubber
    from izin import store
    from izin.errors import TransientError
    from izin.store import DynamoStore, Write

    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setattr(store.time, "sleep", lambda seconds: None)
    aws.client.cache_clear()
    reasons = {"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]}
    try:
        with Stubber(aws.client("dynamodb")) as stub:
            for _ in range(4):  # the first try and three more
                stub.add_client_error(
                    "transact_write_items",
                    service_error_code="TransactionCanceledException",
                    modeled_fields=reasons,
                )
            with pytest.raises(TransientError, match="TransactionConflict"):
                DynamoStore("t").write_all([Write("A", "1", {}), Write("A", "2", {})])
            stub.assert_no_pending_responses()
    finally:
        aws.client.cache_clear()


def test_a_single_write_held_by_a_transaction_is_tried_again(monkeypatch: pytest.MonkeyPatch):
    """DynamoDB refuses a PutItem or UpdateItem on an item an ongoing transaction includes
    (TransactionConflictException; the roster, which every document's transaction checks):
    nothing was written, and the SDK does not retry it. The store tries again, then gives
    the state machine a TransientError."""
    from botocore.stub import Stubber
    from izin import store as store_module
    from izin.errors import TransientError
    from izin.store import DynamoStore

    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setattr(store_module.time, "sleep", lambda _s: None)
    aws.client.cache_clear()
    conflict = "TransactionConflictException"
    try:
        table = DynamoStore("t")
        with Stubber(aws.client("dynamodb")) as stub:
            stub.add_client_error("update_item", conflict, http_status_code=400)
            stub.add_response("update_item", {"Attributes": {"PK": {"S": "R"}, "n": {"N": "2"}}})
            assert table.update("R", "R", {"n": 2})["n"] == 2
            stub.add_client_error("put_item", conflict, http_status_code=400)
            stub.add_response("put_item", {})
            assert table.put("R", "R", {"n": 3}) is True
            for _ in range(4):
                stub.add_client_error("put_item", conflict, http_status_code=400)
            with pytest.raises(TransientError):
                table.put("R", "R", {"n": 4})
            stub.assert_no_pending_responses()
    finally:
        aws.client.cache_clear()
