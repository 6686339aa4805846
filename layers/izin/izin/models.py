"""The models that cross a boundary: webhook events, state inputs, decisions, records.

Every model that leaves one component for another is frozen and forbids extra keys, so a
renamed key fails loudly at the next step rather than three steps later.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from izin.sop import Decision

Strict = ConfigDict(frozen=True, extra="forbid")

Nib = Annotated[str, StringConstraints(pattern=r"^\d{13}$")]
Npwp = Annotated[str, StringConstraints(pattern=r"^\d{15,16}$")]
Kbli = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
Nip = Annotated[str, StringConstraints(pattern=r"^\d{18}$")]
IdIzin = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.\-/]+$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Perusahaan(BaseModel):
    """The applicant company."""

    model_config = Strict

    nama: Text
    npwp: Npwp
    alamat: Text
    email: EmailStr


class Lokasi(BaseModel):
    """Where the factory stands."""

    model_config = Strict

    alamat: Text
    kabupaten_kota: Text
    provinsi: Text


class Kapasitas(BaseModel):
    """A production capacity with its unit ("60 ton TBS/jam")."""

    model_config = Strict

    jumlah: float = Field(ge=0)
    satuan: Text


class Permohonan(BaseModel):
    """OSS `permohonan.diajukan`: the application (SOP step 1)."""

    model_config = Strict

    id_izin: IdIzin
    kd_izin: Text
    nib: Nib
    id_proyek: Text
    perusahaan: Perusahaan
    kbli: Kbli
    lokasi: Lokasi
    kapasitas_terpasang: Kapasitas
    kapasitas_perluasan: Kapasitas
    jumlah_investasi: int = Field(ge=0)


class Berkas(BaseModel):
    """One file of the applicant's dossier, as SIINAS names it."""

    model_config = Strict

    nama: Text
    url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://")]


class VerifikasiDiajukan(BaseModel):
    """SIINAS `verifikasi.diajukan` (SOP steps 2–3)."""

    model_config = Strict

    id_izin: IdIzin
    nib: Nib
    komitmen_data_industri: bool
    berkas: tuple[Berkas, ...] = ()


class KomitmenTerpenuhi(BaseModel):
    """SIINAS `komitmen.terpenuhi` (SOP step 18)."""

    model_config = Strict

    id_izin: IdIzin
    nomor_berita_acara: Text
    tanggal: Text


class IzinStatus(BaseModel):
    """OSS `izin.status` (SOP steps 19–20)."""

    model_config = Strict

    id_izin: IdIzin
    kd_status: Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
    status: Literal["efektif", "belum_efektif"]
    keterangan: str = Field("", max_length=2000)


def execution_name(id_izin: str) -> str:
    """The execution's name: the id_izin, with what a name cannot hold replaced."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", id_izin)[:80]


class StepRequest(BaseModel):
    """The input of the request-task function: ask the step's officer to act."""

    model_config = Strict

    id_izin: IdIzin
    step: int = Field(ge=1, le=20)
    task_token: str = Field(min_length=1, repr=False)
    reminders: int = Field(0, ge=0)
    timeout_seconds: int = Field(ge=1)
    deadline: datetime


class Deadline(BaseModel):
    """A human step's SLA: when it is due and how long the state waits."""

    model_config = Strict

    step: int
    deadline: datetime
    timeout_seconds: int = Field(ge=1)
    reminders: int = Field(0, ge=0)


class DecisionResult(BaseModel):
    """What a task page hands back to the waiting state: small, no secrets, no files."""

    model_config = Strict

    step: int
    decision: Decision
    catatan: str = ""
    kesimpulan: Literal["siap", "belum_siap"] | None = None
    oleh: str  # the deciding officer's name
    nip: Nip
    pada: datetime


class DocumentRef(BaseModel):
    """A rendered document, by reference: the state never carries the file."""

    model_config = Strict

    document_id: str
    jenis: str
    nomor: str
    versi: int
    key: str
    sha256: str
