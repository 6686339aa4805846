"""Build in moto the resources template.yaml declares, in dependency order.

Each resource type has one small function that creates it through the AWS endpoint and
says what `Ref` and `Fn::GetAtt` give for it; the resolver then hands those local names
and ARNs to the resources created after it. A resource added to the template therefore
appears locally with no second list to keep. Physical names are the resource's own
name property, else "{StackName}-{LogicalId}". A type the runtime does not know is
skipped with one warning (its Ref becomes a placeholder), never a crash.
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
import string
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from izin_local.iam import RoleDocument, execution_roles, trust_policy
from izin_local.lambda_runner import FunctionSpec
from izin_local.template import Resolver, TemplateError

logger = logging.getLogger(__name__)

LAMBDA_ROLE_NAME: Final = "izin-local-lambda"
STATES_ROLE_NAME: Final = "izin-local-states"
_ASSUME_ROLE_POLICY: Final = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
# Types that exist only for AWS's sake (permissions, logs, the API itself): nothing to build,
# the gateway and pollers read the functions' Events instead.
_NOTHING_TO_BUILD: Final = frozenset(
    {
        "AWS::Serverless::HttpApi",
        "AWS::Serverless::Api",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::DomainName",
        "AWS::ApiGatewayV2::ApiMapping",
        "AWS::CloudWatch::Dashboard",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::Logs::LogGroup",
        "AWS::Lambda::Permission",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SES::ConfigurationSetEventDestination",  # SES sends no events locally
        "AWS::SNS::Subscription",
        "AWS::S3::BucketPolicy",
    }
)
# What AWS gives a queue the template leaves unset, where moto gives another: SQS's
# CreateQueue defaults MaximumMessageSize to 256 KiB (moto to its 1 MiB upper bound).
AWS_QUEUE_DEFAULTS: Final = {"MaximumMessageSize": "262144"}
_EMAIL: Final = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


class ProvisioningError(Exception):
    """The template asks for something the local runtime cannot build faithfully."""


@dataclass(frozen=True)
class Resource:
    """One resource as built locally: what Ref gives and what GetAtt gives."""

    logical_id: str
    type: str
    ref: Any
    attributes: Mapping[str, Any]
    properties: Mapping[str, Any]


@dataclass
class Provisioned:
    """Everything the provisioner built, by logical id."""

    resources: dict[str, Resource] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    # Logical id -> the AWS_* credentials of a session of its own execution role.
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    roles: dict[str, RoleDocument] = field(default_factory=dict)

    def refs(self, *types: str) -> dict[str, Any]:
        """Logical id -> Ref value for the resources of these types."""
        return {
            logical_id: resource.ref
            for logical_id, resource in self.resources.items()
            if resource.type in types
        }

    def attribute(self, *types: str, name: str) -> dict[str, Any]:
        """Logical id -> one attribute, for the resources of these types."""
        return {
            logical_id: resource.attributes[name]
            for logical_id, resource in self.resources.items()
            if resource.type in types
        }


def shared_environment(functions: Mapping[str, FunctionSpec]) -> dict[str, str]:
    """The variables every function that declares them gives one value (TABLE_NAME...).

    What the runtime's own process and the tools it serves read to find the resources;
    the functions themselves each run with their own environment. A variable two
    functions give different values is left out.
    """
    values: dict[str, set[str]] = {}
    for spec in functions.values():
        for name, value in spec.environment.items():
            values.setdefault(name, set()).add(value)
    return {name: next(iter(given)) for name, given in values.items() if len(given) == 1}


def email_addresses(values: Mapping[str, str]) -> set[str]:
    """The email addresses written in these (environment) values."""
    return {match.group(0) for value in values.values() for match in _EMAIL.finditer(value)}


class Provisioner:
    """Creates the template's resources in moto through its endpoint."""

    def __init__(
        self,
        resolver: Resolver,
        endpoint: str,
        *,
        secret_values: Mapping[str, str] | None = None,
    ) -> None:
        self._resolver = resolver
        self._template_dir = resolver.template.directory
        self._secret_values = dict(secret_values or {})
        self._session = boto3.session.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 (moto accepts any)
            region_name=resolver.region,
        )
        self._endpoint = endpoint
        self._clients: dict[str, Any] = {}
        self._warned_types: set[str] = set()
        self._roles: dict[str, str] = {}
        self._role_documents: dict[str, RoleDocument] | None = None
        self._provisioned = Provisioned()
        self._builders: dict[str, Callable[[str, dict[str, Any]], Resource]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::Serverless::SimpleTable": self._simple_table,
            "AWS::SQS::Queue": self._queue,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SNS::Topic": self._topic,
            "AWS::SES::ConfigurationSet": self._configuration_set,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::KMS::Key": self._kms_key,
            "AWS::SSM::Parameter": self._parameter,
            "AWS::Serverless::StateMachine": self._state_machine,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::Serverless::Function": self._function,
            "AWS::Serverless::LayerVersion": self._layer,
            "AWS::Lambda::LayerVersion": self._layer,
            "AWS::CloudWatch::Alarm": self._alarm,
        }

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self._endpoint,
            )
        return self._clients[service]

    def provision(self) -> Provisioned:
        """Create every enabled resource; each after the resources it refers to."""
        provisioned = self._provisioned
        for logical_id in self._resolver.creation_order():
            declared = self._resolver.template.resources[logical_id]
            resource_type = str(declared.get("Type"))
            properties = self._resolver.resolve(declared.get("Properties") or {})
            builder = self._builders.get(resource_type)
            if builder is None:
                resource = self._placeholder(logical_id, resource_type, properties)
            else:
                try:
                    resource = builder(logical_id, properties)
                except (ClientError, BotoCoreError, OSError, TemplateError) as error:
                    raise ProvisioningError(f"{logical_id} ({resource_type}): {error}") from error
            self._resolver.register(logical_id, resource.ref, resource.attributes)
            provisioned.resources[logical_id] = resource
            logger.debug("provisioned %s %s -> %s", resource_type, logical_id, resource.ref)
        provisioned.functions = {
            logical_id: _function_spec(resource, self._template_dir)
            for logical_id, resource in provisioned.resources.items()
            if resource.type == "AWS::Serverless::Function"
        }
        return provisioned

    def verify_sender_domains(self, addresses: set[str]) -> None:
        """Verify these senders' domains in SES, as a Dinas verifies its own (with DKIM):
        SES then authorizes each send on the domain's identity, not the address's."""
        ses = self.client("ses")
        for domain in sorted({address.rpartition("@")[2].lower() for address in addresses}):
            ses.verify_domain_identity(Domain=domain)

    # --- names -----------------------------------------------------------------------

    def _name(self, logical_id: str, properties: Mapping[str, Any], key: str) -> str:
        given = properties.get(key)
        return str(given) if given else f"{self._resolver.stack_name}-{logical_id}"

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self._resolver.region}:{self._resolver.account_id}:{resource}"

    def _placeholder(
        self, logical_id: str, resource_type: str, properties: dict[str, Any]
    ) -> Resource:
        if resource_type not in _NOTHING_TO_BUILD and resource_type not in self._warned_types:
            self._warned_types.add(resource_type)
            logger.warning("%s is not built locally (first: %s)", resource_type, logical_id)
        name = f"{self._resolver.stack_name}-{logical_id}"
        arn = self._arn("local", name)
        return Resource(logical_id, resource_type, name, {"Arn": arn}, properties)

    # --- builders --------------------------------------------------------------------

    def _table(self, logical_id: str, properties: dict[str, Any]) -> Resource:
        name = self._name(logical_id, properties, "TableName")
        provisioned = "ProvisionedThroughput" in properties
        billing = properties.get("BillingMode") or (
            "PROVISIONED" if provisioned else "PAY_PER_REQUEST"
        )
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "KeySchema": properties["KeySchema"],
            "BillingMode": billing,
        }
        if billing == "PROVISIONED":
            request["ProvisionedThroughput"] = _throughput(properties.get("ProvisionedThroughput"))
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            indexes = properties.get(key)
            if not indexes:
                continue
            request[key] = []
            for index in indexes:
                index = {k: v for k, v in index.items() if k != "ContributorInsightsSpecification"}
                if key == "GlobalSecondaryIndexes" and billing == "PROVISIONED":
                    index["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
                request[key].append(index)
        stream = properties.get("StreamSpecification")
        if stream and stream.get("StreamViewType"):
            request["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
        dynamodb = self.client("dynamodb")
        table = dynamodb.create_table(**request)["TableDescription"]
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and _truthy(ttl.get("Enabled")):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        attributes = {"Arn": table["TableArn"]}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        return Resource(logical_id, "AWS::DynamoDB::Table", name, attributes, properties)

    def _simple_table(self, logical_id: str, properties: dict[str, Any]) -> Resource:
        key = properties.get("PrimaryKey") or {"Name": "id", "Type": "String"}
        attribute_type = {"String": "S", "Number": "N", "Binary": "B"}[key.get("Type", "String")]
        table_properties = {
            "TableName": properties.get("TableName"),
            "AttributeDefinitions": [
                {"AttributeName": key["Name"], "AttributeType": attribute_type}
            ],
            "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
        }
        if "ProvisionedThroughput" in properties:
            table_properties["ProvisionedThroughput"] = properties["ProvisionedThroughput"]
        built = self._table(logical_id, table_properties)
        return Resource(
            logical_id, "AWS::Serverless::SimpleTable", built.ref, built.attributes, properties
        )

    def _queue(self, logical_id: str, properties: dict[str, Any]) -> Resource:
        fifo = _truthy(properties.get("FifoQueue"))
        name = self._name(logical_id, properties, "QueueName")
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        attributes: dict[str, str] = dict(AWS_QUEUE_DEFAULTS)
        for key, value in properties.items():
            if key in ("QueueName", "Tags"):
                continue
            if isinstance(value, dict | list):
                attributes[key] = json.dumps(value)
            elif isinstance(value, bool):
                attributes[key] = "true" if value else "false"
            else:
                attributes[key] = str(value)
        sqs = self.client("sqs")
        created = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        described = sqs.get_queue_attributes(QueueUrl=created, AttributeNames=["QueueArn"])
        arn = described["Attributes"]["QueueArn"]
        # The URL AWS gives the queue, not moto's local address (moto finds a queue by the
        # URL's last segment): the functions' environment and the state machine hold no
        # moto-only endpoint, and a definition naming no port is the same text at every
        # runtime start, parsed once per process (moto_patches.parse_each_definition_once).
        region, account = arn.split(":")[3:5]
        url = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
        return Resource(
            logical_id,
            "AWS::SQS::Queue",
            url,
            {"Arn": arn, "QueueName": name, "QueueUrl": url},
            properties,
        )

    def _bucket(self, logical_id: str, properties: dict[str, Any]) -> Resource:
        # S3 names are lower case; a logical id is not.
        name = self._name(logical_id, properties, "BucketName").lower()
        request: dict[str, Any] = {"Bucket": name}
        if self._resolver.region != "us-east-1":
            request["CreateBucketConfiguration"] = {"LocationConstraint": self._resolver.region}
        self.client("s3").create_bucket(**request)
        region = self._resolver.region
        return Resource(
            logical_id,
            "AWS::S3::Bucket",
            name,
            {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
                "WebsiteURL": f"http://{name}.s3-website.{region}.amazonaws.com",
            },
            properties,
        )

    def _topic(self, logical_id: str, properties: dict[str, Any]) -> Resource:
        fifo = _truthy(properties.get("FifoTopic"))
        name = self._name(logical_id, properties, "TopicName")
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        attributes = {"FifoTopic": "true"} if fifo else {}
        arn = self.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return Resource(
            logical_id,
            "AWS::SNS::Topic",
            arn,
            {"TopicArn": arn, "TopicName": name},
            properties,
        )

    def _configuration_set(self, logical_id: str, properties: dict[str, Any]) -> Resource:
        name = self._name(logical_id, properties, "Name")
        self.client("sesv2").create_configuration_set(ConfigurationSetName=name)
        return Resource(logical_id, "AWS::SES::ConfigurationSet", name, {}, properties)

    def _secret(self, logical_id: str, properties: dict[str, Any]) -> Resource:
        name = self._name(logical_id, properties, "Name")
        if logical_id in self._secret_values:
            value = self._secret_values[logical_id]
        elif "SecretString" in properties:
            value = str(properties["SecretString"])
        else:
            value = _generate_secret(properties.get("GenerateSecretString") or {})
        arn = self.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
        return Resource(
            logical_id, "AWS::SecretsManager::Secret", arn, {"Id": arn, "Arn": arn}, properties
        )

    def _kms_key(self, logical_id: str, properties: dict[str, Any]) -> Resource:
        """A symmetric key (its policy is the template's; roles are what moto enforces)."""
        kms = self.client("kms")
        metadata = kms.create_key(
            Description=str(properties.get("Description", logical_id)),
            KeyUsage=str(properties.get("KeyUsage", "ENCRYPT_DECRYPT")),
        )["KeyMetadata"]
        if _truthy(properties.get("EnableKeyRotation")):
            kms.enable_key_rotation(KeyId=metadata["KeyId"])
        return Resource(
            logical_id,
            "AWS::KMS::Key",
            metadata["KeyId"],
            {"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]},
            properties,
        )

    def _parameter(self, logical_id: str, properties: dict[str, Any]) -> Resource:
        name = self._name(logical_id, properties, "Name")
        self.client("ssm").put_parameter(
            Name=name, Value=str(properties.get("Value", "")), Type=properties.get("Type", "String")
        )
        return Resource(
            logical_id,
            "AWS::SSM::Parameter",
            name,
            {"Type": properties.get("Type", "String"), "Value": properties.get("Value", "")},
            properties,
        )

    def _state_machine(self, logical_id: str, properties: dict[str, Any]) -> Resource:
        name_key = "Name" if "Name" in properties else "StateMachineName"
        name = self._name(logical_id, properties, name_key)
        definition = self._definition(logical_id, properties)
        for key, value in (properties.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        if properties.get("Type", "STANDARD") != "STANDARD":
            logger.warning("%s: Type %s runs as STANDARD locally", logical_id, properties["Type"])
        arn = self.client("stepfunctions").create_state_machine(
            name=name,
            definition=definition,
            roleArn=self._execution_role(logical_id, fallback=STATES_ROLE_NAME),
            type="STANDARD",
        )["stateMachineArn"]
        return Resource(
            logical_id,
            str(self._resolver.template.resources[logical_id]["Type"]),
            arn,
            {"Arn": arn, "Name": name},
            properties,
        )

    def _definition(self, logical_id: str, properties: Mapping[str, Any]) -> str:
        for key in ("Definition",):
            if key in properties:
                return json.dumps(properties[key])
        if "DefinitionString" in properties:
            return str(properties["DefinitionString"])
        uri = properties.get("DefinitionUri")
        if isinstance(uri, str):
            return (self._template_dir / uri).read_text(encoding="utf-8")
        raise ProvisioningError(
            f"{logical_id}: give Definition, DefinitionString or a local DefinitionUri"
        )

    def _function(self, logical_id: str, properties: dict[str, Any]) -> Resource:
        name = self._name(logical_id, properties, "FunctionName")
        variables = {
            key: _as_env_value(value)
            for key, value in ((properties.get("Environment") or {}).get("Variables") or {}).items()
        }
        arn = self.client("lambda").create_function(
            FunctionName=name,
            Runtime=properties.get("Runtime", "python3.12"),
            Role=self._execution_role(logical_id),
            Handler=properties.get("Handler", "app.lambda_handler"),
            Code={"ZipFile": _placeholder_zip()},
            Timeout=int(properties.get("Timeout", 3)),
            MemorySize=int(properties.get("MemorySize", 128)),
            Environment={"Variables": variables},
        )["FunctionArn"]
        properties = {**properties, "Environment": {"Variables": variables}}
        return Resource(logical_id, "AWS::Serverless::Function", name, {"Arn": arn}, properties)

    def _layer(self, logical_id: str, properties: dict[str, Any]) -> Resource:
        # The layer's package is installed in the venv: nothing to upload.
        name = self._name(logical_id, properties, "LayerName")
        arn = self._arn("lambda", f"layer:{name}:1")
        return Resource(logical_id, "AWS::Serverless::LayerVersion", arn, {"Arn": arn}, properties)

    def _alarm(self, logical_id: str, properties: dict[str, Any]) -> Resource:
        name = self._name(logical_id, properties, "AlarmName")
        request = {key: value for key, value in properties.items() if key in _ALARM_KEYS}
        request["AlarmName"] = name
        for key, cast in _ALARM_NUMBERS.items():
            if key in request:
                request[key] = cast(request[key])
        try:
            self.client("cloudwatch").put_metric_alarm(**request)
        except (ClientError, BotoCoreError) as error:
            logger.info("alarm %s recorded only (moto refused it: %s)", logical_id, error)
        arn = self._arn("cloudwatch", f"alarm:{name}")
        return Resource(logical_id, "AWS::CloudWatch::Alarm", name, {"Arn": arn}, properties)

    def _execution_role(self, logical_id: str, *, fallback: str = LAMBDA_ROLE_NAME) -> str:
        """The resource's own role, with the policies the SAM transform gives it; assumed.

        Its session's credentials are what the function's workers (or, for the state
        machine, moto's interpreter) call AWS with.
        """
        if self._role_documents is None:
            self._role_documents = execution_roles(self._resolver.template, self._resolver.region)
        document = self._role_documents.get(logical_id)
        if document is None:
            return self._role(fallback)
        document = document.resolved(self._resolver)
        iam = self.client("iam")
        role_name = f"{self._resolver.stack_name}-{document.logical_id}"[:64]
        role_arn = iam.create_role(
            RoleName=role_name, AssumeRolePolicyDocument=trust_policy(self._caller_arn())
        )["Role"]["Arn"]
        # Every statement the SAM transform gives the role, in one inline policy (CloudFormation
        # puts one per policy template): IAM allows what any statement allows and refuses what
        # any denies, whichever policy holds it, so the grant is the same; one call instead of
        # four or five, and moto's check of each call reads one document instead of several.
        # AWS takes a document without Version; moto wants the current one.
        statements = document.statements()
        if statements:
            iam.put_role_policy(
                RoleName=role_name,
                PolicyName=f"{document.logical_id}Policy",
                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
            )
        session = self.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName=logical_id[:64], DurationSeconds=43200
        )["Credentials"]
        self._provisioned.roles[logical_id] = document
        self._provisioned.credentials[logical_id] = {
            "AWS_ACCESS_KEY_ID": session["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": session["SecretAccessKey"],
            "AWS_SESSION_TOKEN": session["SessionToken"],
        }
        return str(role_arn)

    def _caller_arn(self) -> str:
        return f"arn:aws:iam::{self._resolver.account_id}:root"

    def _role(self, role_name: str) -> str:
        # moto's create_function refuses a role IAM does not know.
        if role_name not in self._roles:
            role = self.client("iam").create_role(
                RoleName=role_name, AssumeRolePolicyDocument=_ASSUME_ROLE_POLICY
            )
            self._roles[role_name] = role["Role"]["Arn"]
        return self._roles[role_name]


_ALARM_KEYS: Final = frozenset(
    {
        "AlarmDescription",
        "ActionsEnabled",
        "OKActions",
        "AlarmActions",
        "InsufficientDataActions",
        "MetricName",
        "Namespace",
        "Statistic",
        "ExtendedStatistic",
        "Dimensions",
        "Period",
        "Unit",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "Threshold",
        "ComparisonOperator",
        "TreatMissingData",
        "EvaluateLowSampleCountPercentile",
        "Metrics",
        "ThresholdMetricId",
    }
)
_ALARM_NUMBERS: Final[dict[str, Callable[[Any], Any]]] = {
    "Period": int,
    "EvaluationPeriods": int,
    "DatapointsToAlarm": int,
    "Threshold": float,
    "ActionsEnabled": lambda value: _truthy(value),
}


def _function_spec(resource: Resource, template_dir: Path) -> FunctionSpec:
    properties = resource.properties
    code_uri = properties.get("CodeUri")
    if not isinstance(code_uri, str):
        raise ProvisioningError(f"{resource.logical_id}: CodeUri must be a local folder")
    return FunctionSpec(
        logical_id=resource.logical_id,
        name=str(resource.ref),
        arn=str(resource.attributes["Arn"]),
        handler=str(properties.get("Handler", "app.lambda_handler")),
        code_dir=(template_dir / code_uri).resolve(),
        runtime=str(properties.get("Runtime", "python3.12")),
        timeout=int(properties.get("Timeout", 3)),
        memory_size=int(properties.get("MemorySize", 128)),
        environment=dict((properties.get("Environment") or {}).get("Variables") or {}),
        events=dict(properties.get("Events") or {}),
        reserved_concurrency=(
            int(properties["ReservedConcurrentExecutions"])
            if properties.get("ReservedConcurrentExecutions")
            else None
        ),
    )


def _throughput(value: Mapping[str, Any] | None) -> dict[str, int]:
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 5)),
    }


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _as_env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise TemplateError(f"an environment variable must be text, not {value!r}")
    return str(value)


def _placeholder_zip() -> bytes:
    """A tiny deployment package: moto wants code; the real handler runs from the repo."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "izin local runtime: the handler runs in a worker process\n")
    return buffer.getvalue()


def _generate_secret(spec: Mapping[str, Any]) -> str:
    """A random secret following GenerateSecretString, as Secrets Manager would make it."""
    alphabet = ""
    if not _truthy(spec.get("ExcludeUppercase")):
        alphabet += string.ascii_uppercase
    if not _truthy(spec.get("ExcludeLowercase")):
        alphabet += string.ascii_lowercase
    if not _truthy(spec.get("ExcludeNumbers")):
        alphabet += string.digits
    if not _truthy(spec.get("ExcludePunctuation")):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    if _truthy(spec.get("IncludeSpace")):
        alphabet += " "
    excluded = set(str(spec.get("ExcludeCharacters", "")))
    alphabet = "".join(character for character in alphabet if character not in excluded)
    length = int(spec.get("PasswordLength", 32))
    password = "".join(secrets.choice(alphabet) for _ in range(length))
    template, key = spec.get("SecretStringTemplate"), spec.get("GenerateStringKey")
    if template and key:
        document = json.loads(template)
        document[key] = password
        return json.dumps(document)
    return password
