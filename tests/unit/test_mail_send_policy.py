"""Every function that emails may send as MailFrom, on the identity SES authorizes.

SES authorizes a send on the identity it verified the sender by: the address's own, or,
when only the domain is verified (the usual setup, with DKIM), the domain's; in the
sandbox, on each recipient's identity as well. A grant on the address alone is
AccessDenied on AWS for a Dinas that verified its domain. The roles are evaluated here by
moto's own policy evaluator, resolved from the template as the local runtime builds them.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from izin_local.aws_calls import actions
from izin_local.iam import RoleDocument, execution_roles
from izin_local.moto_patches import iam_resources
from izin_local.template import Resolver, Template
from moto import mock_aws
from moto.iam.access_control import IAMPolicy, PermissionResult

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Template.load(ROOT / "template.yaml")
ROLES = execution_roles(TEMPLATE, "ap-southeast-3")
MAIL_FROM = "izin@disperindag.kalbarprov.go.id"
MAILERS = sorted(
    name
    for name, resource in TEMPLATE.resources.items()
    if resource.get("Type") == "AWS::Serverless::Function"
    and "ses:SendEmail" in actions(ROOT / resource["Properties"]["CodeUri"] / "app.py")
)


def _identity(name: str) -> str:
    return f"arn:aws:ses:ap-southeast-3:123456789012:identity/{name}"


def _allows(role: RoleDocument, resource: str, *, sandbox: bool = False) -> bool:
    resolver = Resolver(
        TEMPLATE,
        parameter_values={"MailFrom": MAIL_FROM, "MailSandbox": str(sandbox).lower()},
        region="ap-southeast-3",
        account_id="123456789012",
    )
    resolver.register("MailConfigurationSet", "izin-izin", {})
    # The role's SES statements, resolved (its others name resources not created here).
    statements = [resolver.resolve(s) for s in role.statements() if "ses:" in str(s["Action"])]
    policy = IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return policy.is_action_permitted("ses:SendEmail", resource) == PermissionResult.PERMITTED


def test_the_functions_that_email_are_found() -> None:
    assert {"AwaitEventFunction", "RequestTaskFunction", "TaskPageFunction"} <= set(MAILERS)
    assert "VerifyFunction" not in MAILERS


@pytest.mark.parametrize("function", MAILERS)
def test_a_function_that_emails_may_send_by_the_domain_s_identity(function: str) -> None:
    role = ROLES[function]
    assert _allows(role, _identity("disperindag.kalbarprov.go.id"))
    assert _allows(role, _identity(MAIL_FROM))
    configuration_set = "arn:aws:ses:ap-southeast-3:123456789012:configuration-set/izin-izin"
    assert _allows(role, configuration_set)


def test_no_other_sender_and_no_recipient_outside_the_sandbox() -> None:
    role = ROLES["AwaitEventFunction"]
    assert not _allows(role, _identity("elsewhere.example"))
    assert not _allows(role, _identity("someone@disperindag.kalbarprov.go.id"))
    assert not _allows(role, "arn:aws:ses:ap-southeast-3:123456789012:configuration-set/other")


def test_in_the_sandbox_a_verified_recipient_s_identity_is_allowed_too() -> None:
    role = ROLES["AwaitEventFunction"]
    assert _allows(role, _identity("kasi.tester@gmail.com"), sandbox=True)
    assert not _allows(role, _identity("kasi.tester@gmail.com"))


def _send_request(sender: str) -> SimpleNamespace:
    body = {"FromEmailAddress": sender, "ConfigurationSetName": "izin-izin"}
    return SimpleNamespace(
        region="ap-southeast-3", current_account="123456789012", body=body, querystring={}
    )


@mock_aws
def test_the_local_check_authorizes_the_identity_ses_verified() -> None:
    ses = boto3.client("ses", region_name="ap-southeast-3")
    ses.verify_domain_identity(Domain="disperindag.kalbarprov.go.id")
    request = _send_request(f"Dinas <{MAIL_FROM}>")
    assert iam_resources(request, "ses:SendEmail")[0] == _identity("disperindag.kalbarprov.go.id")
    ses.verify_email_identity(EmailAddress=MAIL_FROM)  # the address's own wins once verified
    assert iam_resources(request, "ses:SendEmail")[0] == _identity(MAIL_FROM)


def test_only_the_functions_that_email_are_granted_it() -> None:
    granted = sorted(
        name
        for name, resource in TEMPLATE.resources.items()
        if resource.get("Type") == "AWS::Serverless::Function"
        and "MailSendPolicy" in str(resource["Properties"].get("Policies"))
    )
    assert granted == MAILERS
