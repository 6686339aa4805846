"""Each function's execution role, built from the template as the SAM transform builds it.

SAM turns a function's `Policies` (policy templates such as `DynamoDBCrudPolicy`, inline
statements) into an `AWS::IAM::Role`. `aws-sam-translator`, the transform's own code,
does the same here, so the local role holds exactly the statements AWS would attach.
The provisioner creates each role in moto with those inline policies and assumes it; the
function's workers call AWS with that session's credentials, and moto (with the patch
`enforce_role_policies`) refuses what the role does not allow, as AWS would.

The stack's own managed policies a function lists (`!Ref MailSendPolicy`) count with its
inline ones. AWS managed policies the transform attaches (`AWSLambdaBasicExecutionRole`:
CloudWatch Logs, which Lambda writes for the function) are not loaded into moto: no handler
calls CloudWatch Logs itself.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from izin_local.template import Resolver, Template, parse_yaml

# The S3 location `sam package` would give; the transform refuses a local folder.
_PACKAGED_KEYS: Final = ("CodeUri", "DefinitionUri", "ContentUri")
# The SAM resources the transform gives a role of their own.
_WITH_ROLES: Final = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")


@dataclass(frozen=True)
class RoleDocument:
    """One execution role: its name in the template and its inline policies, resolved."""

    logical_id: str
    policies: Mapping[str, Mapping[str, Any]]

    def resolved(self, resolver: Resolver) -> RoleDocument:
        """The same role with its policies' intrinsic functions evaluated."""
        return RoleDocument(self.logical_id, resolver.resolve(dict(self.policies)))

    def statements(self) -> list[Mapping[str, Any]]:
        """Every statement of every inline policy."""
        found: list[Mapping[str, Any]] = []
        for document in self.policies.values():
            statement = document.get("Statement", [])
            found.extend(statement if isinstance(statement, list) else [statement])
        return found


def execution_roles(template: Template, region: str) -> dict[str, RoleDocument]:
    """Function (and state machine) logical id -> its role, as the SAM transform makes it.

    The policies still hold their intrinsic functions: resolve them (`RoleDocument.
    resolved`) once every resource they name has been created.
    """
    translated = _translate(template.path, region)
    resources = translated.get("Resources", {})
    roles: dict[str, RoleDocument] = {}
    for logical_id, declared in template.resources.items():
        if declared.get("Type") not in _WITH_ROLES:
            continue
        role_id = _role_of(resources.get(logical_id, {})) or f"{logical_id}Role"
        role = resources.get(role_id)
        if role is None or role.get("Type") != "AWS::IAM::Role":
            continue
        properties = role.get("Properties", {})
        policies = {
            str(policy["PolicyName"]): policy["PolicyDocument"]
            for policy in properties.get("Policies", [])
        }
        policies.update(_stack_managed_policies(template, properties.get("ManagedPolicyArns", [])))
        roles[logical_id] = RoleDocument(role_id, policies)
    return roles


def _stack_managed_policies(template: Template, arns: list[Any]) -> dict[str, Any]:
    """The documents of the stack's own managed policies a role attaches (`!Ref` to an
    `AWS::IAM::ManagedPolicy`), by logical id; AWS's own managed policies are left out."""
    found: dict[str, Any] = {}
    for arn in arns:
        target = arn.get("Ref") if isinstance(arn, dict) else None
        declared = template.resources.get(str(target)) if target else None
        if declared is not None and declared.get("Type") == "AWS::IAM::ManagedPolicy":
            found[str(target)] = declared["Properties"]["PolicyDocument"]
    return found


def _role_of(translated_resource: Mapping[str, Any]) -> str | None:
    properties = translated_resource.get("Properties", {})
    role = properties.get("Role") or properties.get("RoleArn")
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        target = role["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else target.split(".")[0])
    return None


@functools.lru_cache(maxsize=4)
def _translate_text(text: str, region: str) -> dict[str, Any]:
    from samtranslator.translator.transform import transform  # type: ignore[import-untyped]

    body = parse_yaml(text)
    for resource in (body.get("Resources") or {}).values():
        properties = resource.get("Properties") or {}
        for key in _PACKAGED_KEYS:
            if key in properties:
                properties[key] = f"s3://local-runtime/{key}"
    # The transform reads the region from the environment (the AWS CLI's way).
    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        return dict(transform(body, {}, _NoManagedPolicies()))
    finally:
        if saved is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved


def _translate(path: Path, region: str) -> dict[str, Any]:
    return copy.deepcopy(_translate_text(path.read_text(encoding="utf-8"), region))


class _NoManagedPolicies:
    """The transform asks for AWS managed policies only by name in `Policies`: none here."""

    def load(self) -> dict[str, str]:
        return {}


def trust_policy(*principals: str) -> str:
    """A role Lambda and Step Functions may assume, and the local runtime on their behalf."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
        "Action": "sts:AssumeRole",
    }
    if principals:
        statement["Principal"]["AWS"] = list(principals)
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
