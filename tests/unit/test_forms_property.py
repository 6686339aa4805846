"""Every task form, fed values drawn from its fields' own bounds and from just outside them.

Whatever is posted, forms.parse either refuses it by field (FormInvalid) or accepts values
that DynamoDB stores as they are and that keep izin.values's bounds; and the task page's
door answers 2xx or 4xx, never 5xx. Pure and fast: forms.parse directly, a few through the
handler on the in-memory store.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from izin import forms, sop, values
from izin.event_types import EVENTS
from izin.memory_store import MemoryStore
from izin.roster import load_roster
from izin.sop import Amount, FieldKind, FormField, Step
from izin.store import _attr, _to_dynamo
from izin.tickets import Kind
from izin_local import samples
from izin_local.testing import ROSTER as ROSTER_FILE

pytestmark = pytest.mark.property

ROOT = Path(__file__).resolve().parents[2]
ROSTER = load_roster(ROSTER_FILE)
ID = "IP-PROP-0001"
APPLICATION = {"id_izin": ID, "data": samples.permohonan(ID)}
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

# Every form an officer is shown: the SOP's steps, the manual fallbacks, the reassignments.
FORMS: tuple[Step, ...] = (
    *(s for s in sop.STEPS if s.decisions),
    sop.UPLOAD_BY_HAND,
    *(e.record_task for e in EVENTS.values() if e.manual_form is not None),
    sop.reassign_form(sop.step(4)),
)
TICKETS: dict[str, dict[str, Any]] = {  # what a ticket of each form says, by the form's title
    **{s.activity: {"kind": Kind.STEP, "step": s.number} for s in sop.STEPS if s.decisions},
    sop.UPLOAD_BY_HAND.activity: {"kind": Kind.UPLOAD, "step": sop.UPLOAD_BY_HAND.number},
}

# -- values: in bounds, at them, and just outside -----------------------------------------

_DECIMAL = st.decimals(
    min_value=0, max_value=values.MAX_QUANTITY, places=values.MAX_DECIMALS, allow_nan=False
)
_INDONESIAN = _DECIMAL.map(lambda d: f"{d:,}".replace(",", "_").replace(".", ",").replace("_", "."))
# (in bounds, just outside) for each kind of number
_NUMBERS: dict[Amount, tuple[st.SearchStrategy[str], st.SearchStrategy[str]]] = {
    Amount.QUANTITY: (
        st.one_of(_DECIMAL.map(str), _INDONESIAN, st.just("1000000000000")),
        st.sampled_from(["1000000000000.000001", "0.0000001", "-0.5", "1e13"]),
    ),
    Amount.COUNT: (
        st.integers(0, values.MAX_COUNT).map(str),
        st.sampled_from(["1000000001", "1.5", "2,5", "-1"]),
    ),
    Amount.RUPIAH: (
        st.integers(0, values.MAX_RUPIAH).map(str),
        st.sampled_from([str(values.MAX_RUPIAH + 1), "1.000,5"]),
    ),
}
_NOT_NUMBERS = st.sampled_from(
    ["inf", "-inf", "nan", "NaN", "Infinity", "1e400", "1e-400", "1e38", "sNaN", "1e", " "]
)
_DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)).map(date.isoformat)
_NOT_DATES = st.sampled_from(
    ["2026-W49-2", "2026-335", "20261201", "2026-13-01", "2026-02-30", "2026-12-01T00:00"]
)
_LETTERS = st.characters(min_codepoint=0x20, max_codepoint=0x24F).filter(values.drawable)
# Characters the documents do not draw, or that a single line may not hold.
_STRANGERS = st.one_of(
    st.sampled_from(list("\n\r\t\x00\x1b\x7f\u200b\u202e\u2066\ufeff\U0001f600\u4e2d\u0627")),
    st.characters(codec="utf-8"),
)
_LONGEST = "x" * forms.MAX_TEXT


def _texts(multiline: bool) -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    letters = st.one_of(_LETTERS, st.just("\n")) if multiline else _LETTERS
    return (
        st.one_of(st.text(letters, min_size=1, max_size=80), st.just(_LONGEST)),
        st.one_of(
            st.text(st.one_of(_LETTERS, _STRANGERS), min_size=1, max_size=40),
            st.just(_LONGEST + "x"),
        ),
    )


def _nips(field: FormField) -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    holders = [o.nip for o in ROSTER.holders(field.role)] if field.role else []
    return st.sampled_from(holders or ["-"]), st.text("0123456789", max_size=19)


def one_value(field: FormField, clean: bool) -> st.SearchStrategy[str]:
    """A value for a field: within its bounds when `clean`, else anything near them."""
    kind = field.kind
    if kind == FieldKind.NUMBER:
        inside, outside = _NUMBERS[field.amount]
        outside = st.one_of(outside, _NOT_NUMBERS)
    elif kind == FieldKind.DATE:
        inside, outside = _DATES, _NOT_DATES
    elif kind == FieldKind.CHOICE:
        inside = st.sampled_from([v for v, _ in field.choices])
        outside = _texts(False)[1]
    elif kind in (FieldKind.OFFICER, FieldKind.OFFICERS):
        inside, outside = _nips(field)
    else:
        inside, outside = _texts(kind == FieldKind.TEXTAREA)
    return inside if clean else st.one_of(inside, outside)


@st.composite
def posts(draw: st.DrawFn, form: Step) -> dict[str, list[str]]:
    """A POST of the form: in bounds (each field sent once or left out), or anything near."""
    clean = draw(st.booleans())
    posted: dict[str, list[str]] = {}
    for field in form.fields:
        if draw(st.booleans()):
            continue  # left out: the field's default
        most = 3 if field.kind == FieldKind.OFFICERS or not clean else 1
        posted[field.name] = draw(st.lists(one_value(field, clean), min_size=1, max_size=most))
    decisions = st.sampled_from([d.value for d in form.decisions])
    posted["decision"] = [draw(decisions if clean else st.one_of(decisions, _texts(False)[1]))]
    return posted


def assert_storable(form: Step, accepted: dict[str, Any]) -> None:
    """DynamoDB takes the values as they are, and each keeps its field's bounds."""
    _attr(accepted)  # TypeSerializer: no NaN, no infinity, at most 38 digits
    kept = MemoryStore.seeded(APPLICATION, {1: accepted}).step_data(ID, 1)
    assert _to_dynamo(kept) == _to_dynamo(accepted)
    for field in form.fields:
        value = accepted[field.name]
        if field.kind == FieldKind.NUMBER and value is not None:
            assert isinstance(value, int) or field.amount == Amount.QUANTITY
            assert Decimal(repr(value)) <= values.MAX_RUPIAH
        elif field.kind in (FieldKind.TEXT, FieldKind.TEXTAREA):
            multiline = field.kind == FieldKind.TEXTAREA
            assert values.text(value, multiline=multiline) == value
            assert len(value) <= forms.MAX_TEXT
        elif field.kind == FieldKind.DATE:
            assert values.calendar_date(value) == value


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f"{f.number}-{f.activity[:30]}")
def test_every_accepted_form_is_storable_and_in_bounds(form: Step) -> None:
    defaults = forms.defaults(form, APPLICATION, ROSTER, TODAY)

    @given(posts(form))
    def check(posted: dict[str, list[str]]) -> None:
        try:
            submission = forms.parse(form, posted, defaults, ROSTER)
        except forms.FormInvalid as invalid:
            assert invalid.errors  # refused by field, never silently
            assert all(isinstance(e, str) and e for e in invalid.errors.values())
            return
        assert_storable(form, submission.values)

    check()


# -- a handful through the task page's door ----------------------------------------------


@pytest.mark.parametrize("number", [10, 11])
def test_the_door_answers_every_post_of_a_step_with_2xx_or_4xx(task_door: Any, number: int) -> None:
    @hypothesis_settings(max_examples=15)
    @given(posts(sop.step(number)))
    def check(posted: dict[str, list[str]]) -> None:
        ticket, officer = task_door.ticket(number)
        body = urlencode({**posted, **task_door.proof(ticket, officer)}, doseq=True)
        status = task_door.post(ticket, body)["statusCode"]
        assert 200 <= status < 500, status

    check()
