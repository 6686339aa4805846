"""The roster page, /konsol/petugas (issue #14): the console's people list every officer and
add or change one (peran, nama, NIP, jabatan, email, pangkat, golongan, aktif/nonaktif).

The page is the console's (izin.console: its sign-in gate, its CSRF token, same-site POSTs).
A change is checked field by field (the errors in Indonesian by each field, what was typed
kept), applied to the roster as the table holds it now and written with the version it was
read at (`Store.replace_roster`; a lost race is applied again to the newer roster), then
audited in the officer's own trail with who, when and each field before and after. The
first change writes the seed (the configured roster file) with it. Adding an officer, or
an admin's re-enrollment, emails the enrollment link (izin.enrollment.start_enrollment).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import EmailStr, TypeAdapter, ValidationError

from izin import sessions, sop, values
from izin.auth import Auth
from izin.console import done_notice, gate
from izin.enrollment import start_enrollment
from izin.mail import Mailer
from izin.observability import logger
from izin.roster import TABLE_FIELDS, Officer, Roster, listed, table_fields
from izin.store import ConditionFailed, Store
from izin.tasks.context import Page, Request
from izin.templating import render

PATH = "/konsol/petugas"
# The roles an officer may hold (the SOP's officers, and the console's admin).
ROLES = (
    sop.Role.OPERATOR,
    sop.Role.KASI,
    sop.Role.KEPALA_BIDANG,
    sop.Role.TIM_TEKNIS,
    sop.Role.KEPALA_DINAS,
    sop.Role.ADMIN,
)
# The roles some SOP step is acted on by: one must keep an active holder.
_ACTING = frozenset(step.actor for step in sop.STEPS) & frozenset(ROLES)
_FORM_PURPOSE = "petugas"  # the CSRF token's purpose: every form of the page
_TRIES = 3  # a save that loses the version race is applied again to the newer roster
_LIMITS = {"nama": 120, "jabatan": 200, "pangkat": 60, "golongan": 10}
_GOLONGAN = ("I", "II", "III", "IV")
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)
STALE = "Formulir kedaluwarsa; muat ulang halaman lalu coba lagi."


class Refused(ValueError):
    """A change the roster does not take; `errors` maps a field ("" for the form) to why."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class Saved:
    """What a save did: the officer as saved, each field changed (before, after), and
    whether the officer is new."""

    officer: Officer
    changes: dict[str, tuple[Any, Any]]
    added: bool


def read_officer(
    form: Mapping[str, Sequence[str]], nip: str = ""
) -> tuple[dict[str, str], Officer]:
    """The officer the form describes (the NIP given when it edits one), or Refused with
    an Indonesian reason by each bad field. Returns the values as typed too."""
    typed = {name: (form.get(name) or [""])[-1].strip() for name in TABLE_FIELDS}
    if nip:
        typed["nip"] = nip
    errors: dict[str, str] = {}
    if typed["role"] not in {r.value for r in ROLES}:
        errors["role"] = "Pilih peran petugas."
    for name in ("nama", "jabatan"):
        if not typed[name]:
            errors[name] = f"{name.capitalize()} wajib diisi."
    for name, limit in _LIMITS.items():
        if name in errors:
            continue
        try:
            typed[name] = values.text(typed[name])
        except values.ValueRefused as refused:
            errors[name] = refused.indonesian
            continue
        if len(typed[name]) > limit:
            errors[name] = f"Paling banyak {limit} karakter."
    if not _is_nip(typed["nip"]):
        errors["nip"] = "NIP harus 18 angka, tanpa spasi."
    try:
        typed["email"] = _EMAIL.validate_python(typed["email"])
    except ValidationError:
        errors["email"] = "Alamat email tidak valid (contoh: nama@kalbarprov.go.id)."
    if typed["golongan"] and "golongan" not in errors:
        ruang, _, huruf = typed["golongan"].partition("/")
        if ruang not in _GOLONGAN or huruf not in tuple("abcde"):
            errors["golongan"] = "Tulis golongan seperti III/a atau IV/c."
    if typed["aktif"] not in ("ya", "tidak"):
        errors["aktif"] = "Pilih aktif atau nonaktif."
    if errors:
        raise Refused(errors)
    return typed, Officer.model_validate({**typed, "aktif": typed["aktif"] == "ya"})


def save_officer(
    store: Store,
    seed: Roster,
    officer: Officer,
    *,
    editing: bool,
    by: Officer,
    now: datetime,
) -> Saved:
    """Add the officer (or, `editing`, replace the one with their NIP) in the roster the table
    holds, the seed's while it holds none; audit it. Refused says why it cannot be."""
    for _ in range(_TRIES):
        record = store.roster_record()
        everyone = listed(record, seed)
        before = next((o for o in everyone.officers if o.nip == officer.nip), None)
        _check(everyone, before, officer, editing=editing, by=by)
        changes = _changes(before, officer)
        if not changes:
            return Saved(officer, {}, added=False)
        officers = [officer if o.nip == officer.nip else o for o in everyone.officers]
        if before is None:
            officers.append(officer)
        fields = {
            "officers": [table_fields(o) for o in officers],
            "dpmptsp_email": str(everyone.dpmptsp_email),
            "updated_at": now.isoformat(),
            "updated_by": {"nama": by.nama, "nip": by.nip},
        }
        if record is None:
            if not store.seed_roster(fields):
                continue
        else:
            try:
                store.replace_roster(fields, version=int(record["version"]))
            except ConditionFailed:
                continue
        store.append_officer_audit(
            officer.nip,
            {
                "action": "roster.officer_added" if before is None else "roster.officer_changed",
                "actor": by.nama,
                "nip": by.nip,
                "changes": {k: {"before": b, "after": a} for k, (b, a) in changes.items()},
            },
            now=now,
        )
        logger.info("roster changed", extra={"officer": officer.nip, "fields": sorted(changes)})
        return Saved(officer, changes, added=before is None)
    raise Refused({"": "Daftar petugas sedang diubah orang lain; coba simpan lagi."})


def _check(
    everyone: Roster, before: Officer | None, after: Officer, *, editing: bool, by: Officer
) -> None:
    if editing and before is None:
        raise Refused({"": f"Petugas NIP {after.nip} tidak ada di daftar."})
    if not editing and before is not None:
        raise Refused({"nip": f"NIP ini sudah terdaftar atas nama {before.nama}."})
    address = str(after.email).casefold()  # a task email names its officer by address
    twin = next(
        (o for o in everyone.officers if str(o.email).casefold() == address and o.nip != after.nip),
        None,
    )
    if twin is not None:
        raise Refused({"email": f"Email ini sudah dipakai {twin.nama}."})
    if after.nip == by.nip and (not after.aktif or after.role != by.role):
        # An admin who made themself inactive, or moved themself out of the console's roles,
        # would lock themself out of this very page.
        raise Refused({"aktif": "Anda tidak dapat menonaktifkan atau mengubah peran diri sendiri."})
    if before is not None and before.aktif and before.role in _ACTING:
        others = [o for o in everyone.officers if o.nip != after.nip]
        left = [o for o in (*others, after) if o.aktif and o.role == before.role]
        if not left:
            title = sop.ROLE_TITLES[before.role]
            raise Refused(
                {
                    "aktif": f"{before.nama} satu-satunya {title} aktif: tambahkan atau "
                    f"aktifkan dahulu {title} lain, agar tugas {title} tetap ada yang menerima."
                }
            )


def _changes(before: Officer | None, after: Officer) -> dict[str, tuple[Any, Any]]:
    new = table_fields(after)
    old = table_fields(before) if before is not None else dict.fromkeys(new)
    return {name: (old[name], new[name]) for name in TABLE_FIELDS if old[name] != new[name]}


# -- the page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enroll:
    """What emailing an enrollment link needs besides the Auth: the mailer."""

    mailer: Mailer


def roster_page(
    request: Request,
    auth: Auth,
    *,
    method: str,
    seed: Roster,
    enroll: Enroll,
    same_site: bool,
) -> Page:
    """GET /konsol/petugas: the officers and the form (add, or ?nip= to change one);
    POST: save the form, or email an officer a new enrollment link."""
    signed = gate(request, auth, method)
    if isinstance(signed, Page):
        return signed
    if method in ("GET", "HEAD"):
        nip = request.query.get("nip", "")
        return _page(
            request,
            auth,
            signed,
            seed,
            nip=nip,
            notice=done_notice(request.query, _NOTICES, _is_nip),
        )
    form = request.form
    sent = (form.get("csrf") or [""])[-1]
    editing = (form.get("nip_asal") or [""])[-1].strip()
    typed = {name: (form.get(name) or [""])[-1] for name in TABLE_FIELDS}
    if not same_site or not sessions.form_token_ok(auth, signed, _FORM_PURPOSE, sent):
        return _page(
            request, auth, signed, seed, nip=editing, typed=typed, errors={"": STALE}, status=403
        )
    by = signed.officer
    if (form.get("aksi") or [""])[-1] == "daftar_ulang":
        officer = next((o for o in auth.roster.officers if o.nip == editing), None)
        if officer is None:
            errors = {"": "Hanya petugas aktif yang dapat didaftarkan ulang."}
            return _page(request, auth, signed, seed, nip=editing, errors=errors, status=409)
        _enroll(auth, enroll, officer, by)
        return _redirect({"tautan": officer.nip})
    try:
        typed, officer = read_officer(form, editing)
        saved = save_officer(auth.store, seed, officer, editing=bool(editing), by=by, now=auth.now)
    except Refused as refused:
        return _page(
            request, auth, signed, seed, nip=editing, typed=typed, errors=refused.errors, status=422
        )
    if saved.added and officer.aktif:
        _enroll(auth, enroll, officer, by)
        return _redirect({"ditambahkan": officer.nip})
    return _redirect({"disimpan": officer.nip} if saved.changes else {"tetap": officer.nip})


def _enroll(auth: Auth, enroll: Enroll, officer: Officer, by: Officer) -> None:
    start_enrollment(
        auth.store,
        auth.cipher,
        enroll.mailer,
        officer,
        public_base_url=auth.public_base_url,
        now=auth.now,
    )
    auth.store.append_officer_audit(
        officer.nip,
        {"action": "enrollment.link_sent", "actor": by.nama, "nip": by.nip},
        now=auth.now,
    )


def _redirect(query: dict[str, str]) -> Page:
    location = f"{PATH}?{urlencode(query)}"
    return Page(303, render("pages/redirect.html.j2", location=location), {"location": location})


_NOTICES = {
    "ditambahkan": "Petugas NIP {} ditambahkan; tautan pendaftaran kode masuk dikirim ke emailnya.",
    "disimpan": "Perubahan petugas NIP {} disimpan; berlaku untuk tugas berikutnya.",
    "tetap": "Tidak ada perubahan pada petugas NIP {}.",
    "tautan": "Tautan pendaftaran ulang kode masuk dikirim ke email petugas NIP {}.",
}


def _is_nip(value: str) -> bool:
    return len(value) == 18 and value.isascii() and value.isdigit()


def _page(
    request: Request,
    auth: Auth,
    signed: sessions.SignedIn,
    seed: Roster,
    *,
    nip: str = "",
    typed: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Page:
    everyone = listed(auth.store.roster_record(), seed)
    editing = next((o for o in everyone.officers if o.nip == nip), None) if nip else None
    if typed is None:
        typed = _as_typed(editing) if editing else {"aktif": "ya"}
    history = (
        [
            e
            for e in auth.store.officer_audit(editing.nip)
            if str(e.get("action", "")).startswith("roster.")
        ]
        if editing
        else []
    )
    html = render(
        "pages/konsol_petugas.html.j2",
        signed=signed,
        officers=everyone.officers,
        editing=editing,
        typed=typed,
        errors=errors or {},
        notice=notice,
        history=history[-10:],
        roles=[(r.value, sop.ROLE_TITLES[r]) for r in ROLES],
        role_titles={r.value: t for r, t in sop.ROLE_TITLES.items()},
        csrf=sessions.form_token(auth, signed, _FORM_PURPOSE),
        active=editing is not None and editing.nip in {o.nip for o in auth.roster.officers},
    )
    return Page(status, html)


def _as_typed(officer: Officer) -> dict[str, str]:
    fields = table_fields(officer)
    return {**{k: str(v) for k, v in fields.items()}, "aktif": "ya" if officer.aktif else "tidak"}
