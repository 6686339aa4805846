"""The SOP's official documents: numbered, versioned, rendered to print-ready A4 HTML, sealed.

Six documents, each made at the step that names it: the Surat Pengantar to the Kepala
Bidang (step 5), the Nota Dinas with the disposition (6), the Surat Tugas of the Tim Teknis
(7), the Form Pemeriksaan Lapangan (10), the Berita Acara Pemeriksaan (11) and the Surat
Pengantar for the copy of the BAP to DPMPTSP Kalbar (12). The Kepala Dinas's approval at
step 14 seals the final BAP and Surat Pengantar.

The context builders are pure functions of plain data (the application, the steps' form
values, the roster, the Dinas's letterhead, the moment); `render_document` and
`seal_documents` add the letter number, the store and the object writer, all handed in.

Where things are kept (the application's partition, see store.py):
- the file: `applications/{id_izin}/documents/{jenis}/v{versi:03d}.html` (put_object);
- the version: `APP#{id_izin}` / `DOC#{jenis}#{versi:03d}`, written once (conditional put);
- the pointer for the public verify page: `DOCUMENT#{document_id}` / `DOCUMENT`;
- the audit entry `document.rendered` (or `document.sealed`) with the file's SHA-256.

A document keeps the number its first version took; a send-back makes a new version with
the same number. A sealed version is never rewritten, and nothing is rendered after it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import jinja2
from pydantic import BaseModel, ConfigDict, Field

from izin import sop
from izin.calendar import to_wib
from izin.formats import BULAN, HARI, angka, hari_tanggal, kapasitas, rupiah, tanggal
from izin.models import DocumentRef, IdIzin
from izin.roster import Officer, Roster, RosterError, load_roster
from izin.sop import Role
from izin.store import Store

Item = dict[str, Any]
PutObject = Callable[[str, bytes, str], None]

CONTENT_TYPE = "text/html; charset=utf-8"
PDF_CONTENT_TYPE = "application/pdf"
TEMPLATES = Path(__file__).parent / "templates" / "documents"
# Liberation Serif (SIL OFL, metric-compatible with Times New Roman), shipped in the layer:
# Lambda has no system fonts, and fpdf2's core fonts cannot spell beyond Latin-1.
FONTS = Path(__file__).parent / "data" / "fonts"
FONT_FACES = {"": "Regular", "B": "Bold", "I": "Italic", "BI": "BoldItalic"}
TABLE_GAP_MM = 2.0


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


class DocumentSealed(Exception):
    """A render or a second seal was asked of a document already sealed."""


class DocumentVersionConflict(Exception):
    """Another writer recorded this document version first."""


# -- inputs ----------------------------------------------------------------------------


class Dinas(BaseModel):
    """The Dinas's letterhead and numbering (data/dinas.json)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

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
    """The Dinas's configuration read from a JSON file."""
    return Dinas.model_validate(json.loads(path.read_text(encoding="utf-8")))


class DocumentRequest(BaseModel):
    """The document function's input, from the state machine."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id_izin: IdIzin
    jenis: Jenis | Literal["pengesahan"]
    action: Literal["render", "seal"]


class Approval(BaseModel):
    """The Kepala Dinas's approval at step 14, as the task page stored it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

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


# -- Indonesian spellings the documents need ----------------------------------------------


def nip_tampil(nip: str) -> str:
    """A NIP as printed under a signature: "19880320 201212 1 002"."""
    if len(nip) != 18 or not nip.isdigit():
        return nip
    return f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}"


def npwp_tampil(npwp: str) -> str:
    """An NPWP as printed: 15 digits as "01.234.567.8-901.000"; the 16-digit form as is."""
    if len(npwp) != 15 or not npwp.isdigit():
        return npwp
    d = npwp
    return f"{d[:2]}.{d[2:5]}.{d[5:8]}.{d[8]}-{d[9:12]}.{d[12:]}"


_SATUAN_ANGKA = (
    "nol",
    "satu",
    "dua",
    "tiga",
    "empat",
    "lima",
    "enam",
    "tujuh",
    "delapan",
    "sembilan",
    "sepuluh",
    "sebelas",
)
_RIBUAN = ((1_000_000_000, "miliar"), (1_000_000, "juta"), (1_000, "ribu"))


def terbilang(n: int) -> str:
    """A whole number in Indonesian words: 2026 -> "dua ribu dua puluh enam"."""
    if n < 0:
        return "minus " + terbilang(-n)
    if n < 12:
        return _SATUAN_ANGKA[n]
    if n < 20:
        return f"{_SATUAN_ANGKA[n - 10]} belas"
    if n < 100:
        puluh, sisa = divmod(n, 10)
        return f"{_SATUAN_ANGKA[puluh]} puluh" + (f" {_SATUAN_ANGKA[sisa]}" if sisa else "")
    if n < 1000:
        ratus, sisa = divmod(n, 100)
        head = "seratus" if ratus == 1 else f"{_SATUAN_ANGKA[ratus]} ratus"
        return head + (f" {terbilang(sisa)}" if sisa else "")
    for nilai, nama in _RIBUAN:
        if n >= nilai:
            depan, sisa = divmod(n, nilai)
            head = "seribu" if nilai == 1000 and depan == 1 else f"{terbilang(depan)} {nama}"
            return head + (f" {terbilang(sisa)}" if sisa else "")
    raise AssertionError(n)  # unreachable: every n >= 1000 has a group above


def terbilang_kecil(n: int) -> str:
    """A count with its words, as a lampiran says it: "1 (satu)"."""
    return f"{n} ({terbilang(n)})"


def tanggal_terbilang(d: date) -> str:
    """A date as a berita acara spells it: "Rabu tanggal dua bulan Desember tahun dua ribu ..."."""
    return (
        f"{HARI[d.weekday()]} tanggal {terbilang(d.day)} bulan {BULAN[d.month - 1]} "
        f"tahun {terbilang(d.year)}"
    )


_KATA_KECIL = frozenset({"dan", "di", "ke", "dari", "untuk"})


def judul_kapital(text: str) -> str:
    """An upper-case name as a title: "DINAS ... DAN PERDAGANGAN" -> "Dinas ... dan Perdagangan"."""
    words = text.lower().split()
    return " ".join(
        w if i and w in _KATA_KECIL else w[:1].upper() + w[1:] for i, w in enumerate(words)
    )


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return to_wib(value).date()
    if isinstance(value, date):
        return value
    text = str(value)
    if "T" in text:
        return to_wib(datetime.fromisoformat(text)).date()
    return date.fromisoformat(text)


def _number(value: Any) -> float | int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    number = float(str(value).replace(",", "."))
    return int(number) if number.is_integer() else number


# -- building contexts (pure) ----------------------------------------------------------


class Signer(BaseModel):
    """Who signs a document, and, once sealed, the electronic signature."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    jabatan: str
    nama: str
    nip: str
    atas_nama: str = ""  # "a.n. Kepala Dinas ...", when signing for a superior
    elektronik: dict[str, str] | None = None


def _signer(officer: Officer, *, atas_nama: str = "") -> dict[str, Any]:
    return Signer(
        jabatan=officer.jabatan, nama=officer.nama, nip=nip_tampil(officer.nip), atas_nama=atas_nama
    ).model_dump()


def _officer(roster: Roster, nip: str | None, role: Role) -> Officer:
    """The officer who acted (by NIP), else the role's officer on duty."""
    if nip:
        try:
            return roster.by_nip(nip)
        except RosterError:
            pass
    return roster.first(role)


def _step(field: str) -> int:
    """The number of the step whose form asks for this field (the SOP table says which)."""
    return sop.step_of_field(field).number


def _asked(steps: Mapping[int, Item], field: str) -> Item:
    """What was entered on the form that asks for this field, or {}."""
    return steps.get(_step(field)) or {}


def _require(steps: Mapping[int, Item], number: int, *fields: str) -> Item:
    data = steps.get(number) or {}
    missing = [f for f in fields if data.get(f) in (None, "", [])]
    if not data or missing:
        raise DocumentDataMissing(f"step {number} has no {', '.join(missing) or 'data'}")
    return data


def _company(app: Mapping[str, Any]) -> dict[str, Any]:
    data = app["data"]
    perusahaan, lokasi = data["perusahaan"], data["lokasi"]
    before, added = data["kapasitas_terpasang"], data["kapasitas_perluasan"]
    satuan = before["satuan"]
    return {
        "id_izin": data["id_izin"],
        "kd_izin": data["kd_izin"],
        "id_proyek": data["id_proyek"],
        "nib": data["nib"],
        "kbli": data["kbli"],
        "nama": perusahaan["nama"],
        "npwp": npwp_tampil(perusahaan["npwp"]),
        "alamat": perusahaan["alamat"],
        "email": perusahaan["email"],
        "lokasi": f"{lokasi['alamat']}, {lokasi['kabupaten_kota']}, {lokasi['provinsi']}",
        "satuan": satuan,
        "kapasitas_terpasang": kapasitas(before["jumlah"], satuan),
        "kapasitas_perluasan": kapasitas(added["jumlah"], added["satuan"]),
        "kapasitas_sesudah": kapasitas(before["jumlah"] + added["jumlah"], satuan),
        "jumlah_investasi": rupiah(int(data["jumlah_investasi"])),
        "diajukan": tanggal(_date(app["created_at"])) if app.get("created_at") else "",
    }


def _cite(doc: Mapping[str, Any] | None) -> dict[str, str] | None:
    """A reference to an earlier document: its number and the date of its first version."""
    if not doc:
        return None
    return {"nomor": str(doc["nomor"]), "tanggal": tanggal(_date(doc["tanggal"]))}


def _team(steps: Mapping[int, Item], roster: Roster) -> list[dict[str, str]]:
    s7 = _require(steps, _step("ketua"), "ketua", "anggota")
    anggota = [n for n in s7["anggota"] if n != s7["ketua"]]
    team = []
    for kedudukan, nip in [("Ketua", s7["ketua"]), *(("Anggota", n) for n in anggota)]:
        officer = roster.by_nip(nip)
        team.append(
            {
                "nama": officer.nama,
                "nip": nip_tampil(officer.nip),
                "jabatan": officer.jabatan,
                "kedudukan": kedudukan,
            }
        )
    return team


def build_context(
    jenis: Jenis,
    *,
    application: Mapping[str, Any],
    steps: Mapping[int, Item],
    roster: Roster,
    dinas: Dinas,
    nomor: str,
    now: datetime,
    related: Mapping[str, Mapping[str, Any]] | None = None,
    signature: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Everything one document's template shows, as plain values spelled in Indonesian.

    `related` holds the other documents' first versions (jenis -> item with nomor and
    tanggal) that this one cites; `signature` the electronic signature of a sealed version.
    """
    related = related or {}
    company = _company(application)
    kadis = roster.first(Role.KEPALA_DINAS)
    kabid = roster.first(Role.KEPALA_BIDANG)
    kasi = roster.first(Role.KASI)
    moment = _date(signature["pada"]) if signature else _date(now)
    context: dict[str, Any] = {
        "jenis": jenis.value,
        "judul": JUDUL[jenis],
        "nomor": nomor,
        "dinas": dinas.model_dump(),
        "instansi": dinas.instansi(),
        "perusahaan": company,
        "tempat_tanggal": f"{dinas.kota}, {tanggal(moment)}",
        "tanggal": tanggal(moment),
        "sifat": "Biasa",
        "tembusan": [],
        "rekonstruksi": False,
        "pdf": False,
    }
    if jenis is Jenis.SURAT_PENGANTAR_KABID:
        s4 = _asked(steps, "kelengkapan")
        operator = _officer(roster, s4.get("nip"), Role.OPERATOR)
        kelengkapan = {"lengkap": "lengkap", "tidak_lengkap": "belum lengkap"}
        context |= {
            "lampiran": terbilang_kecil(1) + " berkas",
            "hal": f"Permohonan Penugasan Verifikasi Teknis Izin Perluasan {company['nama']}",
            "kepada": kabid.jabatan,
            "kelengkapan": kelengkapan.get(s4.get("kelengkapan", ""), ""),
            "catatan": s4.get("catatan") or "",
            "penandatangan": _signer(operator),
            "tembusan": ["Arsip"],
        }
    elif jenis is Jenis.NOTA_DINAS:
        s6 = _require(steps, _step("disposisi"), "disposisi")
        context |= {
            "kepada": kasi.jabatan,
            "dari": kabid.jabatan,
            "lampiran": terbilang_kecil(1) + " berkas",
            "hal": f"Disposisi Verifikasi Teknis Izin Perluasan {company['nama']}",
            "disposisi": s6["disposisi"],
            "surat_pengantar": _cite(related.get(Jenis.SURAT_PENGANTAR_KABID)),
            "penandatangan": _signer(_officer(roster, s6.get("nip"), Role.KEPALA_BIDANG)),
            "tembusan": [f"{kadis.jabatan} (sebagai laporan)"],
        }
    elif jenis is Jenis.SURAT_TUGAS:
        s7 = _require(steps, _step("ketua"), "ketua", "anggota", "tanggal_mulai", "tanggal_selesai")
        # Signed by the Kepala Bidang for the Kepala Dinas (a.n.): the SOP gives the Kepala
        # Dinas no step before 14, and the assignment is made at 6-7 inside the Bidang.
        signer = _officer(roster, _asked(steps, "disposisi").get("nip"), Role.KEPALA_BIDANG)
        context |= {
            "tim": _team(steps, roster),
            "tanggal_mulai": hari_tanggal(_date(s7["tanggal_mulai"])),
            "tanggal_selesai": hari_tanggal(_date(s7["tanggal_selesai"])),
            "nota_dinas": _cite(related.get(Jenis.NOTA_DINAS)),
            "penandatangan": _signer(signer, atas_nama=f"a.n. {kadis.jabatan}"),
            "tembusan": [f"{kadis.jabatan} (sebagai laporan)", kasi.jabatan, "Arsip"],
        }
    elif jenis is Jenis.FORM_PEMERIKSAAN_LAPANGAN:
        s10 = _require(steps, _step("tanggal_pemeriksaan"), "tanggal_pemeriksaan")
        aktual = _number(s10.get("kapasitas_terpasang_aktual"))
        sesuai = {"sesuai": "Sesuai", "tidak_sesuai": "Tidak sesuai"}
        context |= {
            "tim": _team(steps, roster),
            "surat_tugas": _cite(related.get(Jenis.SURAT_TUGAS)),
            "hari_tanggal_pemeriksaan": hari_tanggal(_date(s10["tanggal_pemeriksaan"])),
            "kesesuaian_lokasi": sesuai.get(s10.get("kesesuaian_lokasi", ""), "-"),
            "kapasitas_aktual": "-" if aktual is None else kapasitas(aktual, company["satuan"]),
            "kondisi_mesin": s10.get("kondisi_mesin") or "-",
            "temuan": s10.get("temuan") or "-",
        }
    elif jenis is Jenis.BAP:
        context |= _bap(application, steps, roster, dinas, related, company, _date(now))
        context["penandatangan"] = _signer(kadis)
        context["rekonstruksi"] = True
    elif jenis is Jenis.SURAT_PENGANTAR_DPMPTSP:
        s11 = _require(steps, _step("kesimpulan"), "kesimpulan")
        context |= {
            "kepada": dinas.dpmptsp,
            "lampiran": terbilang_kecil(1) + " berkas",
            "hal": f"Tembusan Berita Acara Pemeriksaan Verifikasi Teknis Izin Perluasan "
            f"{company['nama']}",
            "bap": _cite(related.get(Jenis.BAP)),
            "kesimpulan": "SIAP" if s11["kesimpulan"] == "siap" else "BELUM SIAP",
            "penandatangan": _signer(kadis),
            "tembusan": [kabid.jabatan, "Arsip"],
        }
    if signature:
        signed = dict(context["penandatangan"])
        signed |= {"nama": signature["nama"], "nip": nip_tampil(signature["nip"])}
        signed |= {"jabatan": signature["jabatan"], "atas_nama": ""}
        signed["elektronik"] = {
            "tanggal": hari_tanggal(_date(signature["pada"])),
            "approval_id": signature["approval_id"],
            "url": signature["url"],
            "qr": signature.get("qr", ""),
            "sha256_disetujui": signature["sha256_disetujui"],
        }
        context["penandatangan"] = signed
    return context


def _bap(
    application: Mapping[str, Any],
    steps: Mapping[int, Item],
    roster: Roster,
    dinas: Dinas,
    related: Mapping[str, Mapping[str, Any]],
    company: dict[str, Any],
    today: date,
) -> dict[str, Any]:
    """The BAP's fields, per domain.md §1's reconstruction of Lampiran III.

    Its date is the day the Tim Teknis concluded (step 11), else the day it is rendered.
    """
    data = application["data"]
    s11 = _require(steps, _step("kesimpulan"), "kesimpulan")
    s8 = _asked(steps, "hasil_verifikasi")
    s10 = _asked(steps, "temuan")
    satuan = company["satuan"]
    sebelum = _number(s11.get("kapasitas_sebelum"))
    if sebelum is None:
        sebelum = data["kapasitas_terpasang"]["jumlah"]
    penambahan = _number(s11.get("kapasitas_penambahan"))
    if penambahan is None:
        penambahan = data["kapasitas_perluasan"]["jumlah"]
    sesudah = _number(s11.get("kapasitas_sesudah"))
    if sesudah is None:
        sesudah = sebelum + penambahan
    kenaikan = f"{angka(round(penambahan / sebelum * 100, 2))}%" if sebelum else "-"
    investasi = _number(s11.get("investasi"))
    if investasi is None:
        investasi = data["jumlah_investasi"]
    tenaga = {k: int(_number(s11.get(k)) or 0) for k in ("tki_l", "tki_p", "tka_l", "tka_p")}
    mesin = []
    for line in str(s11.get("mesin") or "").splitlines():
        if line.strip():
            parts = [p.strip() for p in line.split(",", 2)]
            parts += [""] * (3 - len(parts))
            mesin.append({"nama": parts[0], "jumlah": parts[1], "kapasitas": parts[2]})
    lapangan = bool(s10)
    aktual = _number(s10.get("kapasitas_terpasang_aktual"))
    dibuat = _date(s11["pada"]) if s11.get("pada") else today
    return {
        "hari_tanggal_terbilang": tanggal_terbilang(dibuat),
        "tanggal_bap": tanggal(dibuat),
        "tempat": company["lokasi"] if lapangan else f"kantor Dinas, {dinas.alamat}",
        "tim": _team(steps, roster),
        "surat_tugas": _cite(related.get(Jenis.SURAT_TUGAS)),
        "kapasitas": {
            "sebelum": kapasitas(sebelum, satuan),
            "penambahan": kapasitas(penambahan, satuan),
            "sesudah": kapasitas(sesudah, satuan),
            "kenaikan": kenaikan,
        },
        "investasi": rupiah(int(investasi)),
        "tenaga_kerja": {k: angka(v) for k, v in tenaga.items()}
        | {
            "tki": angka(tenaga["tki_l"] + tenaga["tki_p"]),
            "tka": angka(tenaga["tka_l"] + tenaga["tka_p"]),
            "laki_laki": angka(tenaga["tki_l"] + tenaga["tka_l"]),
            "perempuan": angka(tenaga["tki_p"] + tenaga["tka_p"]),
            "jumlah": angka(sum(tenaga.values())),
            # The form starts each count at 0: all four left so is nothing counted, not a
            # mill without workers.
            "dirinci": any(tenaga.values()),
        },
        "mesin": mesin,
        "hasil_dokumen": s8.get("hasil_verifikasi") or "-",
        "lapangan": {
            "dilakukan": lapangan,
            "tanggal": hari_tanggal(_date(s10["tanggal_pemeriksaan"])) if lapangan else "",
            "kesesuaian_lokasi": {"sesuai": "Sesuai", "tidak_sesuai": "Tidak sesuai"}.get(
                s10.get("kesesuaian_lokasi", ""), "-"
            ),
            "kapasitas_aktual": "-" if aktual is None else kapasitas(aktual, satuan),
            "kondisi_mesin": s10.get("kondisi_mesin") or "-",
            "temuan": s10.get("temuan") or "-",
        },
        "kesimpulan": "SIAP" if s11["kesimpulan"] == "siap" else "BELUM SIAP",
        "catatan": s11.get("catatan") or "",
    }


# -- rendering (pure) ------------------------------------------------------------------


@functools.cache
def environment() -> jinja2.Environment:
    """The documents' jinja2 environment: autoescaped, and a missing value is an error."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(jenis: Jenis | str, context: Mapping[str, Any]) -> str:
    """The document as print-ready A4 HTML."""
    return environment().get_template(f"{Jenis(jenis).value}.html.j2").render(context)


@functools.cache
def _pdf_class() -> Any:
    """fpdf2's FPDF, reading HTML with the one fix the documents need; imported on first use."""
    from fpdf import FPDF
    from fpdf.enums import VAlign
    from fpdf.html import HTML2FPDF

    class Html(HTML2FPDF):
        TABLE_LINE_HEIGHT = 1.2  # fpdf2: 1.3, looser than the text around the tables
        _table_gap = False  # while fpdf2 opens or closes a table

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "hr":
                self._rule(double=("class", "kop") in attrs)
                return
            if tag == "u" and self.td_th is not None:
                self.td_th["U"] = True  # fpdf2 2.8 notes <u> in a cell, then reads "U"
            if tag != "table":
                super().handle_starttag(tag, attrs)
                return
            # fpdf2 2.8 starts a table in the style the paragraph before it ended with:
            # after a bold "MENUGASKAN:", a whole team table came out bold.
            self.pdf.set_font(style="")
            self._keep_together(float(dict(attrs).get("data-keep") or 0))
            self._table_gap = True
            super().handle_starttag(tag, attrs)
            self._table_gap = False
            # fpdf2 queues the space before a table and draws it after the table, with the
            # space after it: drawn now, the table no longer touches the text above it.
            self._column.render()
            if self.table is not None:
                # A cell's text starts at the top of its row, as on paper (fpdf2: middle).
                self.table._v_align = VAlign.T

        def handle_endtag(self, tag: str) -> None:
            self._table_gap = tag == "table"
            super().handle_endtag(tag)
            self._table_gap = False

        def _ln(self, h: float | None = None) -> None:
            # Around a table, a small gap rather than a blank line of text.
            super()._ln(TABLE_GAP_MM if self._table_gap else h)

        def _keep_together(self, height: float) -> None:
            """A new page unless `height` mm fit on this one (a signature block, say)."""
            self._end_paragraph()
            self._column.render()
            if height and self.pdf.y + height > self.pdf.page_break_trigger:
                # As fpdf2 breaks a page itself inside write_html's local context.
                self.pdf._perform_page_break()

        def _rule(self, *, double: bool) -> None:
            """A rule the page's width, close to the text (fpdf2 adds a blank line after
            its own); the kop surat's is a thick line over a thin one."""
            self._end_paragraph()
            pdf, y = self.pdf, self.pdf.y + 1
            with pdf.local_context():
                pdf.set_line_width(0.8 if double else 0.2)
                pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
                if double:
                    pdf.set_line_width(0.2)
                    pdf.line(pdf.l_margin, y + 1.1, pdf.w - pdf.r_margin, y + 1.1)
            pdf.set_y(y + (2 if double else 0.5))

    class Pdf(FPDF):
        HTML2FPDF_CLASS = Html

    return Pdf


@functools.cache
def _parsed_fonts() -> dict[str, tuple[Any, bytes]]:
    """The four faces as fpdf2 parsed them, and their files, once per process."""
    from fpdf import FPDF

    pdf = FPDF()
    files = {}
    for style, face in FONT_FACES.items():
        path = FONTS / f"LiberationSerif-{face}.ttf"
        pdf.add_font("LiberationSerif", style, str(path))
        files[f"liberationserif{style}"] = path.read_bytes()
    return {key: (font, files[key]) for key, font in pdf.fonts.items()}


def _install_fonts(pdf: Any) -> None:
    """Give a new PDF the faces without parsing the TTF files again (fpdf2's add_font does,
    about 30 ms a face): a copy of each parsed font (fpdf2's own __deepcopy__ keeps the
    widths and the glyph map) with a fontTools font and a subset map of its own, since the
    subsetting at output rewrites the font in place and PDFs are made in parallel."""
    import copy
    import io

    from fontTools import ttLib  # type: ignore[import-untyped]
    from fpdf.fonts import SubsetMap

    for key, (parsed, data) in _parsed_fonts().items():
        font = copy.deepcopy(parsed)
        font.ttfont = ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, lazy=True)
        # The copied subset map would point at another copy, which reads the shared (lazy,
        # not thread-safe) fontTools font: a map of this font's own, fresh as it is unused.
        font.subset = SubsetMap(font)
        font.i = len(pdf.fonts) + 1
        pdf.fonts[key] = font


def render_pdf(jenis: Jenis | str, context: Mapping[str, Any], *, now: datetime) -> bytes:
    """The same document as an A4 PDF, laid out by fpdf2 from the templates' PDF variant."""
    from fpdf.fonts import TextStyle

    kind = Jenis(jenis)
    markup = environment().get_template(f"{kind.value}.html.j2").render({**context, "pdf": True})
    markup = re.sub(r"\s+", " ", markup)  # fpdf2 keeps a cell's line breaks and indentation
    # fpdf2 centres a table on the page, not between the (uneven) margins of a surat dinas.
    markup = markup.replace("<table ", '<table align="left" ')
    # Body text justified and a little more open than fpdf2's single spacing, as a typed
    # letter is (a paragraph's own attributes come later, and win).
    markup = re.sub(r"<p(?=[\s>])", '<p line-height="1.15" align="justify"', markup)
    pdf = _pdf_class()(format="A4", unit="mm")
    pdf.set_margins(left=25, top=20, right=20)
    pdf.set_auto_page_break(True, margin=20)
    _install_fonts(pdf)
    pdf.set_font("LiberationSerif", size=12)
    pdf.set_title(f"{context['judul']} {context['nomor']}")
    pdf.set_author(str(context["dinas"]["nama"]))
    pdf.set_creator("izin")
    pdf.set_creation_date(now)
    pdf.add_page()
    black = "#000000"
    pdf.write_html(
        markup,
        tag_styles={
            "p": TextStyle(t_margin=2.5, b_margin=1.5, color=black),
            "h2": TextStyle(font_style="B", font_size_pt=12, t_margin=4, b_margin=1, color=black),
            "blockquote": TextStyle(
                font_style="I", l_margin=10, t_margin=2, b_margin=2, color=black
            ),
            "li": TextStyle(l_margin=5, t_margin=1, color=black),
        },
        li_prefix_color=black,  # fpdf2 numbers a list in red
        warn_on_tags_not_matching=False,
    )
    return bytes(pdf.output())


def verification_qr(url: str) -> str:
    """The verification link as a QR code: a PNG data URI, for the HTML and the PDF alike."""
    import io

    import segno  # only a seal needs it

    png = io.BytesIO()
    segno.make(url, error="m").save(png, kind="png", scale=4, border=2)
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")


# -- the store: versions, numbers, sealing -----------------------------------------------


def document_key(id_izin: str, jenis: str, versi: int, ext: str = "html") -> str:
    """Where a document version's file is kept in the bucket."""
    return f"applications/{id_izin}/documents/{jenis}/v{versi:03d}.{ext}"


def versions(store: Store, id_izin: str, jenis: str) -> list[Item]:
    """Every recorded version of one document, oldest first."""
    return sorted(store.document_versions(id_izin, jenis), key=lambda i: int(i["versi"]))


def latest_documents(store: Store, id_izin: str) -> dict[str, dict[str, Any]]:
    """Each document of the application by type: its latest version's item."""
    latest: dict[str, dict[str, Any]] = {}
    for item in store.document_versions(id_izin):
        current = latest.get(item["jenis"])
        if current is None or int(item["versi"]) > int(current["versi"]):
            latest[item["jenis"]] = item
    return latest


def _first_versions(store: Store, id_izin: str) -> dict[str, dict[str, Any]]:
    """Each document's first version (its number and date are what other documents cite)."""
    first: dict[str, dict[str, Any]] = {}
    for item in store.document_versions(id_izin):
        current = first.get(item["jenis"])
        if current is None or int(item["versi"]) < int(current["versi"]):
            first[item["jenis"]] = item
    return first


@dataclass(frozen=True)
class _Sources:
    """What an application's documents are made of, read once per call."""

    application: Item
    steps: dict[int, Item]
    roster: Roster
    dinas: Dinas
    related: dict[str, dict[str, Any]]
    now: datetime

    def context(
        self, kind: Jenis, nomor: str, signature: Mapping[str, str] | None
    ) -> dict[str, Any]:
        return build_context(
            kind,
            application=self.application,
            steps=self.steps,
            roster=self.roster,
            dinas=self.dinas,
            nomor=nomor,
            now=self.now,
            related=self.related,
            signature=signature,
        )


def _sources(
    store: Store,
    id_izin: str,
    *,
    now: datetime,
    roster: Roster | None,
    dinas: Dinas | None,
) -> _Sources:
    application = store.application(id_izin)
    if not application:
        raise DocumentDataMissing(f"no application {id_izin}")
    steps = store.steps(id_izin)  # one query for every step's data, not one read per step
    if roster is None or dinas is None:
        from izin.settings import settings  # the shipped files, unless the caller hands them

        config = settings()
        roster = roster or load_roster(config.roster_path())
        dinas = dinas or load_dinas(config.dinas_path())
    return _Sources(
        application=application,
        steps={n: d for n, d in steps.items() if d},
        roster=roster,
        dinas=dinas,
        related=_first_versions(store, id_izin),
        now=now,
    )


def render_document(
    store: Store,
    jenis: str,
    id_izin: str,
    *,
    now: datetime,
    bucket: str,
    put_object: PutObject,
    roster: Roster | None = None,
    dinas: Dinas | None = None,
) -> DocumentRef:
    """Render the next version of one document, store it, record it and audit it.

    The first version takes the next number of the document type's yearly counter; later
    versions (after a send-back) keep it. A sealed document is not rendered again.
    """
    kind = Jenis(jenis)
    sources = _sources(store, id_izin, now=now, roster=roster, dinas=dinas)
    earlier = versions(store, id_izin, kind)
    if any(v.get("sealed") for v in earlier):
        raise DocumentSealed(f"{kind} of {id_izin} is sealed")
    if earlier:
        nomor = str(earlier[0]["nomor"])
    else:
        year = to_wib(now).year
        nomor = sources.dinas.nomor(kind, store.next_number(kind.value, year), year)
    return _publish(
        store,
        sources,
        kind,
        id_izin,
        versi=int(earlier[-1]["versi"]) + 1 if earlier else 1,
        nomor=nomor,
        bucket=bucket,
        put_object=put_object,
    )


def seal_documents(
    store: Store,
    id_izin: str,
    *,
    now: datetime,
    bucket: str,
    put_object: PutObject,
    approval: Mapping[str, Any],
    public_base_url: str,
    roster: Roster | None = None,
    dinas: Dinas | None = None,
) -> list[DocumentRef]:
    """Seal the final BAP and Surat Pengantar with the Kepala Dinas's approval (step 14).

    Each gets a new version with the electronic signature block, the approval's id, the
    hash of the version approved and its verification link; sealed versions are written
    once and never changed. Run again with the same approval, it returns what it sealed.
    """
    sources = _sources(store, id_izin, now=now, roster=roster, dinas=dinas)
    approved = Approval.model_validate(approval)
    approval_id = approved.id_for(id_izin)
    try:
        jabatan = sources.roster.by_nip(approved.nip).jabatan
    except RosterError:
        jabatan = sources.roster.first(Role.KEPALA_DINAS).jabatan
    sealed: list[DocumentRef] = []
    for kind in SEALED_AT_APPROVAL:
        earlier = versions(store, id_izin, kind)
        if not earlier:
            raise DocumentDataMissing(f"{kind} of {id_izin} was never rendered")
        last = earlier[-1]
        if last.get("sealed"):
            if last.get("approval_id") != approval_id:
                raise DocumentSealed(f"{kind} of {id_izin} was sealed by {last['approval_id']}")
            sealed.append(_ref(last))
            continue
        seal = {
            "nama": approved.oleh,
            "nip": approved.nip,
            "jabatan": jabatan,
            "pada": approved.pada.isoformat(),
            "approval_id": approval_id,
            "sha256_disetujui": str(last["sha256"]),
            "base_url": public_base_url.rstrip("/"),
        }
        sealed.append(
            _publish(
                store,
                sources,
                kind,
                id_izin,
                versi=int(last["versi"]) + 1,
                nomor=str(earlier[0]["nomor"]),
                bucket=bucket,
                put_object=put_object,
                seal=seal,
            )
        )
    return sealed


def _ref(item: Mapping[str, Any]) -> DocumentRef:
    return DocumentRef(
        document_id=item["document_id"],
        jenis=item["jenis"],
        nomor=str(item["nomor"]),
        versi=int(item["versi"]),
        key=item["key"],
        sha256=item["sha256"],
    )


def _publish(
    store: Store,
    sources: _Sources,
    kind: Jenis,
    id_izin: str,
    *,
    versi: int,
    nomor: str,
    bucket: str,
    put_object: PutObject,
    seal: Mapping[str, str] | None = None,
) -> DocumentRef:
    """Render, store the file, then record the version (once), its pointer and the audit."""
    document_id = secrets.token_urlsafe(16)
    signature: dict[str, str] | None = None
    if seal:
        url = f"{seal['base_url']}/verify/{document_id}"
        signature = {k: v for k, v in seal.items() if k != "base_url"}
        signature |= {"url": url, "qr": verification_qr(url)}
    context = sources.context(kind, nomor, signature)
    body = render_html(kind, context).encode("utf-8")
    pdf = render_pdf(kind, context, now=sources.now)
    now = sources.now
    sha256 = hashlib.sha256(body).hexdigest()
    pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    key = document_key(id_izin, kind, versi)
    pdf_key = document_key(id_izin, kind, versi, "pdf")
    # The files first: a retry after a crash before the record rewrites the same keys and
    # then records them, so no recorded version ever points at a missing file.
    put_object(key, body, CONTENT_TYPE)
    put_object(pdf_key, pdf, PDF_CONTENT_TYPE)
    item: Item = {
        "document_id": document_id,
        "jenis": kind.value,
        "judul": JUDUL[kind],
        "nomor": nomor,
        "versi": versi,
        "key": key,
        "bucket": bucket,
        "sha256": sha256,
        "content_type": CONTENT_TYPE,
        "size": len(body),
        "pdf_key": pdf_key,
        "pdf_sha256": pdf_sha256,
        "pdf_size": len(pdf),
        "created_at": now.isoformat(),
        "tanggal": (seal["pada"] if seal else now.isoformat()),
        "sealed": bool(seal),
    }
    if seal:
        item |= {
            "approval_id": seal["approval_id"],
            "signed_by": seal["nama"],
            "signed_nip": seal["nip"],
            "signed_jabatan": seal["jabatan"],
            "signed_at": seal["pada"],
            "sha256_disetujui": seal["sha256_disetujui"],
        }
    if not store.put_document_version(id_izin, kind.value, versi, item):
        raise DocumentVersionConflict(f"{kind} v{versi:03d} of {id_izin} already recorded")
    pointer = {
        k: item[k]
        for k in (
            "jenis",
            "judul",
            "nomor",
            "versi",
            "key",
            "bucket",
            "sha256",
            "pdf_key",
            "pdf_sha256",
        )
    }
    pointer |= {"id_izin": id_izin, "sealed": bool(seal), "created_at": item["created_at"]}
    if not store.put_document_pointer(document_id, pointer):
        raise DocumentVersionConflict(f"document id {document_id} already used")
    entry: Item = {
        "action": "document.sealed" if seal else "document.rendered",
        "actor": "sistem",
        "jenis": kind.value,
        "nomor": nomor,
        "versi": versi,
        "sha256": sha256,
        "key": key,
        "pdf_sha256": pdf_sha256,
        "pdf_key": pdf_key,
        "document_id": document_id,
    }
    if seal:
        entry["approval_id"] = seal["approval_id"]
    store.append_audit(id_izin, entry, now=now)
    return _ref(item)


def handle(
    request: DocumentRequest,
    store: Store,
    *,
    now: datetime,
    bucket: str,
    put_object: PutObject,
    public_base_url: str,
) -> dict[str, Any]:
    """The document function's work: render one document, or seal at the approval."""
    if request.action == "seal":
        approval = store.step_data(request.id_izin, sop.step_with(sop.Seal).number)
        refs = seal_documents(
            store,
            request.id_izin,
            now=now,
            bucket=bucket,
            put_object=put_object,
            approval=approval,
            public_base_url=public_base_url,
        )
        return {"sealed": [r.model_dump(mode="json") for r in refs]}
    ref = render_document(
        store, str(request.jenis), request.id_izin, now=now, bucket=bucket, put_object=put_object
    )
    return ref.model_dump(mode="json")
