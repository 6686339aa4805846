"""Each function calls AWS as its own execution role: what the template does not grant fails.

The roles come from the template through the SAM transform; moto, patched, refuses a call
the role does not allow on the resource it touches, as AWS does.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from izin_local.lambda_runner import LambdaError
from izin_local.runtime import LocalRuntime

FIXTURE = Path(__file__).parent / "fixture"


def _runtime_with(tmp_path: Path, old: str, new: str) -> LocalRuntime:
    text = (FIXTURE / "template.yaml").read_text()
    assert old in text
    (tmp_path / "template.yaml").write_text(text.replace(old, new, 1))
    for folder in ("functions", "statemachine"):
        (tmp_path / folder).symlink_to(FIXTURE / folder)
    return LocalRuntime(tmp_path / "template.yaml", tmp_path / "state")


@pytest.fixture(scope="module")
def scoped_elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    """FlakyFunction may write a table, but not the one it writes; CallbackFunction lost
    its only permission."""
    tmp_path = tmp_path_factory.mktemp("iam")
    with _runtime_with(
        tmp_path,
        "      Policies:\n        - DynamoDBCrudPolicy: {TableName: !Ref Table}\n",
        "      Policies:\n        - DynamoDBCrudPolicy: {TableName: another-table}\n",
    ) as runtime:
        yield runtime


def test_the_template_s_own_policy_lets_the_function_work(runtime: LocalRuntime):
    assert runtime.invoke("FlakyFunction", {"key": "allowed"}) == {"attempts": 1}


def test_a_policy_scoped_to_another_resource_is_access_denied(scoped_elsewhere: LocalRuntime):
    with pytest.raises(LambdaError) as denied:
        scoped_elsewhere.invoke("FlakyFunction", {"key": "denied"})
    assert "AccessDeniedException" in str(denied.value)
    assert "FlakyFunctionRole" in str(denied.value)
    assert "dynamodb:UpdateItem" in str(denied.value)


def test_a_transaction_is_allowed_as_its_writes_are(runtime: LocalRuntime, tmp_path: Path):
    """IAM has no action for TransactWriteItems: each write needs its own PutItem or
    UpdateItem on its table, as AWS authorizes it."""
    assert runtime.invoke("FlakyFunction", {"key": "t", "together": True}) == {"written": 2}
    with (
        _runtime_with(
            tmp_path,
            "      Policies:\n        - DynamoDBCrudPolicy: {TableName: !Ref Table}\n",
            "      Policies:\n        - Statement:\n            - Effect: Allow\n"
            "              Action: [dynamodb:PutItem]\n"
            "              Resource: !GetAtt Table.Arn\n",
        ) as put_only,
        pytest.raises(LambdaError) as denied,
    ):
        put_only.invoke("FlakyFunction", {"key": "t", "together": True})
    assert "AccessDeniedException" in str(denied.value)
    assert "dynamodb:UpdateItem" in str(denied.value)


def test_a_function_without_the_action_is_access_denied(tmp_path: Path):
    with (
        _runtime_with(
            tmp_path,
            "              Action: [states:SendTaskSuccess]\n",
            "              Action: [states:SendTaskFailure]\n",
        ) as runtime,
        pytest.raises(LambdaError) as denied,
    ):
        runtime.invoke("CallbackFunction", {"token": "t", "answer": 1})
    assert "AccessDeniedException" in str(denied.value)
    assert "states:SendTaskSuccess" in str(denied.value)


def test_each_function_has_a_role_of_its_own(runtime: LocalRuntime):
    roles = runtime.provisioned.roles
    assert roles["FlakyFunction"].logical_id == "FlakyFunctionRole"
    actions = {
        action
        for statement in roles["CallbackFunction"].statements()
        for action in statement["Action"]
    }
    assert actions == {"states:SendTaskSuccess"}


def test_the_state_machine_calls_as_its_own_role(tmp_path: Path, run_execution):
    with _runtime_with(
        tmp_path,
        "        - LambdaInvokePolicy:\n            FunctionName: !Ref FlakyFunction\n",
        "",
    ) as runtime:
        echoed = run_execution(runtime, {"mode": "echo"})
        assert echoed["status"] == "SUCCEEDED", echoed
        refused = run_execution(runtime, {"mode": "flaky", "key": "k"})
    assert refused["status"] == "FAILED"
    assert "FlowRole" in refused.get("cause", ""), refused
    assert "lambda:InvokeFunction" in refused.get("cause", ""), refused
