"""The local runtime on the fixture template: resources, Lambda, Step Functions, SQS, HTTP, SES."""

import base64
import email
import email.policy
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from izin_local import sqs_pollers
from izin_local.metering import RUNTIME, AwsCallMeter
from izin_local.runtime import LocalRuntime

MAIL_FROM = "noreply@izin.example"


def http(
    runtime: LocalRuntime,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, list[str]], bytes]:
    request = urllib.request.Request(
        runtime.http_url + path, data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, message, data = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, message, data = error.code, error.headers, error.read()
    collected: dict[str, list[str]] = {}
    for name, value in message.items():
        collected.setdefault(name.lower(), []).append(value)
    return status, collected, data


# --- resources --------------------------------------------------------------------------


def test_every_resource_of_the_template_exists_under_its_local_name(runtime: LocalRuntime):
    assert set(runtime.queue_urls) == {"WorkQueue", "WorkDeadLetterQueue"}  # ProdOnly: IsProd
    # As AWS names a queue (moto finds it by the last segment), not moto's local address.
    assert runtime.queue_urls["WorkDeadLetterQueue"] == (
        "https://sqs.ap-southeast-3.amazonaws.com/123456789012/izin-local-work-dlq"
    )
    assert runtime.table_names == {"Table": "izin-local-Table"}
    assert runtime.bucket_names == {"Documents": "izin-local-documents"}
    assert runtime.function_names["WorkerFunction"] == "izin-local-WorkerFunction"
    assert runtime.state_machine_arns["Flow"].endswith(":stateMachine:izin-local-flow")

    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=runtime.queue_urls["WorkQueue"], AttributeNames=["All"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "1"
    assert attributes["MessageRetentionPeriod"] == "86400"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": runtime.resource("WorkDeadLetterQueue")["Arn"],
        "maxReceiveCount": 2,
    }

    dynamodb = boto3.client("dynamodb")
    table = dynamodb.describe_table(TableName="izin-local-Table")["Table"]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["gsi1"]
    ttl = dynamodb.describe_time_to_live(TableName="izin-local-Table")
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"

    boto3.client("s3").head_bucket(Bucket="izin-local-documents")
    topics = boto3.client("sns").list_topics()["Topics"]
    assert {"TopicArn": runtime.resource("Alerts")["Ref"]} in topics
    alarms = boto3.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert [alarm["AlarmName"] for alarm in alarms] == ["izin-local-DeadLetterAlarm"]
    assert alarms[0]["Dimensions"] == [{"Name": "QueueName", "Value": "izin-local-work-dlq"}]


def test_secrets_take_the_given_value_or_a_generated_one(runtime: LocalRuntime, oss_secret: str):
    secrets = boto3.client("secretsmanager")
    given = secrets.get_secret_value(SecretId=runtime.resource("OssWebhookSecret")["Ref"])
    generated = secrets.get_secret_value(SecretId=runtime.resource("SiinasWebhookSecret")["Ref"])
    assert given["SecretString"] == oss_secret
    assert len(generated["SecretString"]) == 40
    assert generated["SecretString"].isalnum()


def test_the_state_machine_definition_names_the_local_function_arns(runtime: LocalRuntime):
    definition = boto3.client("stepfunctions").describe_state_machine(
        stateMachineArn=runtime.state_machine_arns["Flow"]
    )["definition"]
    assert "${" not in definition
    resource = json.loads(definition)["States"]["Echo"]["Parameters"]["FunctionName"]
    assert resource == runtime.resource("EchoFunction")["Arn"]


def test_functions_environment_and_conventions_are_in_the_process(runtime: LocalRuntime):
    assert os.environ["TABLE_NAME"] == "izin-local-Table"
    assert os.environ["WORK_QUEUE_ARN"] == runtime.resource("WorkQueue")["Arn"]
    assert os.environ["PUBLIC_BASE_URL"] == runtime.http_url
    assert runtime.siinas is not None and runtime.oss is not None
    assert os.environ["SIINAS_BASE_URL"] == runtime.siinas.url
    assert os.environ["OSS_BASE_URL"] == runtime.oss.url
    assert os.environ["AWS_ENDPOINT_URL"] == runtime.aws_endpoint
    assert os.environ["AWS_DEFAULT_REGION"] == "ap-southeast-3"
    spec = runtime.functions["WorkerFunction"]
    assert (spec.timeout, spec.memory_size, spec.runtime) == (5, 256, "python3.12")


# --- Lambda and Step Functions ----------------------------------------------------------


def test_a_lambda_task_runs_the_handler_in_process_and_returns_its_result(
    runtime: LocalRuntime, run_execution
):
    described = run_execution(runtime, {"mode": "echo", "n": 1})
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output["event"] == {"mode": "echo", "n": 1}
    assert output["function_name"] == "izin-local-EchoFunction"
    assert 0 < output["remaining_ms"] <= 10_000


def test_an_exception_is_retried_and_caught_by_its_class_name(runtime: LocalRuntime, run_execution):
    key = uuid.uuid4().hex
    retried = run_execution(runtime, {"mode": "flaky", "key": key, "transient_failures": 2})
    assert retried["status"] == "SUCCEEDED"
    assert json.loads(retried["output"]) == {"attempts": 3}

    caught = run_execution(runtime, {"mode": "flaky", "key": key, "permanent": True})
    assert caught["status"] == "SUCCEEDED"
    output = json.loads(caught["output"])
    assert output["caught"] == "PermanentError"
    assert json.loads(output["cause"])["errorMessage"] == f"no way for {key}"


@pytest.mark.parametrize("mode", ["callback", "heartbeat"])
def test_a_wait_for_task_token_task_completes_when_a_handler_sends_task_success(
    runtime: LocalRuntime, run_execution, mode: str
):
    described = run_execution(runtime, {"mode": mode, "answer": 42})
    assert described["status"] == "SUCCEEDED", described.get("error")
    assert json.loads(described["output"]) == {"answered": 42}


def test_lambda_invoke_returns_the_result_or_a_function_error(runtime: LocalRuntime):
    client = boto3.client("lambda")
    answer = client.invoke(
        FunctionName=runtime.function_names["EchoFunction"], Payload=json.dumps({"a": 1})
    )
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read())["event"] == {"a": 1}

    failed = client.invoke(
        FunctionName=runtime.function_names["FlakyFunction"],
        Payload=json.dumps({"key": "k", "permanent": True}),
    )
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "PermanentError"
    assert error["errorMessage"] == "no way for k"
    assert error["stackTrace"]


def test_invoke_from_python_calls_the_handler(runtime: LocalRuntime):
    assert runtime.invoke("EchoFunction", {"b": 2})["event"] == {"b": 2}
    with pytest.raises(Exception) as raised:
        runtime.invoke("FlakyFunction", {"key": "k", "permanent": True})
    assert type(raised.value).__name__ == "PermanentError"


# --- SQS --------------------------------------------------------------------------------


def test_a_reported_failure_comes_back_then_rests_in_the_dlq_while_the_rest_is_deleted(
    runtime: LocalRuntime, eventually
):
    sqs = boto3.client("sqs")
    table = boto3.resource("dynamodb").Table(runtime.table_names["Table"])
    run = uuid.uuid4().hex[:8]
    for name, fail in (("good-1", False), ("bad", True), ("good-2", False)):
        sqs.send_message(
            QueueUrl=runtime.queue_urls["WorkQueue"],
            MessageBody=json.dumps({"id": f"{run}-{name}", "fail": fail}),
        )

    def dead_letters() -> list[Any]:
        return sqs.receive_message(
            QueueUrl=runtime.queue_urls["WorkDeadLetterQueue"],
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
        ).get("Messages", [])

    dead = eventually(dead_letters)
    assert [json.loads(message["Body"])["id"] for message in dead] == [f"{run}-bad"]

    def seen(name: str) -> int:
        item = table.get_item(Key={"pk": f"seen#{run}-{name}", "sk": "-"}).get("Item", {})
        return int(str(item.get("seen", 0)))

    assert seen("bad") == 2  # maxReceiveCount
    assert seen("good-1") == seen("good-2") == 1
    counts = sqs.get_queue_attributes(
        QueueUrl=runtime.queue_urls["WorkQueue"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert counts == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


def test_an_idle_poller_asks_sqs_nothing_and_a_message_wakes_it(runtime: LocalRuntime, eventually):
    sqs = boto3.client("sqs")
    table = boto3.resource("dynamodb").Table(runtime.table_names["Table"])
    run = uuid.uuid4().hex[:8]
    with AwsCallMeter({}).counting() as meter:
        # Two seconds of an empty queue: a long poll of 1 s would have asked twice.
        threading.Event().wait(2 * sqs_pollers._WAIT_SECONDS)
        idle = meter.by_operation("sqs")[(RUNTIME, "ReceiveMessage")]
        sqs.send_message(
            QueueUrl=runtime.queue_urls["WorkQueue"], MessageBody=json.dumps({"id": run})
        )
        eventually(lambda: table.get_item(Key={"pk": f"seen#{run}", "sk": "-"}).get("Item"))
        woken = meter.by_operation("sqs")[(RUNTIME, "ReceiveMessage")]
    assert idle == 0
    assert woken == 1  # the message received at once, in one call


# --- HTTP -------------------------------------------------------------------------------


def test_an_http_request_becomes_a_payload_2_event_for_the_right_function(runtime: LocalRuntime):
    status, headers, body = http(
        runtime,
        "GET",
        "/items/a%20b?x=1&y=2&x=3&empty=",
        headers={"Cookie": "session=abc; theme=dark", "X-Custom": "Yes", "User-Agent": "t/1"},
    )
    assert status == 200
    assert headers["x-route"] == ["GET /items/{id}"]
    assert headers["set-cookie"] == ["session=abc; Path=/", "theme=dark"]
    event = json.loads(body)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/a%20b"
    assert event["rawQueryString"] == "x=1&y=2&x=3&empty="
    assert event["queryStringParameters"] == {"x": "1,3", "y": "2", "empty": ""}
    assert event["pathParameters"] == {"id": "a b"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["headers"]["x-custom"] == "Yes"
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/items/a%20b",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "t/1",
    }
    assert context["stage"] == "$default"
    assert context["routeKey"] == "GET /items/{id}"
    assert context["accountId"] == "123456789012"
    assert {"requestId", "time", "timeEpoch", "domainName", "apiId"} <= set(context)


def test_a_literal_route_beats_a_parameter_and_greedy_paths_match_deep(runtime: LocalRuntime):
    assert json.loads(http(runtime, "GET", "/items/special")[2]) == {"special": True}
    status, _, body = http(runtime, "DELETE", "/files/a/b/c%2525.txt")
    assert status == 200
    event = json.loads(body)
    assert event["routeKey"] == "ANY /files/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b/c%25.txt"}  # decoded once


def test_bodies_are_text_when_textual_and_base64_otherwise(runtime: LocalRuntime):
    text = http(
        runtime,
        "POST",
        "/upload",
        body=b'{"a": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert text[0] == 201
    assert json.loads(text[2])["body"] == '{"a": 1}'
    assert json.loads(text[2])["isBase64Encoded"] is False

    binary = b"\x89PNG\x00\xff"
    _status, _, body = http(
        runtime, "POST", "/upload", body=binary, headers={"Content-Type": "image/png"}
    )
    event = json.loads(body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == binary


def test_answers_map_back_as_api_gateway_maps_them(runtime: LocalRuntime):
    status, headers, body = http(runtime, "GET", "/files/x.bin")
    assert (status, headers["content-type"], body) == (
        200,
        ["application/octet-stream"],
        b"\x00\x01binary",
    )
    status, headers, body = http(runtime, "GET", "/plain")
    assert (status, headers["content-type"], body) == (200, ["application/json"], b"just text")


def test_unknown_routes_are_404_and_a_raising_handler_is_500(runtime: LocalRuntime):
    assert http(runtime, "GET", "/nowhere")[:3:2] == (404, b'{"message": "Not Found"}')
    assert http(runtime, "POST", "/items/1")[0] == 404  # only GET is routed there
    assert http(runtime, "GET", "/boom")[:3:2] == (500, b'{"message": "Internal Server Error"}')


# --- SES outbox -------------------------------------------------------------------------


def test_every_way_of_sending_email_lands_in_the_outbox(runtime: LocalRuntime):
    marker = uuid.uuid4().hex[:8]
    link = f"{runtime.http_url}/tasks/{marker}"
    boto3.client("ses").send_email(
        Source=f"Izin <{MAIL_FROM}>",
        Destination={"ToAddresses": ["kasi@dinas.example"], "CcAddresses": ["op@dinas.example"]},
        ReplyToAddresses=["balas@dinas.example"],
        Message={
            "Subject": {"Data": f"v1 simple {marker}"},
            "Body": {
                "Text": {"Data": f"Open {link}"},
                "Html": {"Data": f"<p><a href='{link}'>Open</a></p>"},
            },
        },
    )
    raw = EmailMessage()
    raw["From"] = MAIL_FROM
    raw["To"] = "kabid@dinas.example"
    raw["Subject"] = f"v1 raw {marker}"
    raw.set_content("raw text")
    raw.add_alternative("<b>raw html</b>", subtype="html")
    boto3.client("ses").send_raw_email(RawMessage={"Data": raw.as_bytes()})
    boto3.client("sesv2").send_email(
        FromEmailAddress=MAIL_FROM,
        Destination={"ToAddresses": ["kadis@dinas.example"]},
        Content={
            "Simple": {
                "Subject": {"Data": f"v2 simple {marker}"},
                "Body": {"Text": {"Data": "v2 text"}, "Html": {"Data": "<i>v2 html</i>"}},
            }
        },
    )

    mine = [message for message in runtime.outbox.messages() if marker in message.subject]
    assert [message.subject for message in mine] == [
        f"v2 simple {marker}",
        f"v1 raw {marker}",
        f"v1 simple {marker}",
    ]
    v2, v1_raw, v1 = mine
    assert (v1.to, v1.cc, v1.text, v1.links) == (
        ("kasi@dinas.example",),
        ("op@dinas.example",),
        f"Open {link}\n",
        (link,),
    )
    assert v1.html is not None and link in v1.html
    assert v1.message_id.endswith("@email.amazonses.com>") and v1.date is not None
    assert (v1_raw.to, v1_raw.html, v1_raw.message_id != "") == (
        ("kabid@dinas.example",),
        "<b>raw html</b>\n",
        True,
    )
    assert (v2.to, v2.text, v2.html) == (("kadis@dinas.example",), "v2 text\n", "<i>v2 html</i>\n")

    parsed = email.message_from_bytes(v1.path.read_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Reply-To"] == "balas@dinas.example"
    assert v1.path.suffix == ".eml" and v1.path.parent == runtime.state_dir / "outbox"

    status, _, page = http(runtime, "GET", "/_local/outbox")
    text = page.decode()
    assert status == 200
    assert text.index(f"v2 simple {marker}") < text.index(f"v1 simple {marker}")
    assert f"href='{link}'" in text
    status, _headers, shown = http(runtime, "GET", f"/_local/outbox/{v1.name}")
    assert status == 200 and link in shown.decode()
    assert http(runtime, "GET", "/_local/outbox/..%2Fsecret.eml")[0] == 404


def test_an_unverified_sender_is_refused_as_ses_does(runtime: LocalRuntime):
    with pytest.raises(ClientError, match="not verified"):
        boto3.client("ses").send_email(
            Source="someone@elsewhere.example",
            Destination={"ToAddresses": ["kasi@dinas.example"]},
            Message={"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}},
        )


# --- simulators and tools ---------------------------------------------------------------


def test_the_simulators_answer_record_and_show_what_they_received(runtime: LocalRuntime):
    assert runtime.siinas is not None and runtime.oss is not None
    siinas = _post_json(f"{runtime.siinas.url}/verifikasi-teknis/IZ-1/bap", {"nomor_bap": "1"})
    oss = _post_json(f"{runtime.oss.url}/receiveLicenseStatus", {"IZINSTATUS": {"nib": "1"}})
    assert siinas[0] == 201 and siinas[1]["status"] == "diterima" and siinas[1]["id_unggah"]
    assert oss == (200, {"responreceiveLicenseStatus": {"kode": 200, "keterangan": "Sukses"}})
    assert runtime.siinas.requests[-1].json == {"nomor_bap": "1"}
    assert runtime.oss.requests[-1].path == "/receiveLicenseStatus"

    _status, _, page = http(runtime, "GET", "/_local/simulators?format=json")
    shown = json.loads(page)
    assert shown["siinas"][-1]["path"] == "/verifikasi-teknis/IZ-1/bap"
    assert shown["oss"][-1]["json"] == {"IZINSTATUS": {"nib": "1"}}
    assert "verifikasi-teknis/IZ-1/bap" in http(runtime, "GET", "/_local/simulators")[2].decode()


def _post_json(url: str, payload: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_the_aws_cli_sees_the_state_machine(runtime: LocalRuntime):
    aws = Path(sys.executable).parent / "aws"
    completed = subprocess.run(
        [str(aws), "--endpoint-url", runtime.aws_endpoint, "stepfunctions", "list-state-machines"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    names = [machine["name"] for machine in json.loads(completed.stdout)["stateMachines"]]
    assert names == ["izin-local-flow"]
