"""template.yaml's settings for the calls in and out (CONTRACT §1, §2), read from the template.

Beside tests/unit/test_template_settings.py (every queue, alarm and policy in general):
here, what the SIINAS/OSS integrations in particular rely on. The SIINAS DLQ has a consumer
that opens the Operator's manual task, and a DLQ of its own; every consumed queue
dead-letters; the workers take their retry settings from parameters whose defaults are the
production values; the idempotency records fit the one table; each webhook refusal status
is watched by the alarm; the integration functions hold only the permissions they use.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from izin.queues import TABLE_KEY, TABLE_TTL_ATTRIBUTE, RetrySettings
from izin.webhooks import REFUSAL_STATUSES
from izin_local.template import Template

ROOT = Path(__file__).resolve().parents[2]
WORKERS = ("SiinasWorkerFunction", "OssWorkerFunction")
QUEUE_FUNCTIONS = (
    "InboundFunction",
    "SiinasWorkerFunction",
    "SiinasFallbackFunction",
    "OssWorkerFunction",
)


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


def properties(template: Template, logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = template.resources[logical_id].get("Properties") or {}
    return props


def target(value: Any) -> str:
    """The logical id a `!GetAtt X.Arn` / `!Ref X` names."""
    if "Fn::GetAtt" in value:
        get_att = value["Fn::GetAtt"]
        return str(get_att[0] if isinstance(get_att, list) else get_att.split(".")[0])
    return str(value["Ref"])


def sqs_events(template: Template, function: str) -> list[dict[str, Any]]:
    events = (properties(template, function).get("Events") or {}).values()
    return [e["Properties"] for e in events if e["Type"] == "SQS"]


def test_the_siinas_dlq_is_consumed_by_the_fallback_and_dead_letters_itself(
    template: Template,
) -> None:
    [event] = sqs_events(template, "SiinasFallbackFunction")
    assert target(event["Queue"]) == "SiinasDeadLetterQueue"
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    chain = {
        queue: target(properties(template, queue)["RedrivePolicy"]["deadLetterTargetArn"])
        for queue in ("SiinasQueue", "SiinasDeadLetterQueue")
    }
    assert chain == {
        "SiinasQueue": "SiinasDeadLetterQueue",
        "SiinasDeadLetterQueue": "SiinasFallbackDeadLetterQueue",
    }
    assert "RedrivePolicy" not in properties(template, "SiinasFallbackDeadLetterQueue")
    # A dead-lettered message keeps its receive count: the fallback must still get its turns.
    receives = {
        queue: int(properties(template, queue)["RedrivePolicy"]["maxReceiveCount"])
        for queue in chain
    }
    assert receives["SiinasDeadLetterQueue"] >= receives["SiinasQueue"] + 3


def test_the_fallback_follows_the_siinas_worker_in_the_template(template: Template) -> None:
    names = list(template.resources)
    assert names.index("SiinasFallbackFunction") == names.index("SiinasWorkerFunction") + 1


@pytest.mark.parametrize("function", QUEUE_FUNCTIONS)
def test_every_queue_a_function_consumes_dead_letters(template: Template, function: str) -> None:
    for event in sqs_events(template, function):
        queue = properties(template, target(event["Queue"]))
        assert int(queue["RedrivePolicy"]["maxReceiveCount"]) >= 3
        assert int(queue["MessageRetentionPeriod"]) == 14 * 24 * 3600


@pytest.mark.parametrize("function", WORKERS)
def test_the_workers_retry_settings_are_the_templates_parameters(
    template: Template, function: str
) -> None:
    variables = properties(template, function)["Environment"]["Variables"]
    for variable, parameter in {
        "IZIN_RETRY_BASE_SECONDS": "RetryBaseSeconds",
        "IZIN_RETRY_MAX_SECONDS": "RetryMaxSeconds",
        "IZIN_CALL_TIMEOUT_SECONDS": "CallTimeoutSeconds",
    }.items():
        assert variables[variable] == {"Ref": parameter}


def test_the_parameters_defaults_are_the_production_retry_settings(template: Template) -> None:
    defaults = {
        "IZIN_RETRY_BASE_SECONDS": template.parameters["RetryBaseSeconds"]["Default"],
        "IZIN_RETRY_MAX_SECONDS": template.parameters["RetryMaxSeconds"]["Default"],
        "IZIN_CALL_TIMEOUT_SECONDS": template.parameters["CallTimeoutSeconds"]["Default"],
    }
    assert RetrySettings.of(defaults) == RetrySettings.of({})


@pytest.mark.parametrize("function", WORKERS)
def test_a_call_times_out_well_before_its_worker(template: Template, function: str) -> None:
    call_timeout = float(template.parameters["CallTimeoutSeconds"]["Default"])
    assert int(properties(template, function)["Timeout"]) >= 2 * call_timeout


def test_the_idempotency_records_fit_the_one_table(template: Template) -> None:
    table = properties(template, "IzinTable")
    assert tuple(k["AttributeName"] for k in table["KeySchema"]) == TABLE_KEY
    assert [k["KeyType"] for k in table["KeySchema"]] == ["HASH", "RANGE"]
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": TABLE_TTL_ATTRIBUTE,
        "Enabled": True,
    }


@pytest.mark.parametrize("function", [*WORKERS, "SiinasFallbackFunction"])
def test_the_idempotent_workers_can_write_the_table(template: Template, function: str) -> None:
    policies = properties(template, function)["Policies"]
    assert {"DynamoDBCrudPolicy": {"TableName": {"Ref": "IzinTable"}}} in policies


def test_the_alarm_on_refusals_watches_every_refusal_status(template: Template) -> None:
    alarm = properties(template, "WebhookRefusedAlarm")
    stats = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
    watched = set()
    service = template.body["Globals"]["Function"]["Environment"]["Variables"][
        "POWERTOOLS_SERVICE_NAME"
    ]
    for stat in stats:
        metric = stat["Metric"]
        assert (metric["Namespace"], metric["MetricName"]) == ("Izin", "WebhookRefused")
        dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert dimensions.pop("service") == service  # Powertools adds it to every metric
        watched.add(int(dimensions.pop("status")))
        assert dimensions == {}
    assert watched == REFUSAL_STATUSES
    [expression] = [m for m in alarm["Metrics"] if "Expression" in m]
    assert expression["ReturnData"] is True
    assert all(m["ReturnData"] is False for m in alarm["Metrics"] if "MetricStat" in m)
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_webhook_function_counts_its_refusals_under_the_alarms_names(
    template: Template, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from izin.observability import count

    source = (ROOT / "functions/webhook/app.py").read_text(encoding="utf-8")
    assert 'count("WebhookRefused", status=str(answer.status))' in source
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    capsys.readouterr()
    count("WebhookRefused", status="401")
    out = capsys.readouterr().out.splitlines()
    [line] = [json.loads(emf) for emf in out if "WebhookRefused" in emf]
    [directive] = line["_aws"]["CloudWatchMetrics"]
    alarm = properties(template, "WebhookRefusedAlarm")
    names = {m["MetricStat"]["Metric"]["Namespace"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert names == {directive["Namespace"]} == {"Izin"}
    assert ["status"] in [[d for d in dims if d != "service"] for dims in directive["Dimensions"]]
    assert line["status"] == "401" and line["WebhookRefused"] == [1.0]


def test_a_failed_siinas_upload_is_alarmed_as_it_reaches_the_dlq(template: Template) -> None:
    alarm = properties(template, "SiinasUploadDeadLetteredAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "NumberOfMessagesReceived")
    [dimension] = alarm["Dimensions"]
    assert target(dimension["Value"]) == "SiinasDeadLetterQueue"


def _policy_names(template: Template, function: str) -> set[str]:
    names = set()
    for policy in properties(template, function)["Policies"]:
        if "Statement" in policy:
            names.add("Statement")
        elif "Ref" in policy:  # the stack's own managed policy (MailSendPolicy)
            names.add(policy["Ref"])
        else:
            names |= set(policy)
    return names


@pytest.mark.parametrize(
    ("function", "policies"),
    [
        (
            "WebhookFunction",
            {"DynamoDBCrudPolicy", "SQSSendMessagePolicy", "AWSSecretsManagerGetSecretValuePolicy"},
        ),
        (
            "SiinasWorkerFunction",
            {
                "DynamoDBCrudPolicy",
                "S3ReadPolicy",
                "MailSendPolicy",
                "AWSSecretsManagerGetSecretValuePolicy",
                "Statement",
            },
        ),
        ("SiinasFallbackFunction", {"DynamoDBCrudPolicy", "MailSendPolicy"}),
        (
            "OssWorkerFunction",
            {"DynamoDBCrudPolicy", "AWSSecretsManagerGetSecretValuePolicy", "Statement"},
        ),
        (  # the BSrE secret: the Dinas's e-seal on the copy, where BsreSealTembusan is on
            "TembusanFunction",
            {
                "DynamoDBCrudPolicy",
                "S3ReadPolicy",
                "MailSendPolicy",
                "AWSSecretsManagerGetSecretValuePolicy",
            },
        ),
    ],
)
def test_the_integration_functions_hold_only_what_they_use(
    template: Template, function: str, policies: set[str]
) -> None:
    assert _policy_names(template, function) == policies


def test_the_webhook_function_sends_only_to_the_inbound_queue_and_reads_only_its_secrets(
    template: Template,
) -> None:
    policies = properties(template, "WebhookFunction")["Policies"]
    [send] = [p["SQSSendMessagePolicy"] for p in policies if "SQSSendMessagePolicy" in p]
    assert target(send["QueueName"]) == "InboundQueue"
    secrets = {
        target(p["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"])
        for p in policies
        if "AWSSecretsManagerGetSecretValuePolicy" in p
    }
    assert secrets == {"OssWebhookSecret", "SiinasWebhookSecret"}
