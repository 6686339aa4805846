"""botocore's data files parsed once per process (izin_local.sdk_data): each new session's
client finds the service's model already parsed, as the zygote's workers and every runtime
start rely on."""

import os

import boto3
import pytest
from izin_local import sdk_data


def _service_model(service: str) -> object:
    session = boto3.session.Session(region_name="ap-southeast-3")
    return session.client(service).meta.service_model._service_description  # type: ignore[call-overload]


def _as_botocore_ships(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's own loading, undone after the test: this process may already share (a
    runtime started in it)."""
    from botocore.loaders import JSONFileLoader, Loader

    monkeypatch.setattr(JSONFileLoader, "load_file", sdk_data.ORIGINAL_LOAD_FILE)
    for name, method in sdk_data.ORIGINAL_LOADER_METHODS.items():
        monkeypatch.setattr(Loader, name, method)


def test_without_sharing_each_session_parses_its_own_copy(monkeypatch: pytest.MonkeyPatch):
    _as_botocore_ships(monkeypatch)
    assert _service_model("sqs") is not _service_model("sqs")


def test_shared_the_second_session_reuses_the_first_parse():
    sdk_data.share_parsed_files()
    sdk_data.share_parsed_files()  # idempotent: one cache, not a cache of a cache
    assert _service_model("sqs") is _service_model("sqs")
    assert _service_model("sqs") is not _service_model("dynamodb")


def _folders_listed_by_a_new_client(monkeypatch: pytest.MonkeyPatch, service: str) -> int:
    listed: list[str] = []
    listdir = os.listdir

    def listing(path: str) -> list[str]:
        listed.append(path)
        return listdir(path)

    monkeypatch.setattr(os, "listdir", listing)
    boto3.session.Session(region_name="ap-southeast-3").client(service)  # type: ignore[call-overload]
    monkeypatch.setattr(os, "listdir", listdir)
    return len(listed)


def test_without_sharing_each_session_walks_the_data_folders_again(
    monkeypatch: pytest.MonkeyPatch,
):
    _as_botocore_ships(monkeypatch)
    _service_model("sqs")
    assert _folders_listed_by_a_new_client(monkeypatch, "sqs") > 100


def test_shared_a_new_sessions_client_lists_no_folder(monkeypatch: pytest.MonkeyPatch):
    sdk_data.share_parsed_files()
    _service_model("sqs")
    assert _folders_listed_by_a_new_client(monkeypatch, "sqs") == 0


def test_a_loader_with_other_search_paths_gets_answers_of_its_own(tmp_path):
    from botocore.loaders import Loader

    sdk_data.share_parsed_files()
    model = tmp_path / "izin-sample" / "2026-12-04"
    model.mkdir(parents=True)
    (model / "service-2.json").write_text('{"metadata": {}, "operations": {}, "shapes": {}}')
    assert "izin-sample" not in Loader().list_available_services("service-2")
    extended = Loader(extra_search_paths=[str(tmp_path)])
    assert "izin-sample" in extended.list_available_services("service-2")
    assert extended.load_service_model("izin-sample", "service-2") == {
        "metadata": {},
        "operations": {},
        "shapes": {},
    }
    assert "izin-sample" not in Loader().list_available_services("service-2")
