"""The events OSS and SIINAS send (CONTRACT §1): one entry each, and everything it means.

An event type names its source and type, the model of its `data`, the one SOP step it
belongs to (the step its audit entry and its record-by-hand task carry), the fields the
waiting state receives, the note of its audit entry, what it keeps on the application, and
the Operator's form to record it by hand when it does not arrive. The waiting state of the
state machine names it in the SOP table (izin.sop `AwaitEvent`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from izin import sop
from izin.models import IzinStatus, KomitmenTerpenuhi, Permohonan, VerifikasiDiajukan
from izin.sop import FieldKind, FormField, RecordForm

Source = Literal["oss", "siinas"]
Data = Mapping[str, Any]
Model = type[BaseModel]  # aliased: the field `type` below hides the builtin in the class


@dataclass(frozen=True)
class EventType:
    """One kind of event of OSS or SIINAS."""

    source: Source
    type: str
    model: Model
    sop_step: int
    result_fields: tuple[str, ...] = ()  # what the waiting state receives
    audit_note: Callable[[Data], str] = lambda data: ""
    kept: tuple[str, ...] = ()  # fields kept on the application's record once applied
    manual_form: RecordForm | None = None
    # The event's data from the application and the manual form's values.
    from_form: Callable[[Data, Data], dict[str, Any]] | None = None

    @property
    def key(self) -> str:
        """ "siinas:verifikasi.diajukan"."""
        return f"{self.source}:{self.type}"

    @property
    def record_task(self) -> sop.Step:
        """The Operator's task page that records this event by hand."""
        if self.manual_form is None:
            raise LookupError(f"{self.key} is not recorded by hand")
        return sop.record_task(self.sop_step, self.manual_form)


def _by_hand(
    activity: str, happened: str, fields: tuple[FormField, ...], done_label: str
) -> RecordForm:
    """The Operator's form for an event that `happened` at OSS or SIINAS and never came: every
    one says the same of when to use it."""
    meaning = f"Bila {happened} tetapi belum sampai ke sistem ini, catat di sini dengan buktinya."
    return RecordForm(activity, meaning, fields, done_label)


def _verifikasi(application: Data, values: Data) -> dict[str, Any]:
    return {
        "id_izin": application["id_izin"],
        "nib": application["data"]["nib"],
        "komitmen_data_industri": values["komitmen_data_industri"] == "ya",
        "berkas": application.get("berkas", []),
    }


def _komitmen(application: Data, values: Data) -> dict[str, Any]:
    return {
        "id_izin": application["id_izin"],
        "nomor_berita_acara": values["nomor_berita_acara"],
        "tanggal": values["tanggal"],
    }


def _izin_status(application: Data, values: Data) -> dict[str, Any]:
    return {
        "id_izin": application["id_izin"],
        "kd_status": values["kd_status"],
        "status": values["status"],
        "keterangan": values.get("keterangan") or "dicatat manual oleh Operator",
    }


_TYPES = (
    EventType("oss", "permohonan.diajukan", Permohonan, 1),
    EventType(
        "siinas",
        "verifikasi.diajukan",
        VerifikasiDiajukan,
        3,
        result_fields=("komitmen_data_industri",),
        audit_note=lambda data: (
            "komitmen data industri terpenuhi (YA)"
            if data.get("komitmen_data_industri")
            else "komitmen data industri belum terpenuhi (TIDAK): menunggu SIINAS"
        ),
        kept=("berkas",),
        manual_form=_by_hand(
            "Catat Notifikasi Verifikasi Teknis SIINAS",
            "notifikasi permohonan verifikasi teknis sudah ada di SIINAS",
            (
                FormField(
                    "komitmen_data_industri",
                    "Komitmen data industri",
                    FieldKind.CHOICE,
                    default="ya",
                    choices=(("ya", "YA: sudah terpenuhi"), ("tidak", "TIDAK: belum terpenuhi")),
                ),
            ),
            "Catat notifikasi SIINAS",
        ),
        from_form=_verifikasi,
    ),
    EventType(
        "siinas",
        "komitmen.terpenuhi",
        KomitmenTerpenuhi,
        18,
        result_fields=("nomor_berita_acara", "tanggal"),
        audit_note=lambda data: f"Berita Acara Pemenuhan Komitmen {data.get('nomor_berita_acara')}",
        manual_form=_by_hand(
            "Catat Berita Acara Pemenuhan Komitmen",
            "SIINAS sudah menerbitkan Berita Acara Pemenuhan Komitmen",
            (
                FormField("nomor_berita_acara", "Nomor Berita Acara Pemenuhan Komitmen"),
                FormField("tanggal", "Tanggal berita acara", FieldKind.DATE),
            ),
            "Catat berita acara",
        ),
        from_form=_komitmen,
    ),
    EventType(
        "oss",
        "izin.status",
        IzinStatus,
        19,
        result_fields=("kd_status", "status"),
        audit_note=lambda data: f"status OSS {data.get('kd_status')}: {data.get('status')}",
        manual_form=_by_hand(
            "Catat Status Izin dari OSS",
            "OSS sudah menetapkan status Izin Perluasan",
            (
                FormField(
                    "status",
                    "Status Izin Perluasan di OSS",
                    FieldKind.CHOICE,
                    default="efektif",
                    choices=(("efektif", "Berlaku efektif"), ("belum_efektif", "Belum efektif")),
                ),
                FormField(
                    "kd_status",
                    "Kode status OSS",
                    FieldKind.CHOICE,
                    default="50",
                    choices=(
                        ("50", "50 Disetujui"),
                        ("90", "90 Ditolak"),
                        ("93", "93 Penolakan persyaratan"),
                    ),
                ),
                FormField("keterangan", "Keterangan", FieldKind.TEXTAREA, required=False),
            ),
            "Catat status OSS",
        ),
        from_form=_izin_status,
    ),
)

EVENTS: dict[str, EventType] = {t.key: t for t in _TYPES}
# The event that creates an application and starts its execution; every other one is awaited.
START = EVENTS["oss:permohonan.diajukan"]


def event_type(source: str, type_: str) -> EventType | None:
    """The event type of this source and type, or None when there is none."""
    return EVENTS.get(f"{source}:{type_}")


def types_of(source: str) -> list[str]:
    """The types a source sends, sorted."""
    return sorted(t.type for t in _TYPES if t.source == source)
