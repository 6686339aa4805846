"""botocore's data files parsed once per process (izin_local.sdk_data): each new session's
client finds the service's model already parsed, as the zygote's workers and every runtime
start rely on."""

import boto3
import pytest
from izin_local import sdk_data


def _service_model(service: str) -> object:
    session = boto3.session.Session(region_name="ap-southeast-3")
    return session.client(service).meta.service_model._service_description  # type: ignore[call-overload]


def test_without_sharing_each_session_parses_its_own_copy(monkeypatch: pytest.MonkeyPatch):
    from botocore.loaders import JSONFileLoader

    # Undone after the test: this process may already share (a runtime started in it).
    monkeypatch.setattr(JSONFileLoader, "load_file", sdk_data.ORIGINAL_LOAD_FILE)
    assert _service_model("sqs") is not _service_model("sqs")


def test_shared_the_second_session_reuses_the_first_parse():
    sdk_data.share_parsed_files()
    sdk_data.share_parsed_files()  # idempotent: one cache, not a cache of a cache
    assert _service_model("sqs") is _service_model("sqs")
    assert _service_model("sqs") is not _service_model("dynamodb")
