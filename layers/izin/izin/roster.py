"""Who holds each role: the roster (CONTRACT §4), kept in the table and edited on
/konsol/petugas (izin.roster_console), seeded from a JSON file.

The roster in force (`in_force`) is the table's item `ROSTER` as it is now, read once per
invocation (izin.wiring.roster: one GetItem), so an admin's change reaches the next
invocation of every function without a deploy. While the table holds none, the configured
file is the roster; the first change on the page writes it, with the change, to the table.
Only the fields the page edits (`TABLE_FIELDS`) are kept in the table: `totp_secret`,
`bsre_passphrase`, `bsre_totp_secret` (local rosters only) and `nik` (sensitive, for
BSrE) stay in the file and join the table's officers by NIP. An inactive officer (`aktif`
false) is left out of the roster in force: chosen for nothing, signs in to nothing,
decides nothing, and the tasks they hold fall to the Kasi's pool (izin.pool) as those of
an officer off the roster.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from izin.sop import Role


class RosterError(LookupError):
    """The roster names nobody for what a step needs."""


class Officer(BaseModel):
    """One officer of the Dinas."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    role: Role
    nama: str = Field(min_length=1)
    nip: str = Field(pattern=r"^\d{18}$")
    jabatan: str
    email: EmailStr
    # Printed under the name on every document the officer signs (Permendagri 1/2023):
    # optional, as a local roster may leave them out (CONTRACT §4).
    pangkat: str = ""  # "Pembina Utama Muda"
    golongan: str = ""  # "IV/c"
    # A local or test roster's TOTP secret (base32), so tests and the demo can compute
    # codes (CONTRACT §4). A deployed stack refuses a roster that has one (wiring.roster).
    totp_secret: str = Field("", repr=False, exclude=True)
    # The NIK BSrE knows the officer's certificate by (the Kepala Dinas signs step 14 with
    # it, #16): sensitive, never shown on a page nor logged, hence out of repr and out of
    # model_dump (a ticket keeps its assignee as dumped).
    nik: str = Field("", repr=False, exclude=True, pattern=r"^(\d{16})?$")
    # A local or test roster's BSrE passphrase, enrolled in the local BSrE simulator so
    # tests and the demo can sign; like `totp_secret`, a deployed stack refuses it.
    bsre_passphrase: str = Field("", repr=False, exclude=True)
    # Likewise the secret (base32) of the local BSrE simulator's TOTP for this officer, the
    # alternative to the passphrase: not our own `totp_secret` (the task page's `kode`).
    bsre_totp_secret: str = Field("", repr=False, exclude=True)
    # Aktif or nonaktif (the roster page): an inactive officer is kept for the record and
    # left out of the roster in force (`in_force`). Out of model_dump: a ticket keeps its
    # assignee as dumped, and only active officers are assigned.
    aktif: bool = Field(True, exclude=True)

    @field_validator("totp_secret", "bsre_totp_secret")
    @classmethod
    def _base32(cls, value: str) -> str:
        text = value.strip().upper()
        if not text:
            return ""
        try:
            raw = base64.b32decode(text + "=" * (-len(text) % 8))
        except (binascii.Error, ValueError):
            raise ValueError("not base32") from None
        if len(raw) < 10:
            raise ValueError("shorter than 80 bits")
        return text

    def pangkat_golongan(self) -> str:
        """The pangkat and golongan as a signature block prints them: "Pembina (IV/a)"."""
        if self.pangkat and self.golongan:
            return f"{self.pangkat} ({self.golongan})"
        return self.pangkat or self.golongan


class Roster(BaseModel):
    """The officers and the address that receives the copy (tembusan) of a signed BAP."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    officers: tuple[Officer, ...]
    dpmptsp_email: EmailStr

    def holders(self, role: Role) -> tuple[Officer, ...]:
        """Every officer holding this role, in roster order."""
        return tuple(o for o in self.officers if o.role == role)

    def first(self, role: Role) -> Officer:
        """The officer on duty for a role: the first the roster lists."""
        holders = self.holders(role)
        if not holders:
            raise RosterError(f"the roster names no officer with role {role.value}")
        return holders[0]

    def carries_secrets(self) -> bool:
        """Whether any officer has a `totp_secret`, `bsre_passphrase` or `bsre_totp_secret` (a
        local or test roster)."""
        return any(o.totp_secret or o.bsre_passphrase or o.bsre_totp_secret for o in self.officers)

    def by_nip(self, nip: str) -> Officer:
        """The officer with this NIP."""
        for officer in self.officers:
            if officer.nip == nip:
                return officer
        raise RosterError(f"no officer with NIP {nip} in the roster")


# What the table keeps of an officer (what /konsol/petugas edits); never a secret nor the NIK.
TABLE_FIELDS = ("role", "nama", "nip", "jabatan", "email", "pangkat", "golongan", "aktif")
_LOCAL_FIELDS = ("totp_secret", "nik", "bsre_passphrase", "bsre_totp_secret")


def table_fields(officer: Officer) -> dict[str, Any]:
    """The officer as the table keeps them (TABLE_FIELDS only)."""
    return {name: _plain(getattr(officer, name)) for name in TABLE_FIELDS}


def _plain(value: Any) -> Any:
    return value if isinstance(value, bool) else str(value)


def listed(record: Mapping[str, Any] | None, local: Roster) -> Roster:
    """Every officer, active or not: the table's record (each with the fields only the
    file `local` gives, joined by NIP), or the file's officers while the table holds none."""
    if record is None:
        return local
    files = {o.nip: o for o in local.officers}
    officers = []
    for fields in record["officers"]:
        kept = {name: fields[name] for name in TABLE_FIELDS if name in fields}
        in_file = files.get(str(kept.get("nip", "")))
        extra = {name: getattr(in_file, name) for name in _LOCAL_FIELDS} if in_file else {}
        officers.append(Officer.model_validate({**kept, **extra}))
    return Roster(officers=tuple(officers), dpmptsp_email=record["dpmptsp_email"])


def in_force(record: Mapping[str, Any] | None, local: Roster) -> Roster:
    """The roster the workflow uses: `listed` without the inactive officers."""
    everyone = listed(record, local)
    return everyone.model_copy(update={"officers": tuple(o for o in everyone.officers if o.aktif)})


def load_roster(path: Path) -> Roster:
    """The roster read from a JSON file; read again when the file changes."""
    return _load(path, path.stat().st_mtime_ns)


@functools.cache
def _load(path: Path, _mtime_ns: int) -> Roster:
    return Roster.model_validate(json.loads(path.read_text(encoding="utf-8")))


def forget() -> None:
    """Drop the rosters read so far."""
    _load.cache_clear()
