"""template.yaml's settings that keep messages and executions from being lost silently.

Read from the template itself (Globals merged as SAM does): each queue's dead-letter queue
exists and is alarmed, a queue's visibility timeout outlasts six runs of the function that
consumes it, SQS events report partial batch failures, failed executions raise an alarm,
no IAM statement grants `*`, and every handler exists where its function says. Each check
is also run on a small broken template, to show that it fails when it should.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from izin_local.template import Template

ROOT = Path(__file__).resolve().parents[2]

# Lambda's and SQS's defaults when the template says nothing.
DEFAULT_FUNCTION_TIMEOUT = 3
DEFAULT_VISIBILITY_TIMEOUT = 30
# Actions AWS does not scope to a resource: a task token is the only authorisation.
# Actions AWS does not scope to a resource: task callbacks, and log delivery to CloudWatch.
UNSCOPED_ACTIONS = {
    "states:SendTaskSuccess",
    "states:SendTaskFailure",
    "states:SendTaskHeartbeat",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}

Resources = dict[str, dict[str, Any]]


def _of_type(resources: Resources, resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource.get("Properties") or {}
        for name, resource in resources.items()
        if resource.get("Type") == resource_type
    }


def _logical_id(value: Any) -> str | None:
    """The resource a `!GetAtt X.Attr` or `!Ref X` names, else None."""
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), *_ = value.items()
        if function == "Fn::GetAtt":
            return str(argument[0] if isinstance(argument, list) else argument.split(".")[0])
        if function == "Ref":
            return str(argument)
    return None


def _sqs_events(resources: Resources) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(function, event, event properties) for every SQS event of every function."""
    for function, properties in _of_type(resources, "AWS::Serverless::Function").items():
        for event, spec in (properties.get("Events") or {}).items():
            if spec.get("Type") == "SQS":
                yield function, event, spec.get("Properties") or {}


def _dead_letter_queues(resources: Resources) -> dict[str, str | None]:
    """Each queue with a RedrivePolicy, and the queue its messages die into."""
    return {
        name: _logical_id((properties["RedrivePolicy"] or {}).get("deadLetterTargetArn"))
        for name, properties in _of_type(resources, "AWS::SQS::Queue").items()
        if "RedrivePolicy" in properties
    }


def _alarms(resources: Resources, namespace: str, metric: str) -> list[dict[str, str | None]]:
    """The dimensions (name to logical id) of each alarm on this metric."""
    return [
        {d["Name"]: _logical_id(d["Value"]) for d in properties.get("Dimensions") or []}
        for properties in _of_type(resources, "AWS::CloudWatch::Alarm").values()
        if properties.get("Namespace") == namespace and properties.get("MetricName") == metric
    ]


# --- the checks: each returns what is wrong -----------------------------------------------


def dead_letter_queues_exist(resources: Resources) -> list[str]:
    queues = _of_type(resources, "AWS::SQS::Queue")
    return [
        f"{queue}: its dead-letter queue {dlq!r} is not a queue of the template"
        for queue, dlq in _dead_letter_queues(resources).items()
        if dlq not in queues
    ]


def consumed_queues_outlast_their_functions(resources: Resources) -> list[str]:
    problems = []
    queues = _of_type(resources, "AWS::SQS::Queue")
    functions = _of_type(resources, "AWS::Serverless::Function")
    for function, event, properties in _sqs_events(resources):
        queue = _logical_id(properties.get("Queue"))
        if queue not in queues:
            problems.append(f"{function}.{event}: {queue!r} is not a queue of the template")
            continue
        timeout = int(functions[function].get("Timeout", DEFAULT_FUNCTION_TIMEOUT))
        visibility = int(queues[queue].get("VisibilityTimeout", DEFAULT_VISIBILITY_TIMEOUT))
        if visibility < 6 * timeout:
            problems.append(
                f"{queue}: VisibilityTimeout {visibility} < 6 x {function}'s Timeout {timeout}"
            )
    return problems


def sqs_events_report_batch_item_failures(resources: Resources) -> list[str]:
    return [
        f"{function}.{event}: no FunctionResponseTypes [ReportBatchItemFailures]"
        for function, event, properties in _sqs_events(resources)
        if "ReportBatchItemFailures" not in (properties.get("FunctionResponseTypes") or [])
    ]


def dead_letter_queues_are_alarmed(resources: Resources) -> list[str]:
    watched = {
        dimensions.get("QueueName")
        for dimensions in _alarms(resources, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    }
    return [
        f"{dlq}: no alarm on ApproximateNumberOfMessagesVisible"
        for dlq in set(_dead_letter_queues(resources).values())
        if dlq not in watched
    ]


def failed_executions_are_alarmed(resources: Resources) -> list[str]:
    watched = {
        dimensions.get("StateMachineArn")
        for dimensions in _alarms(resources, "AWS/States", "ExecutionsFailed")
    }
    machines = _of_type(resources, "AWS::Serverless::StateMachine")
    machines |= _of_type(resources, "AWS::StepFunctions::StateMachine")
    return [
        f"{machine}: no alarm on ExecutionsFailed" for machine in machines if machine not in watched
    ]


def _statements(value: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM statement anywhere under `value`, with where it sits."""
    if isinstance(value, dict):
        statement = value.get("Statement")
        if isinstance(statement, list | dict):
            for item in statement if isinstance(statement, list) else [statement]:
                if isinstance(item, dict) and "Effect" in item:
                    yield where, item
        for key, item in value.items():
            yield from _statements(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _statements(item, f"{where}[{index}]")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def no_iam_wildcards(resources: Resources) -> list[str]:
    problems = []
    for name, resource in resources.items():
        for where, statement in _statements(resource.get("Properties") or {}, name):
            actions = _as_list(statement.get("Action", []))
            if any(action == "*" or str(action).endswith(":*") for action in actions):
                problems.append(f"{where}: Action {actions} grants every action")
            # In a KMS key's own policy, Resource "*" is that key and nothing else.
            in_key_policy = resource.get("Type") == "AWS::KMS::Key" and ".KeyPolicy" in where
            if (
                "*" in _as_list(statement.get("Resource", []))
                and not in_key_policy
                and not set(actions) <= UNSCOPED_ACTIONS
            ):
                problems.append(f"{where}: Resource '*' for {actions}")
    return problems


def handlers_exist(resources: Resources, root: Path = ROOT) -> list[str]:
    problems = []
    for function, properties in _of_type(resources, "AWS::Serverless::Function").items():
        folder = root / str(properties.get("CodeUri", ""))
        module_path, _, handler = str(properties.get("Handler", "")).rpartition(".")
        source = folder / (module_path.replace(".", "/") + ".py")
        if not folder.is_dir() or not source.is_file():
            problems.append(f"{function}: no {source.relative_to(root)}")
            continue
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
        defined = {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        } | {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        if handler not in defined:
            problems.append(f"{function}: {source.relative_to(root)} defines no {handler}()")
    return problems


CHECKS: list[Callable[[Resources], list[str]]] = [
    dead_letter_queues_exist,
    consumed_queues_outlast_their_functions,
    sqs_events_report_batch_item_failures,
    dead_letter_queues_are_alarmed,
    failed_executions_are_alarmed,
    no_iam_wildcards,
    handlers_exist,
]


@pytest.fixture(scope="module")
def resources() -> Resources:
    return Template.load(ROOT / "template.yaml").resources


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_the_template(check: Callable[[Resources], list[str]], resources: Resources) -> None:
    assert check(resources) == []


def test_the_template_has_what_the_checks_look_at(resources: Resources) -> None:
    # Checks over nothing would pass: the template has queues with DLQs, SQS events,
    # a state machine and functions.
    assert _dead_letter_queues(resources)
    assert list(_sqs_events(resources))
    assert _of_type(resources, "AWS::Serverless::StateMachine")
    assert _of_type(resources, "AWS::Serverless::Function")


# --- the checks on a broken template -----------------------------------------------------

BROKEN: Resources = {
    "Queue": {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "VisibilityTimeout": 60,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}},
        },
    },
    "Orphan": {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Missing", "Arn"]}}
        },
    },
    "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {}},
    "Machine": {"Type": "AWS::Serverless::StateMachine", "Properties": {}},
    "Worker": {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": "functions/nowhere/",
            "Handler": "app.lambda_handler",
            "Timeout": 20,
            "Events": {
                "Work": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["Queue", "Arn"]}}}
            },
            "Policies": [
                {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "x"}]},
                {"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]},
            ],
        },
    },
}


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (dead_letter_queues_exist, ["Orphan: its dead-letter queue 'Missing'"]),
        (consumed_queues_outlast_their_functions, ["Queue: VisibilityTimeout 60 < 6 x"]),
        (sqs_events_report_batch_item_failures, ["Worker.Work: no FunctionResponseTypes"]),
        (dead_letter_queues_are_alarmed, ["Dlq: no alarm", "Missing: no alarm"]),
        (failed_executions_are_alarmed, ["Machine: no alarm on ExecutionsFailed"]),
        (no_iam_wildcards, ["grants every action", "Resource '*' for ['s3:GetObject']"]),
        (handlers_exist, ["Worker: no functions/nowhere/app.py"]),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_each_check_fails_on_a_broken_template(
    check: Callable[[Resources], list[str]], expected: list[str]
) -> None:
    problems = check(BROKEN)
    for fragment in expected:
        assert any(fragment in problem for problem in problems), (fragment, problems)


def test_a_missing_handler_function_is_found(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    function = {
        "Type": "AWS::Serverless::Function",
        "Properties": {"CodeUri": "fn/", "Handler": "app.lambda_handler"},
    }
    assert handlers_exist({"F": function}, root=tmp_path) == [
        "F: fn/app.py defines no lambda_handler()"
    ]
