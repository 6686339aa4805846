"""The event registry: one entry per event of OSS and SIINAS, and the SOP table awaits each."""

from __future__ import annotations

import pytest
from izin import forms, sop
from izin.event_types import EVENTS, START, EventType
from izin.roster import load_roster
from izin_local.testing import ROSTER as ROSTER_FILE

AWAITED = [flow.event for s in sop.STEPS for flow in s.flow if isinstance(flow, sop.AwaitEvent)]
APPLICATION = {
    "id_izin": "IP-0001",
    "data": {"nib": "1234567890123"},
    "berkas": [{"nama": "Surat permohonan", "url": "https://siinas.example/berkas/1"}],
}


def test_every_event_but_the_start_is_awaited_by_exactly_one_state() -> None:
    assert sorted(AWAITED) == sorted(key for key in EVENTS if key != START.key)


@pytest.mark.parametrize("kind", list(EVENTS.values()), ids=list(EVENTS))
def test_an_event_s_fields_and_step_are_the_model_s_and_the_sop_s(kind: EventType) -> None:
    assert kind.key == f"{kind.source}:{kind.type}"
    assert sop.step(kind.sop_step).number == kind.sop_step
    assert set(kind.result_fields) <= set(kind.model.model_fields)
    assert set(kind.kept) <= set(kind.model.model_fields)


@pytest.mark.parametrize("kind", [k for k in EVENTS.values() if k.manual_form], ids=lambda k: k.key)
def test_an_event_recorded_by_hand_is_valid_data_of_its_model(kind: EventType) -> None:
    form = kind.record_task
    assert form.number == kind.sop_step and form.actor == sop.Role.OPERATOR
    values = {field.name: field.default or "2026-11-30" for field in form.fields}
    sent = {k: [v] for k, v in values.items()} | {"decision": ["done"]}
    submission = forms.parse(form, sent, {}, load_roster(ROSTER_FILE))
    assert kind.from_form is not None
    kind.model.model_validate(kind.from_form(APPLICATION, submission.values))


def test_the_start_event_is_not_recorded_by_hand() -> None:
    with pytest.raises(LookupError):
        _ = START.record_task
