"""The state machine's definition, checked as no linter does (cfn-lint and `sam validate`
read the template, not the ASL file it names).

Every state machine of template.yaml is read from its `DefinitionUri`: its graph is walked
(targets exist, everything reachable, no dead ends), its `${...}` placeholders matched
with `DefinitionSubstitutions`, and its error handling held to STYLE.md: every task retries
Lambda's transient errors and has a Catch, every human wait times out, every error name it
matches is an exception class of the izin package, and the SOP's steps are its states.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import izin
import pytest
from izin import sop, workflow
from izin.sop import STEPS
from izin_local.template import Template

ROOT = Path(__file__).resolve().parents[2]

# The state every Catch leads to: it parks the application, and has nowhere left to go.
PARK_STATE = "Dihentikan - Kegagalan Sistem"
# Error names of the service integrations themselves, not of our code.
SERVICE_ERROR_PREFIXES = ("States.", "Lambda.", "SQS.")
LAMBDA_TRANSIENT_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
TERMINAL_TYPES = {"Succeed", "Fail"}
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")

Definition = dict[str, Any]


# --- the walker --------------------------------------------------------------------------


def successors(state: dict[str, Any]) -> list[str]:
    """The states `state` can hand over to: Next, Default, each Choice's and Catch's Next."""
    targets = [state[key] for key in ("Next", "Default") if key in state]
    targets += [rule["Next"] for rule in state.get("Choices", []) if "Next" in rule]
    targets += [catcher["Next"] for catcher in state.get("Catch", []) if "Next" in catcher]
    return targets


def is_terminal(state: dict[str, Any]) -> bool:
    return state["Type"] in TERMINAL_TYPES or state.get("End") is True


def graphs(definition: Definition, where: str = "") -> Iterator[tuple[str, Definition]]:
    """The definition and every nested one (Parallel branches, Map processors)."""
    yield where or "top level", definition
    for name, state in definition["States"].items():
        for index, branch in enumerate(state.get("Branches", [])):
            yield from graphs(branch, f"{where}{name}/branch {index}/")
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from graphs(state[key], f"{where}{name}/{key}/")


def graph_problems(definition: Definition) -> list[str]:
    """What is wrong with the graph: missing targets, unreachable states, dead ends."""
    problems = []
    for where, graph in graphs(definition):
        states = graph["States"]
        if graph["StartAt"] not in states:
            problems.append(f"{where}: StartAt {graph['StartAt']!r} is not a state")
        for name, state in states.items():
            problems += [
                f"{where}: {name!r} goes to {target!r}, which is not a state"
                for target in successors(state)
                if target not in states
            ]
            if not is_terminal(state) and not successors(state):
                problems.append(f"{where}: {name!r} is a dead end (no Next, no End)")
        forward = {name: successors(state) for name, state in states.items()}
        reachable = _closure([graph["StartAt"]], forward)
        problems += [
            f"{where}: {name!r} is not reachable from StartAt"
            for name in states
            if name not in reachable
        ]
        # From every state, some way must lead to an end: no loop without an exit.
        backward: dict[str, list[str]] = {name: [] for name in states}
        for name, targets in forward.items():
            for target in targets:
                backward.setdefault(target, []).append(name)
        ends = [name for name, state in states.items() if is_terminal(state)]
        finishing = _closure(ends, backward)
        problems += [
            f"{where}: no path from {name!r} ever ends"
            for name in states
            if name in reachable and name not in finishing
        ]
    return problems


def _closure(start: list[str], edges: dict[str, list[str]]) -> set[str]:
    """Every state reached from `start` along `edges` (names that are no state stop there)."""
    seen: set[str] = set()
    pending = [name for name in start if name in edges]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending += [target for target in edges[name] if target in edges]
    return seen


def all_states(definition: Definition) -> dict[str, dict[str, Any]]:
    """Every state by name, nested ones included."""
    return {
        name: state for _, graph in graphs(definition) for name, state in graph["States"].items()
    }


# --- the state machines of the template -----------------------------------------------


@cache
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


def state_machines() -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template().resources.items()
        if resource["Type"] == "AWS::Serverless::StateMachine"
    }


@pytest.fixture(params=sorted(state_machines()))
def machine(request: pytest.FixtureRequest) -> tuple[dict[str, Any], str, Definition]:
    """(template properties, ASL text, ASL definition) of one state machine."""
    properties = state_machines()[request.param]
    text = (ROOT / properties["DefinitionUri"]).read_text(encoding="utf-8")
    return properties, text, json.loads(text)


def test_the_template_has_the_state_machine_of_the_sop() -> None:
    uris = [properties.get("DefinitionUri") for properties in state_machines().values()]
    assert "statemachine/izin_perluasan.asl.json" in uris


def test_the_graph_is_whole(machine: tuple[dict[str, Any], str, Definition]) -> None:
    _, _, definition = machine
    assert graph_problems(definition) == []


def test_every_placeholder_has_a_substitution_and_every_substitution_is_used(
    machine: tuple[dict[str, Any], str, Definition],
) -> None:
    properties, text, _ = machine
    placeholders = set(_PLACEHOLDER.findall(text))
    substitutions = set(properties.get("DefinitionSubstitutions") or {})
    assert sorted(placeholders - substitutions) == [], "placeholders without a substitution"
    assert sorted(substitutions - placeholders) == [], "substitutions the ASL never uses"


def _tasks(definition: Definition) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in all_states(definition).items() if s["Type"] == "Task"}


def _invokes_lambda(state: dict[str, Any]) -> bool:
    resource = state["Resource"]
    return resource.startswith("arn:aws:states:::lambda:") or resource.endswith("FunctionArn}")


def test_every_task_retries_and_catches(machine: tuple[dict[str, Any], str, Definition]) -> None:
    _, _, definition = machine
    tasks = _tasks(definition)
    assert PARK_STATE in tasks
    without_retry = [name for name, state in tasks.items() if not state.get("Retry")]
    without_catch = [
        name for name, state in tasks.items() if not state.get("Catch") and name != PARK_STATE
    ]
    assert without_retry == []
    assert without_catch == []
    # Parking is the last resort: a Catch there could only loop back into it.
    assert "Catch" not in tasks[PARK_STATE]


def test_every_lambda_task_retries_lambdas_transient_errors(
    machine: tuple[dict[str, Any], str, Definition],
) -> None:
    _, _, definition = machine
    lacking = {}
    for name, state in _tasks(definition).items():
        if _invokes_lambda(state):
            retried = {error for rule in state.get("Retry", []) for error in rule["ErrorEquals"]}
            if "States.ALL" not in retried and not retried >= LAMBDA_TRANSIENT_ERRORS:
                lacking[name] = sorted(LAMBDA_TRANSIENT_ERRORS - retried)
    assert lacking == {}


def test_every_human_wait_times_out(machine: tuple[dict[str, Any], str, Definition]) -> None:
    _, _, definition = machine
    waits = {n: s for n, s in _tasks(definition).items() if ".waitForTaskToken" in s["Resource"]}
    assert waits, "the SOP has callback steps"
    endless = [
        name
        for name, state in waits.items()
        if "TimeoutSeconds" not in state and "TimeoutSecondsPath" not in state
    ]
    assert endless == []


@cache
def izin_exception_classes() -> frozenset[str]:
    """The names of the exception classes defined in the izin package, any module."""
    names: set[str] = set()
    for module_info in pkgutil.walk_packages(izin.__path__, prefix="izin."):
        module = importlib.import_module(module_info.name)
        names.update(
            name
            for name, value in inspect.getmembers(module, inspect.isclass)
            if issubclass(value, BaseException) and value.__module__.startswith("izin")
        )
    return frozenset(names)


def test_every_error_name_matched_is_a_class_of_ours(
    machine: tuple[dict[str, Any], str, Definition],
) -> None:
    _, _, definition = machine
    matched = {
        error
        for state in all_states(definition).values()
        for rule in [*state.get("Retry", []), *state.get("Catch", [])]
        for error in rule["ErrorEquals"]
    }
    ours = {error for error in matched if not error.startswith(SERVICE_ERROR_PREFIXES)}
    assert sorted(ours - izin_exception_classes()) == [], "no such exception class in izin"


def test_every_step_of_the_sop_is_a_state() -> None:
    (properties,) = [
        p
        for p in state_machines().values()
        if p["DefinitionUri"] == "statemachine/izin_perluasan.asl.json"
    ]
    definition = json.loads((ROOT / properties["DefinitionUri"]).read_text(encoding="utf-8"))
    states = all_states(definition)
    assert len(STEPS) == 20
    assert [s.state_name for s in STEPS if s.state_name not in states] == []


def test_the_committed_asl_is_the_one_generated_from_the_sop_table() -> None:
    committed = (ROOT / workflow.ASL_PATH).read_text(encoding="utf-8")
    assert committed == workflow.render(), "run scripts/build_asl.py after changing izin.sop"


def test_every_officer_s_step_asks_once_and_no_other_step_does() -> None:
    asking = [s.number for s in STEPS if any(isinstance(f, sop.Ask) for f in s.flow)]
    assert asking == [s.number for s in STEPS if s.is_task]
    assert all(sum(isinstance(f, sop.Ask) for f in s.flow) <= 1 for s in STEPS)
    assert all(s.flow for s in STEPS), "every step runs as at least one state"


def test_every_state_of_a_step_carries_its_number_in_name_and_payload() -> None:
    states = workflow.definition()["States"]
    for step in STEPS:
        for flow in step.flow:
            name = workflow.state_name(step, flow)
            assert name.startswith(step.code), name
            payload = states[name].get("Parameters", {})
            payload = payload.get("Payload", payload)
            assert payload.get("step", step.number) == step.number, name


def test_an_officer_s_answer_lands_in_its_step_s_slot() -> None:
    states = workflow.definition()["States"]
    for step in STEPS:
        if step.is_task:
            assert states[step.state_name]["ResultPath"] == f"$.{sop.slot(step.number)}"


def test_the_script_checks_the_committed_file() -> None:
    script = ROOT / "scripts" / "build_asl.py"
    checked = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


# --- the walker on broken definitions: it must see what it is there to see --------------


def _task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "${FunctionArn}", **fields}


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        pytest.param(
            {"A": _task(Next="B"), "B": {"Type": "Succeed"}},
            [],
            id="whole",
        ),
        pytest.param(
            {"A": _task(Next="Bee"), "B": {"Type": "Succeed"}},
            ["'A' goes to 'Bee', which is not a state", "'B' is not reachable"],
            id="misspelt Next",
        ),
        pytest.param(
            {
                "A": {"Type": "Choice", "Choices": [{"Next": "B"}], "Default": "Nowhere"},
                "B": {"Type": "Succeed"},
            },
            ["'A' goes to 'Nowhere', which is not a state"],
            id="misspelt Default",
        ),
        pytest.param(
            {
                "A": _task(Next="B", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Park"}]),
                "B": {"Type": "Succeed"},
            },
            ["'A' goes to 'Park', which is not a state"],
            id="misspelt Catch",
        ),
        pytest.param(
            {"A": _task(End=True), "B": {"Type": "Succeed"}},
            ["'B' is not reachable from StartAt"],
            id="orphan",
        ),
        pytest.param(
            {"A": _task(Next="B"), "B": _task()},
            ["'B' is a dead end"],
            id="dead end",
        ),
        pytest.param(
            {
                "A": _task(Next="B"),
                "B": {"Type": "Choice", "Choices": [{"Next": "A"}], "Default": "A"},
                "C": {"Type": "Succeed"},
            },
            ["'C' is not reachable", "no path from 'A' ever ends", "no path from 'B' ever ends"],
            id="loop without exit",
        ),
        pytest.param(
            {
                "A": {
                    "Type": "Parallel",
                    "Branches": [{"StartAt": "X", "States": {"X": _task(Next="Y")}}],
                    "End": True,
                }
            },
            ["'X' goes to 'Y', which is not a state", "no path from 'X' ever ends"],
            id="inside a branch",
        ),
    ],
)
def test_the_walker_finds_what_is_broken(states: dict[str, Any], expected: list[str]) -> None:
    problems = graph_problems({"StartAt": "A", "States": states})
    for fragment in expected:
        assert any(fragment in problem for problem in problems), (fragment, problems)
    if not expected:
        assert problems == []


def test_an_incomplete_file_returns_to_the_wait_for_siinas_through_oss_status_11() -> None:
    states = workflow.definition()["States"]
    check = states["04 Berkas Belum Lengkap?"]
    [rule] = check["Choices"]
    assert (rule["Variable"], rule["StringEquals"]) == ("$.s04.kelengkapan", "tidak_lengkap")
    assert check["Default"] == "05 Dokumen - Surat Pengantar Kepala Bidang"
    told = states[rule["Next"]]
    assert told["Parameters"]["MessageBody"]["milestone"] == "dokumen_belum_lengkap"
    assert told["Next"] == "02 Batas Tunggu"


@pytest.mark.parametrize(("check", "name"), [(13, "13 Lengkap?"), (14, "14 Disetujui?")])
def test_a_no_at_the_checks_goes_to_whoever_owns_what_must_change(check: int, name: str) -> None:
    """The BAP's data to the Tim Teknis (11), the letter to the Kasi (12); a "no" that names
    nothing (CONTRACT §3: decision and catatan alone) to the Kasi, as before."""
    states = workflow.definition()["States"]
    choice = states[name]
    yes, *returns = choice["Choices"]
    assert (yes["Variable"], yes["StringEquals"]) == (f"$.s{check}.decision", "yes")
    routes = {}
    for rule in returns:
        present, equals = rule["And"]
        assert present == {"Variable": f"$.s{check}.kembalikan_ke", "IsPresent": True}
        assert equals["Variable"] == f"$.s{check}.kembalikan_ke"
        routes[equals["StringEquals"]] = rule["Next"]
    assert routes == {"bap": "11 Tenggat", "surat_pengantar": "12 Tenggat"}
    assert choice["Default"] == "12 Tenggat"
    # Back at 11 the BAP is made again, then the Kasi's step 12 and its letter, then 13.
    assert states["11 Tim Teknis - Pembuatan Berita Acara Pemeriksaan"]["Next"] == (
        "11 Dokumen - Berita Acara Pemeriksaan"
    )
    assert states["11 Dokumen - Berita Acara Pemeriksaan"]["Next"] == "12 Tenggat"
    assert states["12 Kasi - Laporan dan Surat Pengantar Tembusan BAP"]["Next"] == (
        "12 Dokumen - Surat Pengantar DPMPTSP"
    )
    assert states["12 Dokumen - Surat Pengantar DPMPTSP"]["Next"] == "13 Tenggat"


def test_the_sop_table_says_who_is_asked_again_by_a_send_back() -> None:
    assert [s.number for s in sop.sent_back_by(11)] == [13, 14]
    assert [s.number for s in sop.sent_back_by(12)] == [13, 14]
    assert [s.number for s in sop.sent_back_by(13)] == [14]  # passed again on the way back
    assert sop.sent_back_by(10) == () and sop.sent_back_by(14) == ()
    reopened = [s.number for s in STEPS if sop.reopened_by_send_back(s.number)]
    assert reopened == [11, 12]  # 13 decides anew on a return from 14
    field = next(f for f in sop.step(13).fields if f.name == sop.KEMBALIKAN_KE)
    assert field.default == "surat_pengantar" and sop.step(14).fields == sop.step(13).fields
    branch = sop.branch_on(13)
    assert branch is not None and branch.otherwise == 12
    assert branch.sent_to("bap") == sop.RETURNS[1] and branch.sent_to("") is None
