"""The SOP's documents as data: their types and titles, the step that makes each, the
Dinas's letterhead, the requests, and the errors the state machine catches."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from izin import sop
from izin.documents.spelling import judul_kapital
from izin.models import IdIzin

Item = dict[str, Any]
PutObject = Callable[[str, bytes, str], None]
# A sealed version's PDF in, the same PDF signed by the Kepala Dinas through BSrE out.
SignPdf = Callable[[bytes], bytes]

CONTENT_TYPE = "text/html; charset=utf-8"
PDF_CONTENT_TYPE = "application/pdf"
TEMPLATES = Path(__file__).parents[1] / "templates" / "documents"
# Liberation Serif (SIL OFL, metric-compatible with Times New Roman), shipped in the layer:
# Lambda has no system fonts, and fpdf2's core fonts cannot spell beyond Latin-1.
FONTS = Path(__file__).parents[1] / "data" / "fonts"
FONT_FACES = {"": "Regular", "B": "Bold", "I": "Italic", "BI": "BoldItalic"}
TABLE_GAP_MM = 2.0
# Characters of free text a narrow table cell holds; longer text is written out below.
LONG_CELL = 300


class Jenis(StrEnum):
    """The document types of the SOP, by the step that makes them."""

    SURAT_PENGANTAR_KABID = "surat_pengantar_kabid"  # step 5: Operator -> Kepala Bidang
    NOTA_DINAS = "nota_dinas"  # step 6: Kepala Bidang -> Kasi, the disposition
    SURAT_TUGAS = "surat_tugas"  # step 7: the Tim Teknis's assignment
    FORM_PEMERIKSAAN_LAPANGAN = "form_pemeriksaan_lapangan"  # step 10
    BAP = "bap"  # step 11: Berita Acara Pemeriksaan (Lampiran III, reconstructed)
    SURAT_PENGANTAR_DPMPTSP = "surat_pengantar_dpmptsp"  # step 12: signed by the Kepala Dinas


JUDUL: dict[Jenis, str] = {
    Jenis.SURAT_PENGANTAR_KABID: "Surat Pengantar kepada Kepala Bidang",
    Jenis.NOTA_DINAS: "Nota Dinas",
    Jenis.SURAT_TUGAS: "Surat Tugas",
    Jenis.FORM_PEMERIKSAAN_LAPANGAN: "Form Pemeriksaan Lapangan",
    Jenis.BAP: "Berita Acara Pemeriksaan",
    Jenis.SURAT_PENGANTAR_DPMPTSP: "Surat Pengantar Tembusan BAP ke DPMPTSP",
}

# The step each document is made at, as the SOP table's flows render them.
STEP: dict[Jenis, int] = {j: sop.rendered_at(j.value).number for j in Jenis}

# What the Kepala Dinas's approval at step 14 seals, in this order.
SEALED_AT_APPROVAL: tuple[Jenis, ...] = (Jenis.BAP, Jenis.SURAT_PENGANTAR_DPMPTSP)


# -- errors: names the state machine can catch ------------------------------------------


class DocumentDataMissing(LookupError):
    """The application, or a step's data a document needs, is not in the store."""


class SignatoryMissing(DocumentDataMissing):
    """A line a document must have signed names nobody: the roster holds no officer for
    its role, or a team member chosen is not in the roster."""


class SignatureMissing(Exception):
    """A line that must be signed before the seal is still blank (the Tim Teknis's or the
    company's signature on the BAP): nothing is sealed."""


class DocumentSealed(Exception):
    """A render or a second seal was asked of a document already sealed."""


class DocumentVersionConflict(Exception):
    """Another writer recorded this document version first."""


# -- inputs ----------------------------------------------------------------------------


class FormatBap(BaseModel):
    """The BAP's fixed wording (dinas.json "bap"): configuration, so that the format can
    follow Lampiran III once it is confirmed against the regulation's text, with no code
    change. `sumber` says where the wording comes from; it is never printed."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    sumber: str = Field(min_length=1)
    judul: str = Field(min_length=1)
    sub_judul: str
    # The headings of the sections, in the order the BAP prints them.
    bagian: dict[
        Literal["perusahaan", "perluasan", "investasi", "mesin", "hasil", "kesimpulan"], str
    ]
    penutup: str = Field(min_length=1)


class Dinas(BaseModel):
    """The Dinas's letterhead and numbering, its emails' sender name and the BAP's wording
    (data/dinas.json; docs/documents.md)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")

    pemerintah: str
    nama: str
    alamat: str
    telepon: str = ""
    email: str = ""
    kota: str
    unit: str
    nomor_pola: str = Field(pattern=r"\{urut")
    kode_klasifikasi: dict[str, str]
    # Each type's series in the number, so two types sharing a kode never print one number.
    seri: dict[str, str] = Field(default_factory=dict)
    dpmptsp: str
    # The lambang daerah in the kop: a PNG beside the file (load_dinas reads it).
    lambang: str = Field(pattern=r"^[\w.-]+\.png$")
    # The display name of every email's From, before the address ("… <izin@…>").
    nama_pengirim_email: str = Field(min_length=1)
    bap: FormatBap
    # The lambang as a data URI, for the HTML and the PDF alike (set by load_dinas).
    lambang_uri: str = ""

    def nomor(self, jenis: str, urut: int, tahun: int) -> str:
        """The letter number, from the configured pattern: "500.2.2/7/SP/Disperindag/2026"."""
        try:
            kode = self.kode_klasifikasi[jenis]
        except KeyError:
            raise KeyError(f"dinas.json has no kode_klasifikasi for {jenis}") from None
        seri = self.seri.get(jenis, "")
        return self.nomor_pola.format(kode=kode, urut=urut, seri=seri, unit=self.unit, tahun=tahun)

    def instansi(self) -> str:
        """The Dinas as a sentence names it: "Dinas Perindustrian dan Perdagangan Provinsi ..."."""
        pemerintah = self.pemerintah.removeprefix("PEMERINTAH ")
        return f"{judul_kapital(self.nama)} {judul_kapital(pemerintah)}"


@functools.cache
def load_dinas(path: Path) -> Dinas:
    """The Dinas's configuration read from a JSON file, with its lambang (a PNG beside it)."""
    dinas = Dinas.model_validate(json.loads(path.read_text(encoding="utf-8")))
    png = (path.parent / dinas.lambang).read_bytes()
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"{dinas.lambang} beside {path.name} is not a PNG")
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return dinas.model_copy(update={"lambang_uri": uri})


class DocumentRequest(BaseModel):
    """The document function's input, from the state machine."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    id_izin: IdIzin
    jenis: Jenis | Literal["pengesahan"]
    action: Literal["render", "seal"]


class Approval(BaseModel):
    """The Kepala Dinas's approval at step 14, as the task page stored it."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")

    oleh: str = Field(min_length=1)
    nip: str = Field(pattern=r"^\d{18}$")
    pada: datetime
    approval_id: str = ""

    def id_for(self, id_izin: str) -> str:
        """The approval's id: the stored one, else derived from who approved what and when."""
        if self.approval_id:
            return self.approval_id
        seed = f"{id_izin}|{self.nip}|{self.pada.isoformat()}".encode()
        return "PSTJ-" + hashlib.sha256(seed).hexdigest()[:12].upper()
