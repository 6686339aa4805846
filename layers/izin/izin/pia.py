"""OSS PIA's `receiveNIB` (CONTRACT §5): OSS pushes a NIB with its checklist of permits.

As the *Pedoman Integrasi Aplikasi* (v4.3.22, `src/endpoint.js`) defines it: the header
`token` is SHA-1 of username + password + NIB + the date (Ymd, WIB); the body is
`{"dataNIB": {…}}`; the answer is `{"responreceiveNIB": {"status": "1"|"2", "keterangan"}}`.

Each checklist item of this Dinas's permit (its `kd_izin`, `kewenangan` 01 provinsi) on a
project with `flag_perluasan` "Y" becomes one `permohonan.diajukan`, keyed by `id_izin`,
queued exactly as the OSS webhook queues it: nothing is answered "1" that is not queued,
and a repeated push finds its delivery record and queues nothing new. The raw item and its
project are kept with the delivery record, for the record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from izin.event_types import event_type
from izin.observability import logger
from izin.webhooks import DeliveryStore, Envelope, Queue, record_and_queue

WIB = timezone(timedelta(hours=7), "WIB")
# Around midnight a sender's clock and ours may disagree on the date: within this margin
# of midnight (WIB), the neighbouring day's token is accepted too; never otherwise.
MIDNIGHT_MARGIN = timedelta(minutes=10)
MAX_BODY = 1024 * 1024  # a NIB with many shareholders and projects; API Gateway allows 10 MB
# What is kept of an item for the record (its checklist entry and its project, as sent).
MAX_KEPT = 64 * 1024
PROVINSI = "01"
_EVENT = "permohonan.diajukan"


@dataclass(frozen=True)
class Credentials:
    """The username and password OSS and this Dinas agreed for the token."""

    username: str
    password: str

    @classmethod
    def from_secret(cls, value: str) -> Credentials:
        """From the secret's JSON `{"username": …, "password": …}`."""
        fields = json.loads(value)
        return cls(str(fields["username"]), str(fields["password"]))


@dataclass(frozen=True)
class Permit:
    """Which checklist items are this Dinas's permit (configuration)."""

    kd_izin: frozenset[str]
    kewenangan: str = PROVINSI


@dataclass(frozen=True)
class PiaAnswer:
    """The HTTP answer, in PIA's shape."""

    status: int
    ok: bool
    keterangan: str

    @property
    def body(self) -> dict[str, Any]:
        """`{"responreceiveNIB": {"status": "1"|"2", "keterangan"}}`."""
        return {
            "responreceiveNIB": {"status": "1" if self.ok else "2", "keterangan": self.keterangan}
        }


class _PiaModel(BaseModel):
    """What we read of PIA's payload: PIA sends every value as a string, some as numbers,
    and more fields than we read."""

    model_config = ConfigDict(
        defer_build=True, extra="ignore", coerce_numbers_to_str=True, frozen=True
    )


class Persyaratan(_PiaModel):
    id_syarat: str = ""
    no_dokumen: str = ""


class Checklist(_PiaModel):
    id_izin: str = Field(min_length=1, max_length=64)
    kd_izin: str = ""
    id_proyek: str = ""
    kewenangan: str = ""
    kd_daerah: str = ""
    flag_checklist: str = ""
    data_persyaratan: list[Persyaratan] = Field(default_factory=list, max_length=500)


class LokasiProyek(_PiaModel):
    alamat_usaha: str = ""
    proyek_daerah_id: str = ""


class Produk(_PiaModel):
    kbli: str = ""
    kapasitas: str = ""
    satuan: str = ""


class Proyek(_PiaModel):
    id_proyek: str = ""
    kbli: str = ""
    flag_perluasan: str = ""
    jumlah_investasi: str = ""
    data_lokasi_proyek: list[LokasiProyek] = Field(default_factory=list, max_length=500)
    data_proyek_produk: list[Produk] = Field(default_factory=list, max_length=500)


class DataNib(_PiaModel):
    nib: str = Field(min_length=1, max_length=32)
    oss_id: str = ""
    nama_perseroan: str = ""
    npwp_perseroan: str = ""
    alamat_perseroan: str = ""
    email_perusahaan: str = ""
    data_proyek: list[Proyek] = Field(default_factory=list, max_length=500)
    data_checklist: list[Checklist] = Field(default_factory=list, max_length=500)


def token(credentials: Credentials, nib: str, day: date) -> str:
    """PIA's token: lowercase hex SHA-1 of username + password + nib + Ymd."""
    text = f"{credentials.username}{credentials.password}{nib}{day:%Y%m%d}"
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def token_days(now: datetime) -> tuple[date, ...]:
    """The dates a token may be made of now: today in WIB, and its neighbour near midnight."""
    wib = now.astimezone(WIB)
    days = [wib.date()]
    if (wib - MIDNIGHT_MARGIN).date() != wib.date():
        days.append(wib.date() - timedelta(days=1))
    if (wib + MIDNIGHT_MARGIN).date() != wib.date():
        days.append(wib.date() + timedelta(days=1))
    return tuple(days)


def receive_nib(
    headers: Mapping[str, str],
    body: bytes,
    *,
    credentials: Credentials,
    permit: Permit,
    now: datetime,
    store: DeliveryStore,
    queue: Queue,
) -> PiaAnswer:
    """Check one push, queue each of its applications once; the answer says what became of it."""
    if len(body) > MAX_BODY:
        return PiaAnswer(413, False, f"Data terlalu besar (batas {MAX_BODY} byte).")
    sent = {name.lower(): value for name, value in headers.items()}.get("token", "").strip()
    # The token is made of the NIB: the body is read before the token can be checked.
    try:
        document = json.loads(body, parse_constant=_no_constant)
        data = DataNib.model_validate(document["dataNIB"])
    except ValidationError as error:
        if not sent:
            return _bad_access()
        return PiaAnswer(400, False, "Data Parameter Salah: " + _fields(error))
    except (ValueError, RecursionError, KeyError, TypeError):
        return _bad_access() if not sent else _unreadable()
    if not any(
        hmac.compare_digest(token(credentials, data.nib, day).encode(), sent.lower().encode())
        for day in token_days(now)
    ):
        return _bad_access()
    logger.info("receiveNIB taken", extra={"nib": data.nib, "items": len(data.data_checklist)})
    outcomes = [
        _take(item, data, permit, now=now, store=store, queue=queue) for item in data.data_checklist
    ]
    return _answer(outcomes)


@dataclass(frozen=True)
class _Outcome:
    id_izin: str
    queued: bool = False
    repeat: bool = False
    ignored: str = ""  # why the item is not ours
    invalid: str = ""  # why an item of ours cannot become an application


def _take(
    item: Checklist,
    data: DataNib,
    permit: Permit,
    *,
    now: datetime,
    store: DeliveryStore,
    queue: Queue,
) -> _Outcome:
    if item.kd_izin not in permit.kd_izin:
        return _Outcome(item.id_izin, ignored=f"kd_izin {item.kd_izin or '-'} bukan izin Dinas ini")
    if item.kewenangan != permit.kewenangan:
        return _Outcome(
            item.id_izin, ignored=f"kewenangan {item.kewenangan or '-'} bukan {permit.kewenangan}"
        )
    proyek = next((p for p in data.data_proyek if p.id_proyek == item.id_proyek), None)
    if proyek is None:
        return _Outcome(
            item.id_izin, invalid=f"proyek {item.id_proyek or '-'} tidak ada di data_proyek"
        )
    if proyek.flag_perluasan.upper() != "Y":
        return _Outcome(item.id_izin, ignored="proyek tanpa flag_perluasan Y")
    model = event_type("oss", _EVENT)
    assert model is not None
    try:
        application = model.model.model_validate(permohonan(item, proyek, data))
    except (ValidationError, ValueError) as error:
        detail = _fields(error) if isinstance(error, ValidationError) else str(error)
        return _Outcome(item.id_izin, invalid=detail)
    envelope = Envelope(
        event_id=f"pia-receiveNIB-{application.model_dump()['id_izin']}",
        type=_EVENT,
        occurred_at=now,
        data=application.model_dump(mode="json"),
    )
    kept = {"pia": _kept(item, proyek, data)}
    answer = record_and_queue("oss", envelope, store=store, queue=queue, now=now, record=kept)
    return _Outcome(item.id_izin, queued=True, repeat=answer.status == 200)


def permohonan(item: Checklist, proyek: Proyek, data: DataNib) -> dict[str, Any]:
    """The `data` of `permohonan.diajukan` that one checklist item stands for."""
    lokasi = proyek.data_lokasi_proyek[0] if proyek.data_lokasi_proyek else LokasiProyek()
    produk = [p for p in proyek.data_proyek_produk if p.kapasitas.strip()]
    if not produk:
        raise ValueError("data_proyek_produk: kapasitas produk perluasan tidak dikirim")
    satuan = produk[0].satuan
    return {
        "id_izin": item.id_izin,
        "kd_izin": item.kd_izin,
        "nib": data.nib,
        "id_proyek": proyek.id_proyek,
        "perusahaan": {
            "nama": data.nama_perseroan,
            "npwp": data.npwp_perseroan,
            "alamat": data.alamat_perseroan,
            "email": data.email_perusahaan,
        },
        "kbli": proyek.kbli,
        "lokasi": {
            "alamat": lokasi.alamat_usaha,
            "kabupaten_kota": wilayah(lokasi.proyek_daerah_id or item.kd_daerah),
            "provinsi": provinsi(lokasi.proyek_daerah_id or item.kd_daerah),
        },
        # The NIB's other projects of the same KBLI are what is installed already.
        "kapasitas_terpasang": {
            "jumlah": _sum(
                p.kapasitas
                for other in data.data_proyek
                if other.id_proyek != proyek.id_proyek and other.kbli == proyek.kbli
                for p in other.data_proyek_produk
                if p.satuan == satuan
            ),
            "satuan": satuan,
        },
        "kapasitas_perluasan": {"jumlah": _sum(p.kapasitas for p in produk), "satuan": satuan},
        "jumlah_investasi": _rupiah(proyek.jumlah_investasi),
    }


# Kemendagri's codes (Permendagri 72/2019) of Kalimantan Barat: the Dinas's province.
_PROVINSI = {"61": "Kalimantan Barat"}
_KABUPATEN_KOTA = {
    "6101": "Kabupaten Sambas",
    "6102": "Kabupaten Bengkayang",
    "6103": "Kabupaten Landak",
    "6104": "Kabupaten Mempawah",
    "6105": "Kabupaten Sanggau",
    "6106": "Kabupaten Ketapang",
    "6107": "Kabupaten Sintang",
    "6108": "Kabupaten Kapuas Hulu",
    "6109": "Kabupaten Sekadau",
    "6110": "Kabupaten Melawi",
    "6111": "Kabupaten Kayong Utara",
    "6112": "Kabupaten Kubu Raya",
    "6171": "Kota Pontianak",
    "6172": "Kota Singkawang",
}


def wilayah(code: str) -> str:
    """A kabupaten/kota's name from a region code; an unknown code is printed as a code."""
    digits = "".join(c for c in code if c.isdigit())
    return _KABUPATEN_KOTA.get(digits[:4], f"Kode wilayah {digits[:4] or '-'}")


def provinsi(code: str) -> str:
    """A province's name from a region code."""
    digits = "".join(c for c in code if c.isdigit())
    return _PROVINSI.get(digits[:2], f"Kode provinsi {digits[:2] or '-'}")


def _sum(numbers: Any) -> float:
    total = Decimal(0)
    for text in numbers:
        try:
            total += Decimal(str(text).replace(",", "."))
        except InvalidOperation as error:
            raise ValueError(f"kapasitas bukan angka: {text!r}") from error
    return float(total)


def _rupiah(text: str) -> int:
    try:
        value = Decimal(text.replace(",", ".")) if text.strip() else Decimal(-1)
    except InvalidOperation as error:
        raise ValueError(f"jumlah_investasi bukan angka: {text!r}") from error
    if value < 0:
        raise ValueError("jumlah_investasi tidak dikirim")
    return int(value)


def _kept(item: Checklist, proyek: Proyek, data: DataNib) -> str:
    record = {
        "oss_id": data.oss_id,
        "checklist": item.model_dump(),
        "proyek": proyek.model_dump(),
    }
    text = json.dumps(record, ensure_ascii=False)
    return text if len(text) <= MAX_KEPT else text[:MAX_KEPT]


def _answer(outcomes: list[_Outcome]) -> PiaAnswer:
    taken = [o.id_izin for o in outcomes if o.queued and not o.repeat]
    repeats = [o.id_izin for o in outcomes if o.repeat]
    ignored = [f"{o.id_izin} ({o.ignored})" for o in outcomes if o.ignored]
    invalid = [f"{o.id_izin} ({o.invalid})" for o in outcomes if o.invalid]
    parts = []
    if taken:
        parts.append("Diterima sebagai permohonan izin perluasan: " + ", ".join(taken) + ".")
    if repeats:
        parts.append("Sudah diterima sebelumnya: " + ", ".join(repeats) + ".")
    if ignored:
        parts.append("Bukan izin perluasan Dinas ini, diabaikan: " + "; ".join(ignored) + ".")
    if invalid:
        parts.append("Data tidak dapat diproses: " + "; ".join(invalid) + ".")
    if not outcomes:
        parts.append("Data NIB tanpa data_checklist: tidak ada permohonan.")
    keterangan = " ".join(parts)[:255]
    if invalid:
        return PiaAnswer(400, False, keterangan)
    return PiaAnswer(200, True, keterangan)


def _bad_access() -> PiaAnswer:
    return PiaAnswer(401, False, "User Akses Tidak Valid")


def _unreadable() -> PiaAnswer:
    return PiaAnswer(400, False, 'Data Parameter Salah: badan bukan JSON {"dataNIB": {…}}')


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _fields(error: ValidationError) -> str:
    return "; ".join(
        ".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in error.errors()[:5]
    )
