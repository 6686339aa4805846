"""What a deploy to a real account needs of the template: logs kept, the links' domain."""

from pathlib import Path
from typing import Any

from izin_local.template import load_yaml

TEMPLATE = load_yaml(Path(__file__).parents[2] / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def _of_type(kind: str) -> dict[str, Any]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


def test_every_function_s_log_group_is_declared_with_its_retention():
    groups = {
        r["Properties"]["LogGroupName"]["Fn::Sub"]: r["Properties"]
        for r in _of_type("AWS::Logs::LogGroup").values()
        if "LogGroupName" in r["Properties"]
    }
    for function in _of_type("AWS::Serverless::Function"):
        properties = groups.get(f"/aws/lambda/${{{function}}}")
        assert properties is not None, f"{function} has no log group: kept forever"
        assert properties["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert (
        TEMPLATE["Parameters"]["LogRetentionDays"]["Default"]
        in (TEMPLATE["Parameters"]["LogRetentionDays"]["AllowedValues"])
    )


def test_the_links_domain_is_served_when_a_domain_and_certificate_are_given():
    domain = RESOURCES["ApiDomain"]
    mapping = RESOURCES["ApiDomainMapping"]
    assert domain["Condition"] == mapping["Condition"] == "HasCustomDomain"
    assert domain["Properties"]["DomainName"] == {"Ref": "DomainName"}
    (configuration,) = domain["Properties"]["DomainNameConfigurations"]
    assert configuration["CertificateArn"] == {"Ref": "CertificateArn"}
    assert configuration["EndpointType"] == "REGIONAL"
    assert mapping["Properties"]["ApiId"] == {"Ref": "HttpApi"}
    assert mapping["Properties"]["DomainName"] == {"Ref": "ApiDomain"}
    assert TEMPLATE["Outputs"]["ApiDomainTarget"]["Condition"] == "HasCustomDomain"


def test_no_default_sends_mail_to_a_real_address():
    roster = (Path(__file__).parents[2] / "layers/izin/izin/data/roster.json").read_text()
    assert "kalbarprov.go.id" not in roster
    for name in ("MailFrom", "AlarmEmail"):
        assert str(TEMPLATE["Parameters"][name]["Default"]).endswith(".example")


ON_CALL = {
    "ExecutionsEndedWithoutParkingAlarm",
    "FunctionErrorsAlarm",
    "FunctionThrottlesAlarm",
    "ApiServerErrorsAlarm",
    "ApiLatencyAlarm",
    "InboundQueueAgeAlarm",
    "SlaBreachesAlarm",
    "LongWaitsAlarm",
    "CalendarUnconfirmedAlarm",
}


def test_on_call_is_told_and_the_runbook_says_what_each_alarm_means():
    alarms = _of_type("AWS::CloudWatch::Alarm")
    assert alarms.keys() >= ON_CALL
    runbook = (Path(__file__).parents[2] / "docs" / "runbook.md").read_text()
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert f"`{name}`" in runbook, f"{name} is not in docs/runbook.md"


def test_the_sla_alarm_watches_a_metric_the_deadline_function_emits():
    handler = (Path(__file__).parents[2] / "functions" / "deadline" / "app.py").read_text()
    for name in ("SlaBreaches", "LongWaits", "CalendarUnconfirmed"):
        alarm = RESOURCES[f"{name}Alarm"]
        assert alarm["Properties"]["MetricName"] == name
        assert alarm["Properties"]["Dimensions"] == [{"Name": "service", "Value": "izin"}]
        assert f'count("{name}")' in handler


def test_api_access_logs_name_the_route_never_the_path_that_holds_a_ticket():
    settings = RESOURCES["HttpApi"]["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    assert "$context.routeKey" in settings["Format"]
    assert "$context.path" not in settings["Format"]
    assert "$context.resourcePath" not in settings["Format"]
    assert RESOURCES["ApiAccessLogs"]["Properties"]["RetentionInDays"] == {
        "Ref": "LogRetentionDays"
    }


def test_every_checkov_skip_in_the_template_says_why_on_one_line():
    skips = [
        (name, entry)
        for name, resource in RESOURCES.items()
        for entry in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "make checkov runs on the template; its skips live in Metadata"
    for name, entry in skips:
        assert entry["id"].startswith("CKV_"), name
        comment = entry.get("comment", "")
        assert comment.strip() and "\n" not in comment and len(comment) <= 140, (name, entry)


def test_every_queue_is_encrypted_at_rest():
    for name, queue in _of_type("AWS::SQS::Queue").items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, name


def test_every_sender_may_send_under_the_configuration_set_that_reports_bounces():
    senders = [
        name
        for name, function in _of_type("AWS::Serverless::Function").items()
        if {"Ref": "MailSendPolicy"} in function["Properties"]["Policies"]
    ]
    assert len(senders) >= 8  # which ones: tests/unit/test_mail_send_policy.py
    send = RESOURCES["MailSendPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert "configuration-set/${MailConfigurationSet}" in str(send)  # else SES refuses
    environment = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert environment["MAIL_CONFIGURATION_SET"] == {"Ref": "MailConfigurationSet"}
    destination = RESOURCES["MailEventDestination"]["Properties"]["EventDestination"]
    assert {"bounce", "complaint"} <= set(destination["MatchingEventTypes"])
    assert destination["SnsDestination"]["TopicARN"] == {"Ref": "MailEventsTopic"}
    events = RESOURCES["MailEventsFunction"]["Properties"]["Events"]
    assert events["MailEvents"]["Properties"]["Topic"] == {"Ref": "MailEventsTopic"}
