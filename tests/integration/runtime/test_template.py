"""Reading template.yaml: short tags, intrinsic functions, Globals, dependency order."""

import textwrap
from pathlib import Path

import pytest
from izin_local.lambda_runner import FunctionSpec
from izin_local.provisioner import email_addresses, shared_environment
from izin_local.template import NO_VALUE, Resolver, Template, TemplateError

TEMPLATE = """
Parameters:
  Stage: {Type: String, Default: local, AllowedValues: [local, prod]}
  Zones: {Type: CommaDelimitedList, Default: "a, b"}
  Required: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsLocal: !Not [!Condition IsProd]
  Both: !And [!Condition IsLocal, !Or [!Equals [1, 1], !Condition IsProd]]
Mappings:
  Sizes:
    local: {Memory: 128}
Globals:
  Function:
    Timeout: 10
    Layers: [!Ref Layer]
    Environment:
      Variables: {A: global-a, B: global-b}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dlq.Arn
  Dlq:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    DependsOn: Queue
    Properties:
      Timeout: 30
      Layers: [extra]
      Environment:
        Variables: {B: own-b, C: !Sub "${Queue.QueueName}-${AWS::Region}"}
  Layer:
    Type: AWS::Serverless::LayerVersion
  ProdOnly:
    Type: AWS::SNS::Topic
    Condition: IsProd
"""


@pytest.fixture
def resolver(tmp_path: Path) -> Resolver:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return Resolver(Template.load(path), parameter_values={"Required": "given"})


def test_short_tags_become_intrinsic_functions(tmp_path: Path):
    path = tmp_path / "t.yaml"
    path.write_text(
        textwrap.dedent(
            """
            A: !Ref X
            B: !GetAtt Res.Attr.Deep
            C: !Sub "x${Y}"
            D: !Sub ["${Z}", {Z: 1}]
            E: !If [Cond, 1, 2]
            F: !Join [",", [a, b]]
            G: !Select [0, !Split [",", "a,b"]]
            H: !FindInMap [M, K, V]
            I: !GetAZs ""
            J: !ImportValue Other
            K: !Condition Cond
            """
        )
    )
    assert Template.load(path).body == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["Res", "Attr.Deep"]},
        "C": {"Fn::Sub": "x${Y}"},
        "D": {"Fn::Sub": ["${Z}", {"Z": 1}]},
        "E": {"Fn::If": ["Cond", 1, 2]},
        "F": {"Fn::Join": [",", ["a", "b"]]},
        "G": {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]},
        "H": {"Fn::FindInMap": ["M", "K", "V"]},
        "I": {"Fn::GetAZs": ""},
        "J": {"Fn::ImportValue": "Other"},
        "K": {"Condition": "Cond"},
    }


def test_parameters_conditions_mappings_and_pseudo_parameters(resolver: Resolver):
    resolve = resolver.resolve
    assert resolve({"Ref": "Stage"}) == "local"
    assert resolve({"Ref": "Zones"}) == ["a", "b"]
    assert resolve({"Ref": "Required"}) == "given"
    assert resolve({"Fn::If": ["IsLocal", "yes", "no"]}) == "yes"
    assert resolver.condition("Both") is True
    assert resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}) == 128
    assert resolve({"Fn::Sub": "${AWS::StackName}:${AWS::AccountId}:${AWS::Region}"}) == (
        "izin-local:123456789012:ap-southeast-3"
    )
    assert resolve({"Fn::Sub": ["${A}-${!Literal}", {"A": {"Ref": "Stage"}}]}) == "local-${Literal}"
    assert resolve({"Fn::Join": ["/", ["a", {"Ref": "AWS::Partition"}]]}) == "a/aws"
    assert resolve({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}) == "y"
    assert resolve({"Fn::GetAZs": ""}) == ["ap-southeast-3a", "ap-southeast-3b", "ap-southeast-3c"]
    assert resolve({"K": {"Ref": "AWS::NoValue"}, "L": [1, {"Ref": "AWS::NoValue"}]}) == {"L": [1]}
    assert resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_parameter_rules(tmp_path: Path):
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    with pytest.raises(TemplateError, match="Required has no Default"):
        Resolver(Template.load(path))
    with pytest.raises(TemplateError, match="not one of"):
        Resolver(Template.load(path), parameter_values={"Required": "x", "Stage": "dev"})


def test_resources_resolve_once_registered_and_come_in_dependency_order(resolver: Resolver):
    assert resolver.creation_order() == ["Dlq", "Queue", "Layer", "Fn"]  # no ProdOnly
    with pytest.raises(TemplateError, match="not created"):
        resolver.resolve({"Fn::GetAtt": ["Queue", "QueueName"]})
    resolver.register("Queue", "http://q", {"QueueName": "q", "Arn": "arn:q"})
    assert resolver.resolve({"Ref": "Queue"}) == "http://q"
    assert resolver.resolve({"Fn::Sub": "${Queue.QueueName}!"}) == "q!"
    assert resolver.resolve({"Fn::GetAtt": "Queue.Missing"}) == "http://q.Missing"


def test_a_circular_dependency_is_named(tmp_path: Path):
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  A: {Type: AWS::SQS::Queue, Properties: {X: !Ref B}}\n"
        "  B: {Type: AWS::SQS::Queue, Properties: {X: !GetAtt A.Arn}}\n"
    )
    with pytest.raises(TemplateError, match=r"circular dependency among \['A', 'B'\]"):
        Resolver(Template.load(path)).creation_order()


def test_globals_merge_into_functions_as_sam_does(resolver: Resolver):
    properties = resolver.template.resources["Fn"]["Properties"]
    assert properties["Timeout"] == 30
    assert properties["Layers"] == [{"Ref": "Layer"}, "extra"]
    assert properties["Environment"]["Variables"] == {
        "A": "global-a",
        "B": "own-b",
        "C": {"Fn::Sub": "${Queue.QueueName}-${AWS::Region}"},
    }


def _spec(logical_id: str, environment: dict[str, str]) -> FunctionSpec:
    return FunctionSpec(
        logical_id=logical_id,
        name=logical_id,
        arn=f"arn:{logical_id}",
        handler="app.lambda_handler",
        code_dir=Path("."),
        runtime="python3.12",
        timeout=3,
        memory_size=128,
        environment=environment,
    )


def test_the_runtime_process_sees_the_variables_its_functions_agree_on():
    same = {"One": _spec("One", {"A": "1", "B": "2"}), "Two": _spec("Two", {"A": "1"})}
    assert shared_environment(same) == {"A": "1", "B": "2"}
    clash = {"One": _spec("One", {"A": "1", "B": "2"}), "Two": _spec("Two", {"A": "2"})}
    assert shared_environment(clash) == {"B": "2"}  # each function keeps its own A


def test_senders_are_found_in_environment_values():
    assert email_addresses({"MAIL_FROM": "Izin <no-reply@izin.example>", "X": "none"}) == {
        "no-reply@izin.example"
    }
