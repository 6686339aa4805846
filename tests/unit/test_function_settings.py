"""Each function's settings: what its handler needs (`@needs_settings`) is in its environment.

Read from template.yaml (Globals merged as SAM does): for every function, each variable its
handler declares it needs is among the function's Environment Variables, and a base URL
comes with its secret. Then the other side, at run time: a handler whose environment lacks
a variable fails at its first call with an error that names it, before any work.
"""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from izin import settings as settings_module
from izin.settings import NEEDED_WITH, SettingsError, needs_settings, variable
from izin_local.template import Template

from tests.unit.conftest import COMMON_ENVIRONMENT, LambdaContext

ROOT = Path(__file__).resolve().parents[2]

Resources = dict[str, dict[str, Any]]


def _functions(resources: Resources) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in resources.items():
        if resource.get("Type") == "AWS::Serverless::Function":
            yield name, resource.get("Properties") or {}


def _handler(properties: dict[str, Any], root: Path = ROOT) -> Callable[..., Any]:
    """The function's handler, imported from its CodeUri as Lambda would."""
    module_path, _, attribute = str(properties["Handler"]).rpartition(".")
    source = root / str(properties["CodeUri"]) / (module_path.replace(".", "/") + ".py")
    spec = importlib.util.spec_from_file_location(f"settings_of_{source.parent.name}", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Callable[..., Any] = getattr(module, attribute)
    return handler


def needed(handler: Callable[..., Any]) -> frozenset[str] | None:
    """The variables a handler declares it needs; None where it declares nothing."""
    found: frozenset[str] | None = getattr(handler, "needed_settings", None)
    return found


def environments_give_what_handlers_need(
    resources: Resources, needs: Callable[[dict[str, Any]], frozenset[str] | None]
) -> list[str]:
    """What is wrong: a handler that declares nothing, a variable it needs that its
    function's environment lacks, a base URL without its secret."""
    problems = []
    for function, properties in _functions(resources):
        environment = set((properties.get("Environment") or {}).get("Variables") or {})
        wanted = needs(properties)
        if wanted is None:
            problems.append(f"{function}: its handler declares no @needs_settings")
            continue
        problems += [
            f"{function}: no {name} in its Environment" for name in sorted(wanted - environment)
        ]
        problems += [
            f"{function}: {variable(given)} without {variable(then)}"
            for given, then in NEEDED_WITH.items()
            if variable(given) in environment and variable(then) not in environment
        ]
    return problems


@pytest.fixture(scope="module")
def resources() -> Resources:
    return Template.load(ROOT / "template.yaml").resources


def test_every_function_s_environment_gives_its_handler_what_it_needs(
    resources: Resources,
) -> None:
    assert list(_functions(resources))
    assert environments_give_what_handlers_need(resources, lambda p: needed(_handler(p))) == []


def test_the_handlers_that_need_more_than_every_function_say_so(resources: Resources) -> None:
    # Read back from the handlers: the declarations the test above holds the template to.
    by_code = {p["CodeUri"]: needed(_handler(p)) or frozenset() for _, p in _functions(resources)}
    common = {"TABLE_NAME", "BUCKET_NAME", "PUBLIC_BASE_URL", "MAIL_FROM"}
    assert by_code["functions/progress/"] == common
    assert by_code["functions/inbound/"] == common | {"STATE_MACHINE_ARN"}
    assert by_code["functions/pia/"] >= {"PIA_CREDENTIALS_SECRET_ARN", "INBOUND_QUEUE_URL"}
    assert by_code["functions/workspace/"] >= {"IZIN_TOTP_KEY_ID", "STATE_MACHINE_ARN"}


def test_the_check_fails_on_a_broken_template(resources: Resources) -> None:
    broken = copy.deepcopy(resources)
    del broken["InboundFunction"]["Properties"]["Environment"]["Variables"]["STATE_MACHINE_ARN"]
    worker = broken["SiinasWorkerFunction"]["Properties"]["Environment"]["Variables"]
    del worker["SIINAS_TOKEN_SECRET_ARN"]
    broken["Undeclared"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {"CodeUri": "functions/nowhere/", "Handler": "app.lambda_handler"},
    }

    def needs(properties: dict[str, Any]) -> frozenset[str] | None:
        if properties["CodeUri"] == "functions/nowhere/":
            return None
        return needed(_handler(properties))

    assert environments_give_what_handlers_need(broken, needs) == [
        "InboundFunction: no STATE_MACHINE_ARN in its Environment",
        "SiinasWorkerFunction: SIINAS_BASE_URL without SIINAS_TOKEN_SECRET_ARN",
        "Undeclared: its handler declares no @needs_settings",
    ]


# -- at run time: the first call fails, naming what is missing ------------------------------


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name, value in COMMON_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    for name in ("STATE_MACHINE_ARN", "SIINAS_BASE_URL", "SIINAS_TOKEN_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    settings_module.settings.cache_clear()
    yield monkeypatch
    settings_module.settings.cache_clear()  # the next test's environment is read afresh


def _function(resources: Resources, name: str) -> Callable[..., Any]:
    return _handler(resources[name]["Properties"])


def test_a_handler_without_its_variable_fails_at_its_first_call(
    environment: pytest.MonkeyPatch, resources: Resources
) -> None:
    inbound = _function(resources, "InboundFunction")
    with pytest.raises(SettingsError, match=r"^environment not configured: STATE_MACHINE_ARN$"):
        inbound({"Records": []}, LambdaContext())
    with pytest.raises(SettingsError, match="STATE_MACHINE_ARN"):  # and every call after
        inbound({"Records": []}, LambdaContext())


def test_a_variable_set_empty_is_not_configured(
    environment: pytest.MonkeyPatch, resources: Resources
) -> None:
    environment.setenv("STATE_MACHINE_ARN", "")  # a template parameter left empty
    with pytest.raises(SettingsError, match="STATE_MACHINE_ARN"):
        _function(resources, "ContinueFunction")({}, LambdaContext())


def test_a_variable_every_function_needs_is_named_too(
    environment: pytest.MonkeyPatch, resources: Resources
) -> None:
    environment.delenv("TABLE_NAME")
    with pytest.raises(SettingsError, match=r"^environment not configured: TABLE_NAME$"):
        _function(resources, "RequestTaskFunction")({}, LambdaContext())


def test_a_base_url_without_its_secret_is_named(
    environment: pytest.MonkeyPatch, resources: Resources
) -> None:
    environment.setenv("SIINAS_BASE_URL", "https://siinas.example")
    with pytest.raises(SettingsError, match=r"SIINAS_TOKEN_SECRET_ARN \(with SIINAS_BASE_URL\)"):
        _function(resources, "SiinasWorkerFunction")({"Records": []}, LambdaContext())


def test_the_tembusan_s_e_seal_without_bsre_is_named(
    environment: pytest.MonkeyPatch, resources: Resources
) -> None:
    environment.setenv("BSRE_SEAL_TEMBUSAN", "true")
    environment.delenv("BSRE_BASE_URL", raising=False)
    with pytest.raises(SettingsError, match=r"BSRE_BASE_URL \(with BSRE_SEAL_TEMBUSAN\)"):
        _function(resources, "TembusanFunction")({}, LambdaContext())


def test_a_function_s_own_model_is_checked_at_the_door(
    environment: pytest.MonkeyPatch, resources: Resources
) -> None:
    for name in ("PIA_CREDENTIALS_SECRET_ARN", "PIA_KD_IZIN", "PIA_KEWENANGAN"):
        environment.delenv(name, raising=False)
    environment.setenv("INBOUND_QUEUE_URL", "https://sqs.example/inbound")
    with pytest.raises(SettingsError, match="PIA_CREDENTIALS_SECRET_ARN") as error:
        _function(resources, "PiaFunction")({}, LambdaContext())
    assert "PIA_KD_IZIN" in str(error.value) and "INBOUND_QUEUE_URL" not in str(error.value)


def test_the_check_runs_once_per_container(environment: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    @needs_settings("state_machine_arn")
    def handler(n: int) -> int:
        calls.append(n)
        return n

    environment.setenv("STATE_MACHINE_ARN", "arn:machine")
    assert handler(1) == 1
    environment.delenv("STATE_MACHINE_ARN")
    settings_module.settings.cache_clear()
    assert handler(2) == 2  # checked at the first call only: no cost on a warm container
    assert calls == [1, 2]
    assert handler.needed_settings >= {"STATE_MACHINE_ARN", "TABLE_NAME"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("field", ["no_such_setting", "session_seconds"])
def test_a_declaration_names_string_fields_of_settings(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        needs_settings(field)
