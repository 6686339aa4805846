"""Every function's role grants each AWS action its code can call: the static side.

The local runtime refuses at run time what a role does not allow, on the paths tests take;
here every path counts (izin_local.aws_calls reads the calls from the code). The first
wave's bug, a function sending email without an SES permission, fails this test.
"""

from __future__ import annotations

import textwrap
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from izin_local.aws_calls import actions, iam_action, operations
from izin_local.iam import RoleDocument, execution_roles
from izin_local.template import Template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Template.load(ROOT / "template.yaml")
ROLES = execution_roles(TEMPLATE, "ap-southeast-3")
FUNCTIONS = {
    name: ROOT / resource["Properties"]["CodeUri"] / "app.py"
    for name, resource in TEMPLATE.resources.items()
    if resource.get("Type") == "AWS::Serverless::Function"
}


def allowed(role: RoleDocument, action: str) -> bool:
    for statement in role.statements():
        granted = statement.get("Action", [])
        granted = [granted] if isinstance(granted, str) else granted
        if statement.get("Effect") == "Allow" and any(
            fnmatchcase(action.lower(), pattern.lower()) for pattern in granted
        ):
            return True
    return False


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_the_role_grants_every_action_the_code_calls(function: str) -> None:
    called = actions(FUNCTIONS[function])
    missing = sorted(a for a in called if not allowed(ROLES[function], a))
    assert missing == [], f"{function} calls {missing} which its Policies do not grant"


def test_what_the_functions_call_is_read_through_the_layer() -> None:
    # Through wiring, the adapters and Powertools: the calls each door leads to.
    assert "ses:SendEmail" in actions(FUNCTIONS["AwaitEventFunction"])
    assert {"sqs:GetQueueUrl", "sqs:ChangeMessageVisibility"} <= actions(
        FUNCTIONS["OssWorkerFunction"]
    )
    assert "secretsmanager:GetSecretValue" in actions(FUNCTIONS["WebhookFunction"])
    assert "ssm:GetParameter" in actions(FUNCTIONS["DeadlineFunction"])
    assert "s3:GetObject" in actions(FUNCTIONS["TaskPageFunction"])  # a presigned link
    # The evidence upload form it signs (a presigned POST), and a refused upload removed.
    assert {"s3:PutObject", "s3:DeleteObject"} <= actions(FUNCTIONS["TaskPageFunction"])
    # …and no more than the code can reach: the verify page only reads.
    assert not {"dynamodb:PutItem", "dynamodb:UpdateItem"} & actions(FUNCTIONS["VerifyFunction"])


def test_a_role_without_the_permission_its_code_needs_is_caught() -> None:
    role = ROLES["AwaitEventFunction"]
    without_ses = RoleDocument(
        role.logical_id,
        {
            name: {
                **document,
                "Statement": [
                    s for s in document.get("Statement", []) if "ses:" not in str(s.get("Action"))
                ],
            }
            for name, document in role.policies.items()
        },
    )
    assert not allowed(without_ses, "ses:SendEmail")
    assert allowed(role, "ses:SendEmail")


def test_calls_are_found_however_the_client_is_held(tmp_path: Path) -> None:
    handler = tmp_path / "probe" / "app.py"
    handler.parent.mkdir()
    handler.write_text(
        textwrap.dedent(
            """
            from izin.aws import client, presign_client
            from aws_lambda_powertools.utilities import parameters

            class Holder:
                @property
                def _q(self):
                    return client("sqs")

                def send(self):
                    self._q.send_message(QueueUrl="u", MessageBody="b")

            def lambda_handler(event, context):
                client("sesv2").send_email()
                sfn = client("stepfunctions")
                sfn.start_execution()
                presign_client().generate_presigned_url("get_object", Params={})
                presign_client().generate_presigned_post("bucket", "key")
                client("s3").head_object(Bucket="b", Key="k")
                parameters.get_secret("arn")
                Holder().send()
            """
        )
    )
    assert operations(handler) == {
        ("sesv2", "send_email"),
        ("stepfunctions", "start_execution"),
        ("s3", "get_object"),
        ("s3", "put_object"),
        ("s3", "head_object"),
        ("secretsmanager", "get_secret_value"),
        ("sqs", "send_message"),
    }


def test_operations_become_iam_actions_by_botocore_s_models() -> None:
    assert iam_action("sesv2", "send_email") == "ses:SendEmail"
    assert iam_action("sqs", "get_queue_url") == "sqs:GetQueueUrl"
    assert iam_action("s3", "head_object") == "s3:GetObject"  # HeadObject is GetObject's
    assert iam_action("stepfunctions", "send_task_success") == "states:SendTaskSuccess"
    with pytest.raises(KeyError):
        iam_action("s3", "no_such_operation")
