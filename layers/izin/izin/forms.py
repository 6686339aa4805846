"""A task page's form: its defaults for one application, and the validation of a POST.

The fields are the SOP table's (sop.py); this module gives them values and checks them.
A field the POST leaves out takes its default (CONTRACT §3: every field has a sensible
default or says what it needs); a field sent empty is the officer's answer, and a required
one sent empty is an error shown by the field. Every value keeps izin.values's bounds (text
drawable and single-line but in a text area, numbers DynamoDB and the documents hold, counts
whole, dates YYYY-MM-DD), so what a form accepts is what the step's documents can show.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from izin import values as bounds
from izin.calendar import WIB
from izin.roster import Roster, RosterError
from izin.sop import Amount, Decision, FieldKind, FormField, Role, Step

Values = dict[str, Any]
Errors = dict[str, str]

MAX_TEXT = 5000


@dataclass(frozen=True)
class Submission:
    """A valid POST: the decision and the step's values."""

    decision: Decision
    values: Values


class FormInvalid(ValueError):
    """The POST does not fill the form correctly; errors are by field name."""

    def __init__(self, errors: Errors, values: Mapping[str, Any]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.values = dict(values)


def defaults(step: Step, application: Mapping[str, Any], roster: Roster, today: date) -> Values:
    """The values a step's form starts with for this application."""
    data = application.get("data", {})
    picks_team = any(f.role == Role.TIM_TEKNIS for f in step.fields)
    team = roster.holders(Role.TIM_TEKNIS) if picks_team else ()
    computed: Values = {
        "tanggal_mulai": today.isoformat(),
        "tanggal_selesai": (today + timedelta(days=7)).isoformat(),
        "tanggal_pemeriksaan": today.isoformat(),
        "ketua": team[0].nip if team else "",
        "anggota": [o.nip for o in team[1:]],
        "kapasitas_sebelum": _number(data, "kapasitas_terpasang"),
        "kapasitas_penambahan": _number(data, "kapasitas_perluasan"),
        "kapasitas_sesudah": _sum(data),
        "kapasitas_terpasang_aktual": _number(data, "kapasitas_terpasang"),
        "investasi": str(data.get("jumlah_investasi", "")),
    }
    return {f.name: computed.get(f.name, f.default) for f in step.fields}


def parse(
    step: Step,
    form: Mapping[str, Sequence[str]],
    defaults_: Values,
    roster: Roster,
) -> Submission:
    """The POSTed form as a decision and values, or FormInvalid naming each bad field."""
    errors: Errors = {}
    values: Values = {}
    for field in step.fields:
        sent = form.get(field.name)
        if sent is None:
            raw: Any = defaults_.get(field.name, field.default)
        elif field.kind == FieldKind.OFFICERS:
            raw = [v for v in sent if v.strip()]
        else:
            raw = sent[-1] if sent else ""
        try:
            if len(sent or ()) > 1 and field.kind != FieldKind.OFFICERS:
                raise ValueError(_TWICE)
            values[field.name] = _value(field, raw, roster)
        except bounds.ValueRefused as refused:
            errors[field.name] = refused.indonesian
            values[field.name] = raw
        except ValueError as error:
            errors[field.name] = str(error)
            values[field.name] = raw
    decisions_sent = form.get("decision") or [""]
    try:
        decision = Decision(decisions_sent[-1]) if len(decisions_sent) == 1 else None
    except ValueError:
        decision = None
    if decision not in step.decisions:
        allowed = ", ".join(d.value for d in step.decisions)
        errors["decision"] = f"Pilih salah satu tombol keputusan ({allowed})."
    note = str(values.get("catatan") or "").strip()
    if decision == Decision.NO and step.no_needs_note and not note:
        errors["catatan"] = f"Catatan wajib diisi bila memilih \u201c{step.no_label}\u201d."
    asked = {f.name for f in step.fields}
    for rule in (rule for field_name, rule in RULES if field_name in asked):
        errors.update({k: v for k, v in rule(values).items() if k not in errors})
    if errors or decision is None:
        raise FormInvalid(errors, values)
    return Submission(decision, values)


def _value(field: FormField, raw: Any, roster: Roster) -> Any:
    if field.kind == FieldKind.OFFICERS:
        nips = [raw] if isinstance(raw, str) else list(raw)
        nips = [n for n in nips if n]
        for nip in nips:
            _officer(field, nip, roster)
        if field.required and not nips:
            raise ValueError("Pilih paling sedikit satu.")
        return nips
    text = str(raw).strip()
    if not text:
        if field.required:
            raise ValueError("Wajib diisi.")
        return None if field.kind == FieldKind.NUMBER else ""
    if len(text) > MAX_TEXT:
        raise ValueError(f"Paling panjang {MAX_TEXT} karakter.")
    if field.kind == FieldKind.NUMBER:
        return _AMOUNTS[field.amount](_number_text(text))
    if field.kind == FieldKind.DATE:
        return bounds.calendar_date(text)
    if field.kind == FieldKind.CHOICE:
        if text not in {value for value, _ in field.choices}:
            labels = ", ".join(label for _, label in field.choices)
            raise ValueError(f"Pilih salah satu: {labels}.")
        return text
    if field.kind == FieldKind.OFFICER:
        _officer(field, text, roster)
        return text
    return bounds.text(text, multiline=field.kind == FieldKind.TEXTAREA)


def _officer(field: FormField, nip: str, roster: Roster) -> None:
    if field.role is None or not any(o.nip == nip for o in roster.holders(field.role)):
        raise ValueError(f"NIP {nip} bukan anggota {field.label.lower()} dalam daftar petugas.")


_TWICE = "Isian ini terkirim lebih dari sekali; kirim satu nilai saja."

# How a NUMBER field's text becomes its value, within its bounds (ValueRefused outside).
_AMOUNTS: dict[Amount, Callable[[str], int | float]] = {
    Amount.QUANTITY: bounds.quantity,
    Amount.COUNT: bounds.count,
    Amount.RUPIAH: bounds.rupiah,
}


def _number_text(text: str) -> str:
    """A number as written in Indonesia (1.500.000 or 1.234,5, or 2,5) in Python's notation."""
    cleaned = text.replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", cleaned):
        return cleaned.replace(".", "").replace(",", ".")
    return cleaned.replace(",", ".")


def _number(data: Mapping[str, Any], key: str) -> str:
    value = (data.get(key) or {}).get("jumlah")
    return "" if value is None else _plain(value)


def _sum(data: Mapping[str, Any]) -> str:
    before = (data.get("kapasitas_terpasang") or {}).get("jumlah")
    added = (data.get("kapasitas_perluasan") or {}).get("jumlah")
    return "" if before is None or added is None else _plain(before + added)


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _team(values: Values) -> Errors:
    ketua, anggota = values.get("ketua"), values.get("anggota") or []
    if isinstance(ketua, str) and ketua and [n for n in anggota if n != ketua] == []:
        return {"anggota": "Tim Teknis paling sedikit dua orang: ketua dan satu anggota."}
    return {}


def _period(values: Values) -> Errors:
    start, end = values.get("tanggal_mulai"), values.get("tanggal_selesai")
    if isinstance(start, str) and isinstance(end, str) and start and end and end < start:
        return {"tanggal_selesai": "Tanggal selesai tidak boleh sebelum tanggal mulai."}
    return {}


def _capacity(values: Values) -> Errors:
    before, added, after = (
        values.get(k) for k in ("kapasitas_sebelum", "kapasitas_penambahan", "kapasitas_sesudah")
    )
    numbers = all(isinstance(v, int | float) for v in (before, added, after))
    if numbers and abs(before + added - after) > 1e-6:  # type: ignore[operator]
        return {
            "kapasitas_sesudah": "Kapasitas sesudah harus sama dengan sebelum ditambah penambahan."
        }
    return {}


def _incomplete(values: Values) -> Errors:
    if (
        values.get("kelengkapan") == "tidak_lengkap"
        and not str(values.get("catatan") or "").strip()
    ):
        return {"catatan": "Tuliskan apa yang belum lengkap: pemohon menerimanya lewat OSS."}
    return {}


# Rules across fields, for a form that asks for the named field: what one field cannot say.
RULES: tuple[tuple[str, Callable[[Values], Errors]], ...] = (
    ("kelengkapan", _incomplete),
    ("anggota", _team),
    ("tanggal_selesai", _period),
    ("kapasitas_sesudah", _capacity),
)


def field_text(field: FormField, value: Any, roster: Roster) -> str:
    """A stored form value as a person reads it: a choice's label, officers' names."""
    if value is None:
        return ""
    if field.kind == FieldKind.CHOICE:
        return dict(field.choices).get(str(value), str(value))
    if field.kind in (FieldKind.OFFICER, FieldKind.OFFICERS):
        nips = value if isinstance(value, list) else [value]
        names = []
        for nip in nips:
            try:
                names.append(roster.by_nip(str(nip)).nama)
            except RosterError:
                names.append(str(nip))
        return ", ".join(names)
    return str(value).strip()


def today_in_wib(now: datetime) -> date:
    """The date in Pontianak at this moment."""
    return now.astimezone(WIB).date()
