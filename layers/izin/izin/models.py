"""The models that cross a boundary: webhook events, state inputs, decisions, records.

Every model that leaves one component for another is frozen and forbids extra keys, so a
renamed key fails loudly at the next step rather than three steps later.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from izin import values
from izin.sop import Decision

# Every model of the layer builds its validator on first use (defer_build): a function
# uses a few of them, and building all at import was a third of its cold start
# (tests/unit/test_cold_start.py holds each model to it).
Strict = ConfigDict(defer_build=True, frozen=True, extra="forbid")

Nib = Annotated[str, StringConstraints(pattern=r"^\d{13}$")]
Npwp = Annotated[str, StringConstraints(pattern=r"^\d{15,16}$")]
Kbli = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
Nip = Annotated[str, StringConstraints(pattern=r"^\d{18}$")]
# OSS's permit id (values.ID_IZIN_PATTERN). The execution's name keeps it whole where it
# can (execution_name).
IdIzin = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=values.ID_IZIN_LENGTH, pattern=values.ID_IZIN_PATTERN
    ),
]


def _line(value: str) -> str:
    return values.text(value)


def _lines(value: str) -> str:
    return values.text(value, multiline=True)


# Text that ends in a document or an email: one line, what the documents' font draws.
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(_line),
]
# Text of several lines (OSS's keterangan).
LongText = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_lines)]
Quantity = Annotated[float, Field(ge=0, allow_inf_nan=False), AfterValidator(values.quantity)]
Rupiah = Annotated[int, Field(ge=0), AfterValidator(values.rupiah)]
CalendarDate = Annotated[str, AfterValidator(values.calendar_date)]


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

    jumlah: Quantity
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
    jumlah_investasi: Rupiah


class Berkas(BaseModel):
    """One file of the applicant's dossier, as SIINAS names it."""

    model_config = Strict

    nama: Text
    # Printable ASCII only: a link in an email; an IRI comes percent-encoded.
    url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://[!-~]+$")]


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
    tanggal: CalendarDate


# OSS's statuses that stop, resume or restart the SLA's clock (izin.sla.CLOCK), at any step.
SLA_CLOCK_STATUSES = frozenset({"41", "42", "43", "44"})


class IzinStatus(BaseModel):
    """OSS `izin.status`: the permit's outcome (SOP steps 19–20), or, with kd_status 41-44,
    a stop or restart of the SLA's clock (no `status` then)."""

    model_config = Strict

    id_izin: IdIzin
    kd_status: Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
    status: Literal["efektif", "belum_efektif"] | None = None
    keterangan: LongText = ""

    @model_validator(mode="after")
    def _outcome_has_its_status(self) -> IzinStatus:
        if self.status is None and not self.moves_the_clock:
            raise ValueError("status is required (efektif or belum_efektif)")
        return self

    @property
    def moves_the_clock(self) -> bool:
        """Whether this status stops or restarts the SLA's clock rather than deciding."""
        return self.kd_status in SLA_CLOCK_STATUSES


class DigestRequest(BaseModel):
    """The morning digest's input, from its schedule: nothing."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")


class ReconcileRequest(BaseModel):
    """The reconciliation's input: from its schedule, nothing; by hand, the ids to check
    whatever their wait (the schedule checks those that waited long enough)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    id_izin: tuple[IdIzin, ...] = ()


def execution_name(id_izin: str) -> str:
    """The execution's name: the id_izin itself when a name can hold it whole; otherwise
    what a name cannot hold replaced and a short hash of the id after it, so `COL.1` and
    `COL-1` never share an execution. At most 64 characters: `-lanjut-{n}` still fits."""
    replaced = re.sub(r"[^A-Za-z0-9_-]", "-", id_izin)
    if replaced == id_izin and len(id_izin) <= 64:
        return id_izin
    return replaced[:55] + "-" + hashlib.sha256(id_izin.encode()).hexdigest()[:8]


class StepRequest(BaseModel):
    """The input of the request-task function: ask the step's officer to act."""

    model_config = Strict

    id_izin: IdIzin
    step: int = Field(ge=1, le=20)
    task_token: str = Field(min_length=1, repr=False)
    execution: str = Field(min_length=1)  # the waiting execution's ARN ($$.Execution.Id)
    reminders: int = Field(0, ge=0)
    timeout_seconds: int = Field(ge=1)
    deadline: datetime


class AwaitRequest(BaseModel):
    """The input of the await-event function: a state waits for an event of OSS or SIINAS."""

    model_config = Strict

    id_izin: IdIzin
    step: int = Field(ge=1, le=20)
    event: str = Field(pattern=r"^(oss|siinas):[a-z]+\.[a-z]+$")  # izin.event_types.EVENTS
    task_token: str = Field(min_length=1, repr=False)
    execution: str = Field(min_length=1)  # the waiting execution's ARN ($$.Execution.Id)
    late: int = Field(0, ge=0)  # EventBudget.late: how many times the wait outlasted its days


class DeadlineRequest(BaseModel):
    """The input of the deadline function: the step, and the state's last `$.sla`."""

    model_config = Strict

    id_izin: IdIzin
    step: int = Field(ge=1, le=20)
    previous: dict[str, Any] = Field(default_factory=dict)


class EventBudgetRequest(BaseModel):
    """The input of the deadline function before a wait on OSS or SIINAS."""

    model_config = Strict

    id_izin: IdIzin
    step: int = Field(ge=1, le=20)
    execution_started: datetime  # $$.Execution.StartTime
    previous: dict[str, Any] = Field(default_factory=dict)  # the state's last `$.batas`


class EventBudget(BaseModel):
    """How long that wait may last before it is late or its execution's year is spent
    (the state's `$.batas`)."""

    model_config = Strict

    step: int
    timeout_seconds: int = Field(ge=1)
    late: int = Field(0, ge=0)  # how many times the wait has outlasted its hari kerja
    lanjut_baru: bool = False  # the year is spent: continue in a new execution


class ContinueRequest(BaseModel):
    """The input of the continue function: a wait outlasted its execution's year."""

    model_config = Strict

    id_izin: IdIzin
    step: int = Field(ge=1, le=20)
    execution: str = Field(min_length=1, max_length=80)  # $$.Execution.Name
    lanjut_dari: str = Field(min_length=1)  # the state the new execution starts at
    state: dict[str, Any]  # the state as it was: the new execution's input


class ProgressRequest(BaseModel):
    """The input of the progress function: an automatic step, OSS's verdict at the last."""

    model_config = Strict

    id_izin: IdIzin
    step: int = Field(ge=1, le=20)
    status: Literal["", "efektif", "belum_efektif"] = ""


class ApplicationRequest(BaseModel):
    """The input of a function that needs only the application (the tembusan)."""

    model_config = Strict

    id_izin: IdIzin


class ParkRequest(BaseModel):
    """The input of the park function: the application and the Catch's error."""

    model_config = Strict

    id_izin: IdIzin
    gagal: dict[str, Any] = Field(default_factory=dict)  # {"Error", "Cause"} of the Catch
    # The parking execution's ARN ($$.Execution.Id); none from a definition before it was.
    execution: str = Field(default="", max_length=256)


class MilestoneMessage(BaseModel):
    """An OSS queue message from the state machine: tell OSS this milestone."""

    model_config = Strict

    id_izin: IdIzin
    milestone: str = Field(min_length=1)  # a key of izin.integrations' PIA codes


class UploadMessage(BaseModel):
    """A SIINAS queue message from the state machine: upload the signed BAP, then answer."""

    model_config = Strict

    id_izin: IdIzin
    task_token: str = Field(min_length=1, repr=False)
    execution: str = ""  # the waiting execution's ARN ($$.Execution.Id): a lost answer's judge


class HttpContext(BaseModel):
    """`requestContext.http` of an API Gateway HTTP API event (payload 2.0)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore", populate_by_name=True)

    method: str
    source_ip: str = Field("", alias="sourceIp")
    user_agent: str = Field("", alias="userAgent")


class RequestContext(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")

    http: HttpContext


class HttpRequest(BaseModel):
    """What the HTTP functions read of an API Gateway HTTP API event (payload 2.0).

    The event carries much more (routeKey, stage, time, …): read-only here, so it is
    ignored rather than refused.
    """

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore", populate_by_name=True)

    request_context: RequestContext = Field(alias="requestContext")
    route_key: str = Field("", alias="routeKey")  # "GET /tasks/{ticket}": the route's template
    path_parameters: dict[str, str] = Field(default_factory=dict, alias="pathParameters")
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict, alias="queryStringParameters")
    cookies: tuple[str, ...] = ()  # payload 2.0 passes the Cookie header as "name=value"s
    body: str = ""
    is_base64_encoded: bool = Field(False, alias="isBase64Encoded")

    @field_validator("path_parameters", "headers", "query", "body", "cookies", mode="before")
    @classmethod
    def _absent_is_empty(cls, value: Any, info: ValidationInfo) -> Any:
        """API Gateway sends null, or nothing, for a route without parameters or a body."""
        if value is None:
            return {"body": "", "cookies": ()}.get(str(info.field_name), {})
        return value

    @property
    def method(self) -> str:
        """GET, POST, …"""
        return self.request_context.http.method

    def raw_body(self) -> bytes:
        """The body as sent."""
        import base64

        return base64.b64decode(self.body) if self.is_base64_encoded else self.body.encode()


class Deadline(BaseModel):
    """A human step's SLA: when it is due and how long the state waits."""

    model_config = Strict

    step: int
    deadline: datetime
    timeout_seconds: int = Field(ge=1)
    reminders: int = Field(0, ge=0)
    # When the step's SLA started counting (its plan, or OSS's restart, kd_status 44).
    planned_at: datetime | None = None
    # Why the deadline moved without a breach (OSS stopped or restarted the clock).
    moved: str = ""


class DecisionResult(BaseModel):
    """What a task page hands back to the waiting state: small, no secrets, no files."""

    model_config = Strict

    step: int
    decision: Decision
    catatan: str = ""
    kesimpulan: Literal["siap", "belum_siap"] | None = None
    kelengkapan: Literal["lengkap", "tidak_lengkap"] | None = None  # step 4's check
    # A "no" at 13 or 14: what must change, so whose step the file returns to (izin.sop.RETURNS).
    kembalikan_ke: str | None = None
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
