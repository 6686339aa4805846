"""Each moto patch of the local runtime: moto's behaviour as shipped, and with the patch.

A test asserting moto's own behaviour fails the day moto fixes it: then the patch can go.
"""

import copy
import http.server
import importlib
import json
import socket
import socketserver
import sys
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st
from izin_local import moto_patches
from izin_local.moto_server import MotoServer, reset_moto_state

REGION = "ap-southeast-3"


def _session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION
    )


@pytest.fixture
def patched(request: pytest.FixtureRequest) -> Iterator[None]:
    """Apply the patch named by the test's parameter for the test's duration."""
    undo = request.param()
    yield
    undo()


# --- (1) Lambda code runs in-process -----------------------------------------------------


def test_lambda_invocations_reach_the_in_process_runner(moto_server: MotoServer):
    calls: list[tuple[str, Any]] = []

    def invoke(name: str, event: Any) -> tuple[str, bool]:
        calls.append((name, event))
        if event.get("fail"):
            return json.dumps({"errorType": "Nope", "errorMessage": "no"}), True
        return json.dumps({"echo": event}), False

    session = _session()
    role = session.client("iam", endpoint_url=moto_server.endpoint).create_role(
        RoleName="r", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    client = session.client("lambda", endpoint_url=moto_server.endpoint)
    client.create_function(
        FunctionName="fn",
        Runtime="python3.12",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    undo = moto_patches.route_lambda_invocations(invoke)
    try:
        answer = client.invoke(FunctionName="fn", Payload=json.dumps({"a": 1}))
        failed = client.invoke(FunctionName="fn", Payload=json.dumps({"fail": True}))
    finally:
        undo()
    assert json.loads(answer["Payload"].read()) == {"echo": {"a": 1}}
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "Nope"
    assert calls == [("fn", {"a": 1}), ("fn", {"fail": True})]


# --- (2) conditional writes are atomic ---------------------------------------------------


def test_racing_conditional_updates_have_exactly_one_winner(moto_server: MotoServer):
    """8 threads × one conditional update, many trials: one winner, the rest refused."""
    threads, trials = 8, 120
    session = _session()
    setup = session.client("dynamodb", endpoint_url=moto_server.endpoint)
    setup.create_table(
        TableName="race",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    clients = [session.client("dynamodb", endpoint_url=moto_server.endpoint) for _ in range(8)]

    def race(pk: str) -> list[str]:
        barrier = threading.Barrier(threads)

        def contender(index: int) -> str:
            barrier.wait()
            try:
                clients[index].update_item(
                    TableName="race",
                    Key={"pk": {"S": pk}},
                    UpdateExpression="SET #s = :done, winner = :me",
                    ConditionExpression="#s = :open",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={
                        ":done": {"S": "DONE"},
                        ":open": {"S": "OPEN"},
                        ":me": {"N": str(index)},
                    },
                )
                return "won"
            except ClientError as error:
                return error.response["Error"]["Code"]

        with ThreadPoolExecutor(threads) as pool:
            return sorted(pool.map(contender, range(threads)))

    undo = moto_patches.serialize_dynamodb_writes()
    # Switching threads very often is what makes a check-then-write gap show in a few trials.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        outcomes = []
        for trial in range(trials):
            setup.put_item(
                TableName="race", Item={"pk": {"S": f"t{trial}"}, "status": {"S": "OPEN"}}
            )
            outcomes.append(race(f"t{trial}"))
    finally:
        sys.setswitchinterval(interval)
        undo()
    expected = ["ConditionalCheckFailedException"] * (threads - 1) + ["won"]
    assert [outcome for outcome in outcomes if outcome != expected] == []


# --- (3) an early SendTaskSuccess reaches a heartbeat task -------------------------------


def _early_outcome_is_heard() -> bool:
    from moto.stepfunctions.parser.asl.eval.callback.callback import (
        CallbackEndpoint,
        CallbackOutcomeSuccess,
    )

    endpoint = CallbackEndpoint(callback_id="token")
    # SendTaskSuccess arrives while the task's own Lambda call is still running...
    endpoint.notify(CallbackOutcomeSuccess(callback_id="token", output="{}"))
    # ...and only then does the task set up its heartbeat and wait.
    heartbeat = endpoint.setup_heartbeat_endpoint(heartbeat_seconds=0.2)  # type: ignore[arg-type]
    return heartbeat.clear_and_wait()


def test_moto_loses_an_outcome_sent_before_the_heartbeat_wait():
    assert _early_outcome_is_heard() is False


@pytest.mark.parametrize(
    "patched", [moto_patches.deliver_early_callbacks_to_heartbeat], indirect=True
)
def test_with_the_patch_an_early_outcome_ends_the_heartbeat_wait(patched: None):
    assert _early_outcome_is_heard() is True


# --- (4) SendTask* ignores executions without a worker -----------------------------------


def _send_task_success_beside_an_execution_without_worker(*, status: bool = True) -> Exception:
    """SendTaskSuccess while an execution has no worker yet (or, `status` False, no status
    yet either: being constructed)."""
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    backend = StepFunctionsParserBackend(REGION, "123456789012")
    machine = backend.create_state_machine(
        name="m",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/r",
    )

    class Starting:
        status = Execution.status  # moto's own property: exec_status.value

        def __init__(self) -> None:
            self.exec_status = ExecutionStatus.RUNNING if status else None
            self.exec_worker = None

    machine.executions.append(Starting())  # type: ignore[arg-type]
    try:
        backend.send_task_success(task_token="unknown-token", outcome="{}")
    except Exception as error:
        return error
    raise AssertionError("an unknown token was accepted")


def test_moto_crashes_on_an_execution_without_worker():
    assert isinstance(_send_task_success_beside_an_execution_without_worker(), AttributeError)


def test_moto_crashes_on_an_execution_without_status():
    error = _send_task_success_beside_an_execution_without_worker(status=False)
    assert isinstance(error, AttributeError) and "value" in str(error)


@pytest.mark.parametrize("patched", [moto_patches.skip_executions_without_worker], indirect=True)
@pytest.mark.parametrize("status", [True, False])
def test_with_the_patch_an_unknown_token_is_just_invalid(patched: None, status: bool):
    error = _send_task_success_beside_an_execution_without_worker(status=status)
    assert type(error).__name__ == "InvalidToken"


# --- (5) one boto3 client per (region, service) in the interpreter -----------------------


def _interpreter_modules_holding_boto_client_for() -> list[types.ModuleType]:
    return [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("moto.stepfunctions.parser.") and hasattr(module, "boto_client_for")
    ]


def _lambda_tasks_reuse_their_client() -> bool:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    first = lambda_eval_utils.boto_client_for(REGION, "lambda")
    return first is lambda_eval_utils.boto_client_for(REGION, "lambda")


def test_moto_makes_a_new_client_for_every_task():
    assert _lambda_tasks_reuse_their_client() is False


@pytest.mark.parametrize("patched", [moto_patches.cache_interpreter_clients], indirect=True)
def test_with_the_patch_every_task_module_reuses_one_client_per_service(patched: None):
    assert _lambda_tasks_reuse_their_client() is True
    holders = _interpreter_modules_holding_boto_client_for()
    assert len(holders) >= 10  # lambda, sqs, sns, dynamodb, sfn, aws-sdk, events...
    assert len({id(module.boto_client_for) for module in holders}) == 1
    sqs = holders[0].boto_client_for(REGION, "sqs")
    assert sqs is not holders[0].boto_client_for(REGION, "lambda")
    assert sqs is holders[-1].boto_client_for(REGION, "sqs")


class _ClosesFirstConnection(socketserver.ThreadingTCPServer):
    """An endpoint that closes its first connection unanswered, as a server closing an idle
    kept connection just as a request is sent on it; then answers Invoke."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.connections = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.connections += 1
                if server.connections == 1:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def _invoke_through_an_interpreter_client(monkeypatch: pytest.MonkeyPatch) -> Any:
    endpoint = _ClosesFirstConnection()
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    monkeypatch.setenv("MOTO_PORT", str(endpoint.server_address[1]))
    try:
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
            lambda_eval_utils,
        )

        client: Any = lambda_eval_utils.boto_client_for(REGION, "lambda")
        return json.loads(client.invoke(FunctionName="f", Payload=b"{}")["Payload"].read())
    except Exception as error:
        return error
    finally:
        endpoint.shutdown()
        endpoint.server_close()


def test_moto_s_interpreter_client_fails_on_a_connection_closed_under_it(
    monkeypatch: pytest.MonkeyPatch,
):
    answer = _invoke_through_an_interpreter_client(monkeypatch)
    assert type(answer).__name__ == "ConnectionClosedError"


@pytest.mark.parametrize("patched", [moto_patches.cache_interpreter_clients], indirect=True)
def test_with_the_patch_a_connection_closed_under_a_task_is_tried_again(
    patched: None, monkeypatch: pytest.MonkeyPatch
):
    assert _invoke_through_an_interpreter_client(monkeypatch) == {"ok": True}


def test_every_patch_is_undone(moto_server: MotoServer):
    from moto.awslambda.models import LambdaFunction
    from moto.dynamodb.models import DynamoDBBackend

    before = (LambdaFunction._invoke_lambda, DynamoDBBackend.update_item)
    undo = moto_patches.apply_all(lambda name, event: ("null", False))
    assert (LambdaFunction._invoke_lambda, DynamoDBBackend.update_item) != before
    undo()
    assert (LambdaFunction._invoke_lambda, DynamoDBBackend.update_item) == before
    reset_moto_state()


# --- DynamoDB: one partition per Query, answers written as JSON ---------------------------


def _table(name: str, sort_key_type: Literal["S", "N"] = "S") -> Any:
    """A DynamoDB client and a new table of it, keyed by pk (text) and sk."""
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": sort_key_type},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def _dynamodb_world() -> Any:
    client = _table("t")
    for partition, count in (("A", 3), ("B", 40)):
        for n in range(count):
            client.put_item(
                TableName="t",
                Item={
                    "pk": {"S": partition},
                    "sk": {"S": f"{n:03d}"},
                    "n": {"N": str(n)},
                    "tags": {"SS": ["x", "y"]},
                    "sizes": {"NS": ["1", "2.5"]},
                    "nested": {"M": {"l": {"L": [{"BOOL": True}, {"NULL": True}]}}},
                },
            )
    client.put_item(  # binary values, which moto's own path writes
        TableName="t",
        Item={
            "pk": {"S": "C"},
            "sk": {"S": "000"},
            "blob": {"B": b"\x00\xff"},
            "nested": {"M": {"blobs": {"BS": [b"a", b"\x01"]}, "s": {"S": "x"}}},
        },
    )
    return client


def _operations(client: Any) -> list[Any]:
    """Answers of the operations the product uses, as botocore parses them."""
    answers = [
        client.query(
            TableName="t",
            KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues={":p": {"S": "A"}, ":s": {"S": "00"}},
        ),
        client.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "B"}},
            Limit=5,
            ScanIndexForward=False,
        ),
        client.query(  # a projection: moto copies what it projects
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "A"}},
            ProjectionExpression="sk, nested",
        ),
        client.get_item(TableName="t", Key={"pk": {"S": "A"}, "sk": {"S": "001"}}),
        client.get_item(TableName="t", Key={"pk": {"S": "none"}, "sk": {"S": "x"}}),
        client.update_item(
            TableName="t",
            Key={"pk": {"S": "A"}, "sk": {"S": "002"}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="ALL_NEW",
        ),
        client.batch_get_item(
            RequestItems={"t": {"Keys": [{"pk": {"S": "B"}, "sk": {"S": "007"}}]}}
        ),
    ]
    for answer in answers:
        answer.pop("ResponseMetadata", None)
    return answers


def test_a_query_reads_only_its_partition_with_the_same_answer(monkeypatch):
    from moto import mock_aws
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table

    walks: list[str] = []
    copies: list[str] = []
    original_all_items, original_copy = Table.all_items, Item.__deepcopy__

    def counting_all_items(self: Any) -> Any:
        walks.append(self.name)
        return original_all_items(self)

    def counting_copy(self: Any, memo: Any) -> Any:
        copies.append(self.hash_key.value)
        return original_copy(self, memo)

    monkeypatch.setattr(Table, "all_items", counting_all_items)
    monkeypatch.setattr(Item, "__deepcopy__", counting_copy)
    with mock_aws():
        client = _dynamodb_world()
        walks.clear()
        copies.clear()
        as_shipped = _operations(client)
        assert walks, "moto as shipped walks the whole table for a Query"
        shipped_copies = list(copies)
        assert shipped_copies.count("B") >= 5, "and copies each item it answers"

    with mock_aws():
        client = _dynamodb_world()
        undo = moto_patches.query_one_partition()
        try:
            walks.clear()
            copies.clear()
            patched = _operations(client)
        finally:
            undo()
    assert walks == []
    # The two queries without a projection copy nothing (3 items of A, 5 of B); the
    # projected one, the update and the batch read copy as before.
    assert len(copies) == len(shipped_copies) - 8 and copies.count("A") >= 3, copies
    assert patched == as_shipped


def test_dynamodb_answers_written_as_json_are_what_moto_s_serializer_writes(monkeypatch):
    from moto import mock_aws
    from moto.core.serialize import ResponseSerializer
    from moto.dynamodb import responses

    serialized: list[str] = []
    original_serialize = ResponseSerializer.serialize
    converted: list[Any] = []
    original_to_dict = responses.dynamo_to_dict

    def counting_serialize(self: Any, result: Any) -> Any:
        serialized.append(type(self).__name__)
        return original_serialize(self, result)

    def counting_to_dict(value: Any) -> Any:
        converted.append(value)
        return original_to_dict(value)

    monkeypatch.setattr(ResponseSerializer, "serialize", counting_serialize)
    monkeypatch.setattr(responses, "dynamo_to_dict", counting_to_dict)
    binary_key = {"pk": {"S": "C"}, "sk": {"S": "000"}}
    with mock_aws():
        client = _dynamodb_world()
        as_shipped = _operations(client)
        binary_as_shipped = client.get_item(TableName="t", Key=binary_key)["Item"]
    assert serialized and converted

    with mock_aws():
        client = _dynamodb_world()
        undo = moto_patches.serialize_dynamodb_results_as_json()
        try:
            serialized.clear()
            converted.clear()
            patched = _operations(client)
            assert serialized == [] and converted == []
            binary = client.get_item(TableName="t", Key=binary_key)["Item"]
        finally:
            undo()
    assert patched == as_shipped
    # Binary values take moto's own conversion and serializer, and come out the same.
    assert binary == binary_as_shipped
    assert binary["blob"] == {"B": b"\x00\xff"}
    assert binary["nested"]["M"]["blobs"] == {"BS": [b"a", b"\x01"]}
    assert serialized and converted
    assert responses.dynamo_to_dict is counting_to_dict  # undone


def test_dynamodb_answers_leave_out_members_that_are_none_as_moto_s_serializer_does():
    from moto.dynamodb.models.dynamo_type import DynamoType

    convert = moto_patches._wire_shapes(lambda value: {"moto's own": repr(value)})
    answer = {
        "Item": {"s": DynamoType({"S": "x"}), "m": DynamoType({"M": {"n": {"N": "1"}}})},
        "LastEvaluatedKey": None,
        "Items": [None, {"a": None}],
    }
    assert convert(answer) == {
        "Item": {"s": {"S": "x"}, "m": {"M": {"n": {"N": "1"}}}},
        "Items": [None, {}],
    }
    assert convert(DynamoType({"B": "AAE="})) == {"moto's own": "DynamoType: {'B': 'AAE='}"}


def test_moto_keeps_no_model_instance_it_no_longer_holds():
    from moto import mock_aws
    from moto.dynamodb.models.dynamo_type import Item

    def written_and_tracked() -> tuple[dict[str, Any], int]:
        with mock_aws():
            client = _dynamodb_world()
            before = len(Item.instances_tracked)  # type: ignore[attr-defined]
            for n in range(20):
                client.put_item(
                    TableName="t", Item={"pk": {"S": "A"}, "sk": {"S": "1"}, "n": {"N": str(n)}}
                )
            tracked = len(Item.instances_tracked) - before  # type: ignore[attr-defined]
            return client.get_item(TableName="t", Key={"pk": {"S": "A"}, "sk": {"S": "1"}})[
                "Item"
            ], tracked

    as_shipped, shipped_tracked = written_and_tracked()
    assert shipped_tracked >= 20, "moto as shipped keeps every item it ever made"
    undo = moto_patches.stop_tracking_model_instances()
    try:
        patched, tracked = written_and_tracked()
    finally:
        undo()
    assert tracked == 0
    assert patched == as_shipped == {"pk": {"S": "A"}, "sk": {"S": "1"}, "n": {"N": "19"}}


# --- Step Functions: the definition and its JSONPaths parsed once ---------------------------

_TWO_PASSES = json.dumps(
    {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "InputPath": "$.a", "ResultPath": "$.b", "Next": "Then"},
            "Then": {"Type": "Pass", "InputPath": "$.b", "End": True},
        },
    }
)


def _run_three_executions() -> list[str]:
    from moto import mock_aws

    outputs = []
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="r", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        machine = sfn.create_state_machine(name="m", definition=_TWO_PASSES, roleArn=role)
        for n in range(3):
            arn = sfn.start_execution(
                stateMachineArn=machine["stateMachineArn"], name=f"e{n}", input='{"a": {"n": 1}}'
            )["executionArn"]
            for _ in range(200):
                described = sfn.describe_execution(executionArn=arn)
                if described["status"] != "RUNNING":
                    break
                threading.Event().wait(0.02)
            outputs.append(f"{described['status']} {described.get('output')}")
    return outputs


def test_each_definition_and_json_path_is_parsed_once(monkeypatch):
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.utils import json_path

    parses: list[str] = []
    paths: list[str] = []
    original_parse = AmazonStateLanguageParser.parse

    def counting_parse(text: str) -> Any:
        parses.append("asl")
        return original_parse(text)

    def counting(module: Any) -> Callable[[str], Any]:
        original = module.parse

        def counted(path: str) -> Any:
            paths.append(f"{module.__name__.rpartition('.')[2]} {path}")
            return original(path)

        return counted

    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(counting_parse))
    # InputPath through moto's json_path module, ResultPath through jsonpath_ng's own parse.
    monkeypatch.setattr(json_path, "parse", counting(json_path))
    monkeypatch.setattr(result_path, "parse", counting(result_path))

    as_shipped = _run_three_executions()
    shipped_parses, shipped_paths = len(parses), list(paths)
    parses.clear()
    paths.clear()
    undo = [
        moto_patches.parse_each_definition_once(parsed={}),
        moto_patches.parse_each_json_path_once(),
    ]
    try:
        patched = _run_three_executions()
    finally:
        for step in reversed(undo):
            step()
    assert patched == as_shipped == ['SUCCEEDED {"n": 1}'] * 3
    # create_state_machine validates by parsing once; then each execution parsed it again.
    # Patched, the validation's parse is the one every execution uses.
    assert shipped_parses == 4 and len(parses) == 1
    # As shipped, each of the three executions parsed each path; patched, each path once.
    # (ResultPath "$" is the second state's, by default.)
    each_path = ["json_path $.a", "json_path $.b", "result_path $", "result_path $.b"]
    assert sorted(set(shipped_paths)) == sorted(paths) == each_path
    assert len(shipped_paths) == 3 * len(paths)


def test_a_definition_that_does_not_parse_is_still_refused_and_not_kept():
    from moto import mock_aws

    kept: dict[str, Any] = {}
    broken = _TWO_PASSES.replace('"Type": "Pass"', '"Type": "Passage"', 1)
    undo = moto_patches.parse_each_definition_once(parsed=kept)
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            sfn = boto3.client("stepfunctions", region_name=REGION)
            with pytest.raises(ClientError, match="Passage"):
                sfn.create_state_machine(
                    name="m", definition=broken, roleArn="arn:aws:iam::123456789012:role/r"
                )
    finally:
        undo()
    assert kept == {}


def test_moto_lists_its_package_folder_at_every_request_and_the_patch_once(
    moto_server: MotoServer, monkeypatch
):
    import os

    listed: list[str] = []
    original_listdir = os.listdir

    def counting_listdir(path: Any = ".") -> list[str]:
        listed.append(str(path))
        return original_listdir(path)

    def requests(count: int) -> int:
        """How many times moto's package folder was listed for `count` requests."""
        listed.clear()
        client = _session().client("sqs", endpoint_url=moto_server.endpoint)
        for _ in range(count):
            client.list_queues()
        return sum(1 for path in listed if path.rstrip("/").endswith("moto"))

    monkeypatch.setattr(os, "listdir", counting_listdir)
    assert requests(3) >= 3
    undo = moto_patches.list_moto_modules_once()
    try:
        assert requests(3) == 0
        from moto import backends

        assert "sqs" in backends.list_of_moto_modules()  # the same answer, listed once
    finally:
        undo()


def test_moto_inspects_a_service_s_class_at_every_request_and_the_patch_once(
    moto_server: MotoServer, monkeypatch
):
    import inspect

    inspected: list[str] = []
    original_getmembers = inspect.getmembers

    def counting_getmembers(value: Any, predicate: Any = None) -> Any:
        inspected.append(getattr(value, "__name__", ""))
        return original_getmembers(value, predicate)

    def requests(count: int) -> int:
        """How many times the SQS response class was inspected for `count` requests."""
        inspected.clear()
        client = _session().client("sqs", endpoint_url=moto_server.endpoint)
        for _ in range(count):
            client.list_queues()
        return inspected.count("SQSResponse")

    monkeypatch.setattr(inspect, "getmembers", counting_getmembers)
    assert requests(3) == 3
    undo = moto_patches.list_action_methods_once()
    try:
        assert requests(3) <= 1
        client = _session().client("sqs", endpoint_url=moto_server.endpoint)
        url = client.create_queue(QueueName="q")["QueueUrl"]  # actions still dispatched
        assert client.list_queues()["QueueUrls"] == [url]
        with pytest.raises(ClientError):
            client.get_queue_url(QueueName="none")
    finally:
        undo()


# --- S3 holds a browser upload (presigned POST) to its policy ----------------------------


def _post_file(url: str, fields: dict[str, str], content: bytes) -> tuple[int, str]:
    """A browser's multipart upload of one file with the form's fields."""
    from izin_local.officer import upload_file

    hidden = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    page = f'<form method="post" action="{url}" enctype="multipart/form-data">{hidden}</form>'
    return upload_file(page, "foto.jpg", content)


def test_a_browser_upload_is_held_to_its_post_policy(moto_server: MotoServer):
    s3 = _session().client("s3", endpoint_url=moto_server.endpoint)
    s3.create_bucket(
        Bucket="izin-docs", CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"}
    )
    prefix = "applications/IP-1/lampiran/10/" + "a" * 32 + "/"

    def form(**changed: Any) -> tuple[str, dict[str, str]]:
        post = s3.generate_presigned_post(
            "izin-docs",
            prefix + "${filename}",
            Conditions=[["starts-with", "$key", prefix], ["content-length-range", 1, 100]],
            ExpiresIn=changed.pop("expires", 60),
        )
        return post["url"], {**post["fields"], **changed}

    photo, large = b"\xff\xd8\xff" + b"x" * 50, b"\xff\xd8\xff" + b"x" * 200

    def kept() -> list[str]:
        return [o["Key"] for o in s3.list_objects_v2(Bucket="izin-docs").get("Contents", [])]

    # As shipped, moto takes a file over the policy's size limit, and any key.
    url, fields = form()
    assert _post_file(url, fields, large)[0] == 204
    assert _post_file(url, {**fields, "key": "elsewhere/${filename}"}, photo)[0] == 204
    assert kept() == [
        "applications/IP-1/lampiran/10/" + "a" * 32 + "/foto.jpg",
        "elsewhere/foto.jpg",
    ]
    s3.delete_objects(Bucket="izin-docs", Delete={"Objects": [{"Key": k} for k in kept()]})

    undo = moto_patches.enforce_post_policies()
    try:
        status, answer = _post_file(url, fields, large)
        assert status == 400 and "EntityTooLarge" in answer
        status, answer = _post_file(url, {**fields, "key": "elsewhere/${filename}"}, photo)
        assert status == 403 and "Policy Condition failed" in answer
        status, answer = _post_file(url, {**fields, "acl": "public-read"}, photo)
        assert status == 403 and "Extra input fields: acl" in answer
        expired_url, expired = form(expires=-10)
        status, answer = _post_file(expired_url, expired, photo)
        assert status == 403 and "Policy expired" in answer
        assert kept() == []
        assert _post_file(url, fields, photo)[0] == 204
        assert kept() == [prefix + "foto.jpg"]
    finally:
        undo()


# --- DynamoDB: a transaction backs up its items, not its tables ---------------------------


def _transact(client: Any, *, fail: bool) -> None:
    """An update of A/001 (in place), a new item, and a check on A/002 that holds or not."""
    client.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"pk": {"S": "A"}, "sk": {"S": "001"}},
                    "UpdateExpression": "SET n = :n, tags = :t",
                    "ExpressionAttributeValues": {":n": {"N": "99"}, ":t": {"SS": ["z"]}},
                }
            },
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "C"}, "sk": {"S": "new"}}}},
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"pk": {"S": "A"}, "sk": {"S": "002"}},
                    "UpdateExpression": "SET m = :one",
                    "ConditionExpression": "n = :n",
                    "ExpressionAttributeValues": {
                        ":one": {"N": "1"},
                        ":n": {"N": "-1" if fail else "2"},
                    },
                }
            },
        ]
    )


def _table_state(client: Any) -> list[Any]:
    return sorted((client.scan(TableName="t")["Items"]), key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


@pytest.mark.parametrize("fail", [True, False])
def test_a_transaction_backs_up_only_its_items_with_the_same_outcome(monkeypatch, fail: bool):
    from moto import mock_aws
    from moto.dynamodb.models.table import Table

    copied: list[str] = []
    deepcopy = copy.deepcopy

    def counting(value: Any, memo: Any = None) -> Any:  # every deep copy of a table, anywhere
        if isinstance(value, Table):
            copied.append(value.name)
        return deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", counting)
    outcomes = []
    for patch in (None, moto_patches.back_up_transaction_items_only):
        with mock_aws():
            client = _dynamodb_world()
            before = _table_state(client)
            undo = patch() if patch else None
            copied.clear()
            try:
                error, reasons = "", []
                try:
                    _transact(client, fail=fail)
                except ClientError as cancelled:
                    error = cancelled.response["Error"]["Code"]
                    reasons = [r["Code"] for r in cancelled.response["CancellationReasons"]]
                after = _table_state(client)
            finally:
                if undo:
                    undo()
            outcomes.append((error, reasons, after, list(copied)))
            assert (after == before) is fail
    (shipped_error, shipped_reasons, shipped_after, shipped_copies), patched = outcomes
    assert shipped_copies == ["t", "t", "t"], "moto as shipped copies the table per write"
    assert patched == (shipped_error, shipped_reasons, shipped_after, [])


def test_each_update_expression_is_parsed_once_with_the_same_items(monkeypatch):
    from moto import mock_aws

    # By name: the module opts out of type checking, its classes unknown to mypy.
    parser = importlib.import_module("moto.dynamodb.parsing.expressions").UpdateExpressionParser
    parsed: list[str] = []
    make = parser.make.__func__

    def counting(cls: Any, expression: str) -> Any:
        parsed.append(expression)
        return make(cls, expression)

    monkeypatch.setattr(parser, "make", classmethod(counting))
    bump = "SET n = n + :one, tags = :t REMOVE nested"
    outcomes = []
    for patch in (None, moto_patches.parse_each_update_expression_once):
        with mock_aws():
            client = _dynamodb_world()
            undo = patch() if patch else None
            parsed.clear()
            try:
                for n in range(3):
                    client.update_item(
                        TableName="t",
                        Key={"pk": {"S": "A"}, "sk": {"S": "001"}},
                        UpdateExpression=bump,
                        ExpressionAttributeValues={":one": {"N": "1"}, ":t": {"SS": [f"v{n}"]}},
                    )
                _transact(client, fail=False)
                for _ in range(2):  # refused each time: a broken expression is not kept
                    with pytest.raises(ClientError, match="Invalid UpdateExpression"):
                        client.update_item(
                            TableName="t",
                            Key={"pk": {"S": "A"}, "sk": {"S": "000"}},
                            UpdateExpression="SET = :x",
                            ExpressionAttributeValues={":x": {"N": "1"}},
                        )
                after = _table_state(client)
            finally:
                if undo:
                    undo()
            outcomes.append((after, list(parsed)))
    (shipped_after, shipped), (patched_after, patched) = outcomes
    assert patched_after == shipped_after
    assert next(i for i in shipped_after if i["sk"]["S"] == "001")["n"] == {"N": "99"}
    transaction = ["SET n = :n, tags = :t", "SET m = :one"]
    # As shipped, every update parses its expression twice (the response layer, the backend).
    assert sorted(shipped) == sorted([bump] * 6 + transaction * 2 + ["SET = :x"] * 2), (
        "moto as shipped parses each update's expression twice"
    )
    assert sorted(patched) == sorted([bump, *transaction] + ["SET = :x"] * 2)


def test_each_condition_is_parsed_once_with_the_values_it_uses(monkeypatch):
    from moto import mock_aws
    from moto.dynamodb.comparisons import ConditionExpressionParser

    parsed: list[str] = []
    parse = ConditionExpressionParser.parse

    def counting(self: Any) -> Any:
        parsed.append(self.condition_expression)
        return parse(self)

    monkeypatch.setattr(ConditionExpressionParser, "parse", counting)
    version = "attribute_exists(pk) AND n = :n"
    outcomes = []
    for patch in (None, moto_patches.parse_each_condition_once):
        with mock_aws():
            client = _dynamodb_world()
            undo = patch() if patch else None
            parsed.clear()
            refused = []
            try:
                for n, stamp in ((1, "a"), (1, "b"), (2, "c"), (1, "d")):
                    # The same condition with another update value (:s), then another :n.
                    try:
                        client.update_item(
                            TableName="t",
                            Key={"pk": {"S": "A"}, "sk": {"S": "001"}},
                            UpdateExpression="SET s = :s",
                            ConditionExpression=version,
                            ExpressionAttributeValues={":n": {"N": str(n)}, ":s": {"S": stamp}},
                        )
                    except ClientError as error:
                        refused.append((n, error.response["Error"]["Code"]))
                for _ in range(2):  # a put's condition, the same each time
                    client.put_item(
                        TableName="t",
                        Item={"pk": {"S": "D"}, "sk": {"S": f"{len(refused)}-{_}"}},
                        ConditionExpression="attribute_not_exists(pk)",
                    )
                _transact(client, fail=False)
                for _ in range(2):  # refused each time: a broken condition is not kept
                    with pytest.raises(ValueError, match="Bad comparison"):  # moto's own error
                        client.put_item(
                            TableName="t",
                            Item={"pk": {"S": "E"}, "sk": {"S": "0"}},
                            ConditionExpression="n = = :n",
                            ExpressionAttributeValues={":n": {"N": "1"}},
                        )
                    with pytest.raises(KeyError, match=":missing"):  # moto's own error
                        client.put_item(  # a value it names that the write lacks
                            TableName="t",
                            Item={"pk": {"S": "E"}, "sk": {"S": "0"}},
                            ConditionExpression="n = :missing",
                            ExpressionAttributeValues={":n": {"N": "1"}},
                        )
                after = _table_state(client)
            finally:
                if undo:
                    undo()
            outcomes.append((after, refused, list(parsed)))
    (shipped_after, shipped_refused, shipped), (patched_after, patched_refused, patched) = outcomes
    assert patched_after == shipped_after
    assert patched_refused == shipped_refused == [(2, "ConditionalCheckFailedException")]
    assert next(i for i in shipped_after if i["sk"]["S"] == "001")["s"] == {"S": "d"}
    # As shipped, each write parses its condition twice (the response layer, the backend),
    # a transaction's three times.
    assert shipped.count(version) == 8 and shipped.count("attribute_not_exists(pk)") == 4
    assert shipped.count("n = :n") == 3
    # Patched: once for n = 1, once for n = 2, whatever :s; the put's once; the broken
    # and the unresolved ones each time they come.
    assert patched.count(version) == 2 and patched.count("attribute_not_exists(pk)") == 1
    assert patched.count("n = :n") == 1
    assert patched.count("n = = :n") == shipped.count("n = = :n") >= 2
    assert patched.count("n = :missing") == shipped.count("n = :missing") >= 2


def _a_set_added_to_after_its_condition(client: Any) -> Any:
    """A condition whose value a write also stores, and a later ADD to that stored set:
    moto's ADD changes the stored list in place, which must not change the kept condition."""
    condition = "attribute_not_exists(tags) OR tags = :t"
    key = {"pk": {"S": "A"}, "sk": {"S": "0"}}
    client.update_item(
        TableName="t",
        Key=key,
        UpdateExpression="SET tags = :t",
        ConditionExpression=condition,
        ExpressionAttributeValues={":t": {"SS": ["a"]}},
    )
    client.update_item(
        TableName="t",
        Key=key,
        UpdateExpression="ADD tags :u",
        ExpressionAttributeValues={":u": {"SS": ["b"]}},
    )
    client.put_item(TableName="t", Item={"pk": {"S": "B"}, "sk": {"S": "0"}, "tags": {"SS": ["a"]}})
    try:  # B's tags are {"a"}: the condition holds
        client.update_item(
            TableName="t",
            Key={"pk": {"S": "B"}, "sk": {"S": "0"}},
            UpdateExpression="SET z = :t",
            ConditionExpression=condition,
            ExpressionAttributeValues={":t": {"SS": ["a"]}},
        )
    except ClientError as error:
        return error.response["Error"]["Code"]
    return "B updated"


def _a_placeholder_read_otherwise(client: Any) -> Any:
    """`#a[0]`: moto reads the name #a and an index; a write that also names "#a[0]" (its
    projection uses it) must not make two conditions naming other #a one."""
    client.put_item(
        TableName="t", Item={"pk": {"S": "1"}, "sk": {"S": "0"}, "x": {"L": [{"S": "v"}]}}
    )
    client.put_item(
        TableName="t", Item={"pk": {"S": "2"}, "sk": {"S": "0"}, "y": {"L": [{"S": "v"}]}}
    )
    return [
        sorted(
            item["pk"]["S"]
            for item in client.scan(
                TableName="t",
                FilterExpression="#a[0] = :v",
                ProjectionExpression="pk, #a[0]",
                ExpressionAttributeNames={"#a": attribute, "#a[0]": "p"},
                ExpressionAttributeValues={":v": {"S": "v"}},
            )["Items"]
        )
        for attribute in ("x", "y")
    ]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (_a_set_added_to_after_its_condition, "B updated"),
        (_a_placeholder_read_otherwise, [["1"], ["2"]]),
    ],
)
def test_a_kept_condition_answers_as_moto_whatever_happens_after_it(
    case: Callable[[Any], Any], expected: Any
):
    from moto import mock_aws

    outcomes = []
    for patch in (None, moto_patches.parse_each_condition_once):
        with mock_aws():
            client = _table("t")
            undo = patch() if patch else None
            try:
                outcomes.append(case(client))
            finally:
                if undo:
                    undo()
    assert outcomes == [expected, expected]


# --- DynamoDB: an item measured from its values, by moto's rules ---------------------------

# Attribute values as DynamoDB's wire writes them ({type: value}); a binary as the bytes a
# client sends or the base64 text moto's server keeps.
_SCALARS = st.one_of(
    st.text().map(lambda text: {"S": text}),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda n: {"N": str(n)}),
    st.one_of(st.binary(), st.text()).map(lambda data: {"B": data}),
    st.booleans().map(lambda flag: {"BOOL": flag}),
    st.just({"NULL": True}),
    st.lists(st.text(), min_size=1, max_size=4, unique=True).map(lambda v: {"SS": v}),
    st.lists(st.integers().map(str), min_size=1, max_size=4, unique=True).map(lambda v: {"NS": v}),
    st.lists(st.binary(), min_size=1, max_size=4, unique=True).map(lambda v: {"BS": v}),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda v: {"L": v}),
        st.dictionaries(st.text(max_size=8), inner, max_size=4).map(lambda v: {"M": v}),
    ),
    max_leaves=16,
)


@pytest.mark.property
@given(st.dictionaries(st.text(min_size=1, max_size=12), _VALUES, min_size=1, max_size=6))
def test_an_item_measures_what_moto_measures(attributes: dict[str, Any]):
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    def sizes() -> tuple[list[int], int]:
        item = Item(DynamoType({"S": "pk"}), DynamoType({"S": "sk"}), attributes)
        return [DynamoType(value).size() for value in attributes.values()], item.size()

    shipped = sizes()
    undo = moto_patches.measure_items_directly()
    try:
        assert sizes() == shipped
    finally:
        undo()


@pytest.mark.parametrize("patch", [None, moto_patches.measure_items_directly])
def test_an_item_is_held_to_moto_s_limit_at_the_same_byte(patch: Any):
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    undo = patch() if patch else None
    try:
        attributes = LimitedSizeDict()
        attributes["big"] = DynamoType({"S": "é" * 202_000})  # 404,000 bytes in UTF-8
        attributes["n"] = DynamoType({"N": "1" * 995})  # 404,999 bytes with the names
        assert attributes["n"].size() == 995
        with pytest.raises(ItemSizeTooLarge):  # 405,001: one byte over moto's limit
            attributes["x"] = DynamoType({"BOOL": True})
        assert "x" not in attributes
        # A new item of the same attributes, and of one more.
        near = {"big": {"S": "é" * 202_000}, "n": {"N": "1" * 995}}
        assert Item(DynamoType({"S": "pk"}), None, near).size() == 404_999
        with pytest.raises(ItemSizeTooLarge):
            Item(DynamoType({"S": "pk"}), None, {**near, "x": {"BOOL": True}})
    finally:
        if undo:
            undo()


def test_an_item_is_measured_without_an_object_per_value(monkeypatch):
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    made: list[str] = []
    original_init = DynamoType.__init__

    def counting_init(self: Any, value: Any) -> None:
        made.append(repr(value)[:20])
        original_init(self, value)

    nested = {"M": {f"k{n}": {"M": {"s": {"S": "x"}, "ns": {"NS": ["1", "2"]}}} for n in range(9)}}
    item = Item(DynamoType({"S": "pk"}), None, {"trail": nested, "tags": {"SS": ["a", "b"]}})
    monkeypatch.setattr(DynamoType, "__init__", counting_init)

    def objects_made() -> int:
        made.clear()
        assert item.size() == 2 + 9 * (2 + 1 + 1 + 2 + 2) + 1 + 2 + 4 + 2
        return len(made)

    assert objects_made() > 30, "moto as shipped wraps every member to measure it"
    undo = moto_patches.measure_items_directly()
    try:
        assert objects_made() == 0
    finally:
        undo()


def test_a_query_measures_each_item_of_its_partition_once(monkeypatch):
    from moto import mock_aws
    from moto.dynamodb.models import dynamo_type

    measured: list[str] = []

    def counting(bytesize: Callable[[Any], int]) -> Callable[[Any], int]:
        def counted(value: Any) -> int:
            if value == "nested":  # an attribute's name: its item measured once more
                measured.append(value)
            return bytesize(value)

        return counted

    monkeypatch.setattr(dynamo_type, "bytesize", counting(dynamo_type.bytesize))
    monkeypatch.setattr(moto_patches, "_bytesize", counting(moto_patches._bytesize))
    answers = []
    for patch in (None, moto_patches.measure_items_directly):
        with mock_aws():
            client = _dynamodb_world()
            undo = patch() if patch else None
            try:
                for _ in range(2):
                    measured.clear()
                    answers.append(
                        client.query(
                            TableName="t",
                            KeyConditionExpression="pk = :p",
                            ExpressionAttributeValues={":p": {"S": "B"}},
                        )["Items"]
                    )
                    answers.append(len(measured))
            finally:
                if undo:
                    undo()
    shipped, shipped_measures, _, again_measures, patched, patched_measures, _, kept = answers
    assert len(shipped) == 40 and shipped_measures == again_measures == 80, (
        "moto measures each item twice, at every Query"
    )
    assert patched == shipped and patched_measures == 40
    assert kept == 0, "a stored item keeps its size"


@pytest.mark.parametrize("patched", [False, True])
def test_a_query_s_page_ends_where_moto_s_ends_after_its_items_change(patched: bool):
    """Four items of 240 KB fit moto's 1 MB page; grown by an update (alone, in a
    transaction, nested in a map), the page ends before the fourth, as moto's own
    measures end it; shrunk again, all four fit. Cached sizes that missed an update would
    answer the four or the three at the wrong time."""
    from moto import mock_aws

    def page(client: Any) -> tuple[int, bool]:
        answer = client.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "big"}},
        )
        return answer["Count"], "LastEvaluatedKey" in answer

    def key(n: int) -> dict[str, Any]:
        return {"pk": {"S": "big"}, "sk": {"S": f"{n:03d}"}}

    with mock_aws():
        client = _dynamodb_world()
        undo = moto_patches.measure_items_directly() if patched else None
        try:
            for n in range(4):
                isi = {"M": {"text": {"S": "x" * 240_000}}}
                client.put_item(TableName="t", Item={**key(n), "isi": isi})
            pages = [page(client)]
            client.update_item(
                TableName="t",
                Key=key(0),
                UpdateExpression="SET isi.more = :more",
                ExpressionAttributeValues={":more": {"S": "y" * 70_000}},
            )
            pages.append(page(client))
            client.update_item(TableName="t", Key=key(0), UpdateExpression="REMOVE isi.more")
            pages.append(page(client))
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": "t",
                            "Key": key(2),
                            "UpdateExpression": "SET extra = :more",
                            "ExpressionAttributeValues": {":more": {"S": "z" * 70_000}},
                        }
                    }
                ]
            )
            pages.append(page(client))
        finally:
            if undo:
                undo()
    assert pages == [(4, False), (3, True), (4, False), (3, True)]


@pytest.mark.parametrize("patched", [False, True])
def test_a_query_answers_in_moto_s_order_whatever_order_items_were_put_in(patched: bool):
    """Number sort keys put out of order (9 before 10 as numbers, not as text), read
    forwards, backwards and a page at a time."""
    import random

    from moto import mock_aws
    from moto.dynamodb.models.dynamo_type import DynamoType

    compared = 0
    original_lt = DynamoType.__lt__

    def counting_lt(self: Any, other: Any) -> bool:
        nonlocal compared
        compared += 1
        return original_lt(self, other)

    numbers = list(range(1, 61))
    random.Random(7).shuffle(numbers)
    with mock_aws(), pytest.MonkeyPatch.context() as monkeypatch:
        client = _table("n", sort_key_type="N")
        for number in numbers:
            client.put_item(TableName="n", Item={"pk": {"S": "p"}, "sk": {"N": str(number)}})
        undo = moto_patches.query_one_partition() if patched else None
        monkeypatch.setattr(DynamoType, "__lt__", counting_lt)
        try:
            read: dict[str, list[int]] = {}
            for name, forward in (("forwards", True), ("backwards", False)):
                read[name] = []
                request: dict[str, Any] = {
                    "TableName": "n",
                    "KeyConditionExpression": "pk = :p",
                    "ExpressionAttributeValues": {":p": {"S": "p"}},
                    "ScanIndexForward": forward,
                    "Limit": 25,
                }
                while True:
                    answer = client.query(**request)
                    read[name] += [int(item["sk"]["N"]) for item in answer["Items"]]
                    if "LastEvaluatedKey" not in answer:
                        break
                    request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        finally:
            if undo:
                undo()
    assert read == {"forwards": list(range(1, 61)), "backwards": list(range(60, 0, -1))}
    queries = 6  # three pages each way; a page after the first also compares its items
    if patched:  # against the start key: at most one comparison per item for each
        assert compared <= queries * (59 + 60), "handed over in order"
    else:
        assert compared > queries * 59 * 3, "moto sorts the items it walked in"
