"""The state machine's definition, generated from the SOP table (izin.sop), and its names.

`definition()` turns each step's `flow` into its states, in order: the officer's wait with
its Tenggat before it, the documents, the milestones to OSS, the decisions and their
send-backs. Every task gets the same Retry for its kind of resource and the same Catch to
the park state; the router "Mulai", which resumes a parked application, lists every state
an execution may start again at. `scripts/build_asl.py` writes it to
statemachine/izin_perluasan.asl.json; a unit test fails when the two differ.
"""

from __future__ import annotations

import json
from typing import Any, assert_never

from izin import sop
from izin.sop import ROLE_TITLES, Step

ROUTER = "Mulai"
PARK_STATE = "Dihentikan - Kegagalan Sistem"
FAILED = "TERHENTI"
# A Standard execution ends TIMED_OUT after one year, whatever its waits: before that, a
# wait for OSS or SIINAS continues the application in a new execution, and this one ends.
CONTINUED = "Dilanjutkan di Eksekusi Baru"
ASL_PATH = "statemachine/izin_perluasan.asl.json"

COMMENT = (
    "SOP Izin Perluasan - Bidang Perindustrian, Dinas Perindustrian dan Perdagangan "
    "Provinsi Kalimantan Barat. Satu state per langkah SOP."
)
UPLOAD_WAIT_SECONDS = 30 * 24 * 3600  # the SIINAS worker, or the Operator's manual upload

_BACKOFF = {"IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0}
LAMBDA_RETRY = [
    {
        "ErrorEquals": [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
            "Lambda.Unknown",
            "TransientError",
        ],
        **_BACKOFF,
        "MaxDelaySeconds": 30,
        "JitterStrategy": "FULL",
    }
]
SEND_RETRY = [{"ErrorEquals": ["States.ALL"], **_BACKOFF, "JitterStrategy": "FULL"}]
# A callback send must not retry its own timeout or failure: that would upload twice.
CALLBACK_SEND_RETRY = [
    {
        "ErrorEquals": ["SQS.SdkClientException", "SQS.AmazonSQSException"],
        **_BACKOFF,
        "JitterStrategy": "FULL",
    }
]
CATCH_ALL = {"ErrorEquals": ["States.ALL"], "ResultPath": "$.gagal", "Next": PARK_STATE}

State = dict[str, Any]


# -- the states' names ----------------------------------------------------------------------


def tenggat_name(step: Step) -> str:
    """The state that computes an officer's deadline before the wait, "05 Tenggat"."""
    return f"{step.code} Tenggat"


def state_name(step: Step, flow: sop.Flow) -> str:
    """The name of the state `flow` makes for `step` (an Ask's wait: the step's own name)."""
    match flow:
        case sop.Render(label=label) | sop.Seal(label=label):
            return f"{step.code} Dokumen - {label}"
        case sop.Milestone(label=label):
            return f"{step.code} OSS - {label}"
        case sop.Tembusan(activity=activity):
            return f"{step.code} {ROLE_TITLES[step.actor]} - {activity}"
        case sop.Branch(name=name) if name:
            return f"{step.code} {name}"
    return step.state_name


def budget_name(step: Step) -> str:
    """The state that gives a wait for OSS or SIINAS what is left of the execution's year."""
    return f"{step.code} Batas Tunggu"


def year_spent_name(step: Step) -> str:
    """The choice after the budget: wait on, or continue in a new execution."""
    return f"{step.code} Tahun Eksekusi Habis?"


def continuation_name(step: Step) -> str:
    """The state that carries a wait past the execution's year into a new execution."""
    return f"{step.code} Lanjut di Eksekusi Baru"


def entry(step: Step) -> str:
    """The first state of a step: where a send-back or a loop to it arrives."""
    first = step.flow[0]
    if isinstance(first, sop.Ask):
        return tenggat_name(step)
    if isinstance(first, sop.AwaitEvent):
        return budget_name(step)
    return state_name(step, first)


# -- the definition -------------------------------------------------------------------------


def _task(resource: str, parameters: dict[str, Any], result: str | None, **more: Any) -> State:
    retry = LAMBDA_RETRY
    if resource.startswith("arn:aws:states:::sqs:"):
        retry = CALLBACK_SEND_RETRY if resource.endswith(".waitForTaskToken") else SEND_RETRY
    return {
        "Type": "Task",
        "Resource": resource,
        "Parameters": parameters,
        **more,
        "ResultPath": result,
        "Retry": retry,
        "Catch": [CATCH_ALL],
    }


def _invoke_waiting(function: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "FunctionName": f"${{{function}FunctionArn}}",
        "Payload": {**payload, "task_token.$": "$$.Task.Token"},
    }


def _states_of(step: Step, flow: sop.Flow) -> list[tuple[str, State]]:
    """The states one item of a step's flow makes, in order, without their Next."""
    ids = {"id_izin.$": "$.id_izin"}
    name = state_name(step, flow)
    match flow:
        case sop.Record(reads=reads):
            parameters = {**ids, "step": step.number, **{f"{k}.$": v for k, v in reads}}
            state = _task("${ProgressFunctionArn}", parameters, None)
            return [(name, {**state, "Comment": step.meaning})]
        case sop.AwaitEvent(event=event, result=result):
            budget = _task(
                "${DeadlineFunctionArn}",
                {
                    **ids,
                    "step": step.number,
                    "execution_started.$": "$$.Execution.StartTime",
                    "previous.$": "$.batas",
                },
                "$.batas",
            )
            year_spent = {
                "Type": "Choice",
                "Comment": "Tahun eksekusi ini habis: lanjut di eksekusi baru; jika belum: tunggu.",
                "Choices": [
                    {
                        "Variable": "$.batas.lanjut_baru",
                        "BooleanEquals": True,
                        "Next": continuation_name(step),
                    }
                ],
                "Default": name,
            }
            payload = {
                **ids,
                "step": step.number,
                "event": event,
                "execution.$": "$$.Execution.Id",  # whose history confirms a hand-over
                "late.$": "$.batas.late",
            }
            wait = _task(
                "arn:aws:states:::lambda:invoke.waitForTaskToken",
                _invoke_waiting("AwaitEvent", payload),
                f"$.{result}",
                TimeoutSecondsPath="$.batas.timeout_seconds",
            )
            # Past its timeout the wait is late, or its execution's year is spent: the
            # budget counts the lateness (alarm, the Operator's record-by-hand link) and
            # waits again, or the application continues in a new execution.
            wait["Catch"] = [
                {
                    "ErrorEquals": ["States.Timeout"],
                    "ResultPath": "$.batas.habis",  # the budget sees the wait timed out
                    "Next": budget_name(step),
                },
                CATCH_ALL,
            ]
            return [
                (
                    budget_name(step),
                    {
                        "Comment": f"Batas tunggu langkah {step.number}: sampai terlambat "
                        "(hari kerja), paling lama sisa tahun eksekusi ini.",
                        **budget,
                    },
                ),
                (year_spent_name(step), year_spent),
                (name, {"Comment": step.meaning, **wait}),
            ]
        case sop.Ask():
            tenggat = tenggat_name(step)
            deadline = _task(
                "${DeadlineFunctionArn}",
                {**ids, "step": step.number, "previous.$": "$.sla"},
                "$.sla",
            )
            payload = {
                **ids,
                "step": step.number,
                "execution.$": "$$.Execution.Id",  # whose history tells a lost answer
                "reminders.$": "$.sla.reminders",
                "timeout_seconds.$": "$.sla.timeout_seconds",
                "deadline.$": "$.sla.deadline",
            }
            wait = _task(
                "arn:aws:states:::lambda:invoke.waitForTaskToken",
                _invoke_waiting("RequestTask", payload),
                f"$.{sop.slot(step.number)}",
                TimeoutSecondsPath="$.sla.timeout_seconds",
            )
            timeout = {
                "ErrorEquals": ["States.Timeout"],
                "ResultPath": "$.timeout",
                "Next": tenggat,
            }
            wait["Catch"] = [timeout, CATCH_ALL]
            return [
                (
                    tenggat,
                    {
                        "Comment": f"Tenggat langkah {step.number} dalam hari kerja; "
                        "setelah lewat: pengingat.",
                        **deadline,
                    },
                ),
                (name, {"Comment": step.meaning, **wait}),
            ]
        case sop.Render(jenis=jenis, label=label):
            return [_document(name, label, jenis, "render", f"$.documents.{jenis}")]
        case sop.Seal(label=label):
            return [_document(name, label, "pengesahan", "seal", "$.pengesahan")]
        case sop.Milestone(milestone=milestone, then_step=then_step):
            state = _task(
                "arn:aws:states:::sqs:sendMessage",
                {"QueueUrl": "${OssQueueUrl}", "MessageBody": {**ids, "milestone": milestone}},
                None,
            )
            if then_step is not None:  # a return: the SOP goes on at that step again
                state["Next"] = entry(sop.step(then_step))
            comment = f"Status ke OSS (receiveLicenseStatus): {milestone}."
            return [(name, {"Comment": comment, **state})]
        case sop.Tembusan(comment=comment):
            return [(name, {**_task("${TembusanFunctionArn}", ids, None), "Comment": comment})]
        case sop.Upload(note=note):
            state = _task(
                "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                {
                    "QueueUrl": "${SiinasQueueUrl}",
                    "MessageBody": {
                        **ids,
                        "task_token.$": "$$.Task.Token",
                        "execution.$": "$$.Execution.Id",
                    },
                },
                "$.unggah",
                TimeoutSeconds=UPLOAD_WAIT_SECONDS,
            )
            return [(name, {"Comment": f"{step.meaning} {note}", **state})]
        case sop.Branch():
            comment = flow.note if flow.name else " ".join(filter(None, (step.meaning, flow.note)))
            test = "BooleanEquals" if isinstance(flow.value, bool) else "StringEquals"
            otherwise = flow.otherwise
            answer = flow.variable.rsplit(".", 1)[0]  # "$.s13"
            returns = [
                {
                    "And": [
                        {"Variable": f"{answer}.{sop.KEMBALIKAN_KE}", "IsPresent": True},
                        {"Variable": f"{answer}.{sop.KEMBALIKAN_KE}", "StringEquals": r.value},
                    ],
                    "Next": entry(sop.step(r.step)),
                }
                for r in flow.returns
            ]
            state = {
                "Type": "Choice",
                "Comment": comment,
                "Choices": [
                    {"Variable": flow.variable, test: flow.value, "Next": flow.then},
                    *returns,
                ],
                "Default": entry(sop.step(otherwise)) if isinstance(otherwise, int) else otherwise,
            }
            return [(name, state)]
    assert_never(flow)


def _document(name: str, label: str, jenis: str, action: str, result: str) -> tuple[str, State]:
    parameters = {"id_izin.$": "$.id_izin", "jenis": jenis, "action": action}
    comment = f"Dokumen {label}: dibuat dari data langkah, disimpan di S3 dengan SHA-256."
    return name, {**_task("${DocumentFunctionArn}", parameters, result), "Comment": comment}


def _continuation(step: Step) -> State:
    """A wait past the execution's year: a new execution waits on, this one ends."""
    parameters = {
        "id_izin.$": "$.id_izin",
        "step": step.number,
        "execution.$": "$$.Execution.Name",
        "lanjut_dari": budget_name(step),
        "state.$": "$",
    }
    return {
        "Comment": f"Langkah {step.number} menunggu lebih lama dari satu eksekusi: "
        "permohonan dilanjutkan di eksekusi baru yang menunggu di langkah yang sama.",
        **_task("${ContinueFunctionArn}", parameters, None),
        "Next": CONTINUED,
    }


def _link(states: list[tuple[str, State]]) -> dict[str, State]:
    """Each state's Next is the state after it (unless it names its own: a return); a
    choice's empty target is that one too."""
    linked: dict[str, State] = {}
    for (name, state), following in zip(states, [*states[1:], (None, None)], strict=True):
        after = following[0]
        if state["Type"] == "Choice":
            for rule in state["Choices"]:
                rule["Next"] = rule["Next"] or after
        elif after is not None:
            state.setdefault("Next", after)
        linked[name] = state
    return linked


def _router(states: dict[str, State]) -> State:
    """The first state: a new application starts at step 1, a resumed one where it failed."""
    return {
        "Type": "Choice",
        "Comment": "Permohonan baru mulai dari langkah 01; permohonan yang TERHENTI "
        "dilanjutkan (izin resume) dari state yang gagal.",
        "Choices": [
            {
                "And": [
                    {"Variable": "$.lanjut_dari", "IsPresent": True},
                    {"Variable": "$.lanjut_dari", "StringEquals": name},
                ],
                "Next": name,
            }
            for name in resumable(states)
        ],
        "Default": next(iter(states)),
    }


def resumable(states: dict[str, State]) -> list[str]:
    """The states a parked application can start again at: every task but an officer's
    wait (which starts again at its Tenggat, for a fresh link) and the park state."""
    waits = {s.state_name for s in sop.STEPS if s.is_task}
    return [
        name
        for name, state in states.items()
        if state["Type"] == "Task" and name not in waits and name != PARK_STATE
    ]


def definition() -> dict[str, Any]:
    """The state machine of the SOP, as the ASL file holds it."""
    sequence = [pair for step in sop.STEPS for flow in step.flow for pair in _states_of(step, flow)]
    steps = _link(sequence)
    endings = {name: {"Type": "Succeed", "Comment": text} for name, text in sop.ENDINGS.items()}
    continuations = {
        continuation_name(step): _continuation(step)
        for step in sop.STEPS
        if any(isinstance(flow, sop.AwaitEvent) for flow in step.flow)
    }
    continued = {
        "Type": "Succeed",
        "Comment": "Eksekusi ini selesai; permohonan berjalan terus di eksekusi berikutnya "
        "(nama: <id>-lanjut-<n>, tercatat di jejak audit).",
    }
    # The execution's ARN: whose history tells the state that failed, kept for resuming.
    park_input = {"id_izin.$": "$.id_izin", "gagal.$": "$.gagal", "execution.$": "$$.Execution.Id"}
    park = _task("${ParkFunctionArn}", park_input, None)
    del park["Catch"]  # the last resort: a Catch here could only loop back into it
    failure = {
        "Type": "Fail",
        "Error": "PermohonanDihentikan",
        "Cause": "Sebuah langkah gagal permanen; lihat catatan permohonan (izin status) untuk "
        "alasannya.",
    }
    park_comment = (
        "Langkah gagal permanen: permohonan TERHENTI, alasan disimpan, Operator diberi tahu."
    )
    return {
        "Comment": COMMENT,
        "StartAt": ROUTER,
        "States": {
            ROUTER: _router(steps),
            **steps,
            **endings,
            **continuations,
            CONTINUED: continued,
            PARK_STATE: {"Comment": park_comment, **park, "Next": FAILED},
            FAILED: failure,
        },
    }


def render() -> str:
    """The definition as the file's text."""
    return json.dumps(definition(), indent=2, ensure_ascii=False) + "\n"
