"""What a document says: its context, built as pure functions of plain data (the
application, the steps' form values, the roster, the Dinas, the moment)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from izin import sop
from izin.delegation import plh_jabatan
from izin.documents.model import (
    JUDUL,
    Dinas,
    DocumentDataMissing,
    Item,
    Jenis,
    SignatoryMissing,
)
from izin.documents.spelling import (
    _date,
    _number,
    nip_tampil,
    npwp_tampil,
    tanggal_terbilang,
    terbilang_kecil,
)
from izin.formats import angka, hari_tanggal, kapasitas, rupiah, tanggal
from izin.roster import Officer, Roster, RosterError
from izin.sop import Role

# -- building contexts (pure) ----------------------------------------------------------


class Signer(BaseModel):
    """Who signs a document, and, once sealed, the electronic signature."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    jabatan: str
    nama: str
    nip: str
    pangkat: str = ""  # "Pembina Utama Muda (IV/c)", under the name; "" when not known
    atas_nama: str = ""  # "a.n. Kepala Dinas ...", when signing for a superior
    # The signer's approval in the system, where the document is theirs to approve by the
    # decision of their own step (the Surat Tugas at 07, the Nota Dinas at 06).
    disetujui: str = ""
    elektronik: dict[str, str] | None = None


def _signer(
    officer: Officer, *, atas_nama: str = "", disetujui: str = "", decided: Item | None = None
) -> dict[str, Any]:
    """The signature block of `officer`; where the step's decision `decided` was a Plh's or
    Plt's, the jabatan line is theirs for the officer away: "Plh. Kepala Bidang …"
    (Permendagri 1/2023), the name and NIP the delegate's own."""
    behalf = (decided or {}).get("plh_untuk") or {}
    jabatan = officer.jabatan
    if behalf and str(behalf.get("jabatan") or ""):
        jabatan = plh_jabatan(str(behalf.get("jenis") or "Plh"), str(behalf["jabatan"]))
    return Signer(
        jabatan=jabatan,
        nama=officer.nama,
        nip=nip_tampil(officer.nip),
        pangkat=officer.pangkat_golongan(),
        atas_nama=atas_nama,
        disetujui=disetujui,
    ).model_dump()


def _approved(decided: Item, officer: Officer, number: int) -> str:
    """The mark of an approval given by the signer's own decision on a step, or ""."""
    if str(decided.get("nip") or "") != officer.nip or not decided.get("pada"):
        return ""
    when = tanggal(_date(str(decided["pada"])))
    return f"Disetujui melalui sistem dengan keputusan langkah {number:02d}, {when}."


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


def _team(
    steps: Mapping[int, Item], roster: Roster, signed: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The Tim Teknis, ketua first; `signed`, the BAP's signatures recorded (see _signatures)."""
    s7 = _require(steps, _step("ketua"), "ketua", "anggota")
    anggota = [n for n in s7["anggota"] if n != s7["ketua"]]
    team = []
    for kedudukan, nip in [("Ketua", s7["ketua"]), *(("Anggota", n) for n in anggota)]:
        officer = roster.by_nip(nip)
        team.append(
            {
                "nama": officer.nama,
                "nip": nip_tampil(officer.nip),
                "pangkat": officer.pangkat_golongan(),
                "jabatan": officer.jabatan,
                "kedudukan": kedudukan,
                "ttd": signed is not None
                and (officer.nip in signed["tim"] or officer.nip in signed["elektronik"]),
                # "ditandatangani <date>": signed in the system by their own decision.
                "elektronik": (signed or {}).get("elektronik", {}).get(officer.nip, ""),
            }
        )
    return team


# The fields in which step 11 records the BAP's signatures made on paper (CONTRACT: the
# workflow records them; the seal refuses blank lines once the SOP table's form asks).
TTD_TIM = "ttd_tim"  # the NIPs of the team members who signed on paper
WAKIL_PERUSAHAAN = "wakil_perusahaan"  # the name of the company's representative who signed
JABATAN_WAKIL = "jabatan_wakil_perusahaan"
# A Tim Teknis member who decided one of these steps of the file, through their own link,
# signed the BAP electronically by that decision.
SIGNED_BY_DECISION = tuple(s.number for s in sop.STEPS if s.is_task and s.actor is Role.TIM_TEKNIS)


def signatures_required() -> bool:
    """Whether the SOP table's forms record the BAP's signatures, so that the seal must
    find every line signed."""
    try:
        sop.step_of_field(TTD_TIM)
    except KeyError:
        return False
    return True


def _signatures(steps: Mapping[int, Item]) -> dict[str, Any]:
    """The BAP's signatures made on paper, as step 11 recorded them."""
    s11 = steps.get(_step("kesimpulan")) or {}
    tim = s11.get(TTD_TIM) or []
    elektronik: dict[str, str] = {}
    for number in SIGNED_BY_DECISION:  # the latest decision's date: the BAP's own, at 11
        decided = steps.get(number) or {}
        if decided.get("nip") and decided.get("pada"):
            elektronik[str(decided["nip"])] = tanggal(_date(str(decided["pada"])))
    return {
        "tim": {str(n) for n in (tim if isinstance(tim, list) else [tim])},
        "elektronik": elektronik,
        "wakil_perusahaan": str(s11.get(WAKIL_PERUSAHAAN) or "").strip(),
        "jabatan_wakil_perusahaan": str(s11.get(JABATAN_WAKIL) or "").strip(),
    }


def unsigned_lines(steps: Mapping[int, Item], roster: Roster) -> list[str]:
    """The BAP's lines still blank: each team member who has not signed, and the company."""
    signed = _signatures(steps)
    blank = [f"Tim Teknis {a['nama']}" for a in _team(steps, roster, signed) if not a["ttd"]]
    if not signed["wakil_perusahaan"]:
        blank.append("wakil perusahaan")
    return blank


def _signatories_known(build: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """A roster lookup that finds nobody, while a document is built, is SignatoryMissing."""

    @functools.wraps(build)
    def checked(jenis: Jenis, **kwargs: Any) -> dict[str, Any]:
        try:
            return build(jenis, **kwargs)
        except RosterError as error:
            raise SignatoryMissing(f"{JUDUL[jenis]}: {error}") from error

    return checked


@_signatories_known
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
    SignatoryMissing when a line to be signed names nobody the roster knows.
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
        "pdf": False,
    }
    if jenis is Jenis.SURAT_PENGANTAR_KABID:
        s4 = _asked(steps, "kelengkapan")
        operator = _officer(roster, s4.get("nip"), Role.OPERATOR)
        kelengkapan = {"lengkap": "lengkap", "tidak_lengkap": "belum lengkap"}
        keterangan = ["Mohon penugasan pelaksanaan verifikasi teknis."]
        if s4.get("kelengkapan") in kelengkapan:
            keterangan.append(f"Kelengkapan berkas: {kelengkapan[s4['kelengkapan']]}.")
        if s4.get("catatan"):
            keterangan.append(f"Catatan: {s4['catatan']}")
        context |= {
            "kepada": kabid.jabatan,
            "di": "Tempat",
            "dikirim": [
                {
                    "naskah": "Berkas permohonan verifikasi teknis Izin Perluasan yang diterima "
                    f"melalui SIINAS atas nama {company['nama']}, NIB {company['nib']}, KBLI "
                    f"{company['kbli']}, ID izin {company['id_izin']}; lokasi pabrik "
                    f"{company['lokasi']}; kapasitas terpasang "
                    f"{company['kapasitas_terpasang']}, penambahan "
                    f"{company['kapasitas_perluasan']} (menjadi "
                    f"{company['kapasitas_sesudah']}); nilai investasi "
                    f"{company['jumlah_investasi']}.",
                    "banyaknya": terbilang_kecil(1) + " berkas",
                    "keterangan": "\n".join(keterangan),
                }
            ],
            "penandatangan": _signer(operator, decided=s4),
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
            "penandatangan": _signer(
                nota_signer := _officer(roster, s6.get("nip"), Role.KEPALA_BIDANG),
                disetujui=_approved(s6, nota_signer, _step("disposisi")),
                decided=s6,
            ),
            "tembusan": [f"{kadis.jabatan} (sebagai laporan)"],
        }
    elif jenis is Jenis.SURAT_TUGAS:
        s7 = _require(steps, _step("ketua"), "ketua", "anggota", "tanggal_mulai", "tanggal_selesai")
        # Signed by the Kasi who assigns the team at step 7, "a.n." the Kepala Dinas and "u.b."
        # the Kepala Bidang (Permendagri 1/2023: a.n. for the official one level below the
        # leader, u.b. for the next), and approved by that step's decision: the document is
        # approved by the person it names, in the step where they act. The other way, the
        # Kepala Bidang approving it at step 7's end, would add a wait the SOP does not have
        # (step 7 has one actor, the Kasi, and the Kepala Bidang no step between 6 and 13),
        # and the Kepala Bidang has already decided the assignment by her disposisi at 6.
        signer = _officer(roster, s7.get("nip"), Role.KASI)
        atas_nama = f"a.n. {kadis.jabatan}\n{kabid.jabatan}\nu.b."
        context |= {
            "tim": _team(steps, roster),
            "tanggal_mulai": hari_tanggal(_date(s7["tanggal_mulai"])),
            "tanggal_selesai": hari_tanggal(_date(s7["tanggal_selesai"])),
            "nota_dinas": _cite(related.get(Jenis.NOTA_DINAS)),
            "penandatangan": _signer(
                signer,
                atas_nama=atas_nama,
                disetujui=_approved(s7, signer, _step("ketua")),
                decided=s7,
            ),
            "tembusan": [
                f"{kadis.jabatan} (sebagai laporan)",
                f"{kabid.jabatan} (sebagai laporan)",
                "Arsip",
            ],
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
    elif jenis is Jenis.SURAT_PENGANTAR_DPMPTSP:
        s11 = _require(steps, _step("kesimpulan"), "kesimpulan")
        bap = _cite(related.get(Jenis.BAP))
        nomor_bap = f" Nomor {bap['nomor']} tanggal {bap['tanggal']}" if bap else ""
        kesimpulan = "SIAP" if s11["kesimpulan"] == "siap" else "BELUM SIAP"
        ditulis = str(_asked(steps, "keterangan_pengantar").get("keterangan_pengantar") or "")
        ditulis = ditulis.strip() or "Disampaikan sebagai tembusan untuk diketahui."
        context |= {
            "kepada": dinas.dpmptsp,
            "di": dinas.kota,
            "dikirim": [
                {
                    "naskah": f"Berita Acara Pemeriksaan Verifikasi Teknis Izin Perluasan"
                    f"{nomor_bap} atas nama {company['nama']}, NIB {company['nib']}, KBLI "
                    f"{company['kbli']}, ID izin {company['id_izin']}, lokasi pabrik "
                    f"{company['lokasi']}.",
                    "banyaknya": terbilang_kecil(1) + " berkas",
                    "keterangan": f"Kesimpulan: {kesimpulan}.\n{ditulis}",
                }
            ],
            "bap": bap,
            "kesimpulan": kesimpulan,
            "penandatangan": _signer(kadis),
            "tembusan": [kabid.jabatan, "Arsip"],
        }
    if signature:
        signed = dict(context["penandatangan"])
        signed |= {"nama": signature["nama"], "nip": nip_tampil(signature["nip"])}
        signed |= {"jabatan": signature["jabatan"], "atas_nama": ""}
        try:
            signed["pangkat"] = roster.by_nip(signature["nip"]).pangkat_golongan()
        except RosterError:
            signed["pangkat"] = ""  # not in today's roster: no pangkat rather than a wrong one
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
    """The BAP's fields, per domain.md §1's reconstruction of Lampiran III, its fixed
    wording from dinas.json ("bap"), its signatures as step 11 recorded them.

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
    signed = _signatures(steps)
    return {
        "format": dinas.bap.model_dump(exclude={"sumber"}),
        "hari_tanggal_terbilang": tanggal_terbilang(dibuat),
        "tanggal_bap": tanggal(dibuat),
        "tempat": company["lokasi"] if lapangan else f"kantor Dinas, {dinas.alamat}",
        "tim": _team(steps, roster, signed),
        "wakil_perusahaan": signed["wakil_perusahaan"],
        "jabatan_wakil_perusahaan": signed["jabatan_wakil_perusahaan"],
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
        "lampiran": _lampiran(steps, upto=_step("kesimpulan")),
    }


_FILE_TYPES = {"image/jpeg": "foto JPEG", "image/png": "gambar PNG", "application/pdf": "PDF"}


def _lampiran(steps: Mapping[int, Item], *, upto: int) -> list[dict[str, str]]:
    """The files uploaded on the task pages of the steps up to `upto` (izin.evidence), in
    step order, as the BAP lists them: name, what, size, who and when, SHA-256."""
    from izin.evidence import size_text

    files = []
    for number in sorted(n for n in steps if n <= upto):
        for u in steps[number].get("lampiran") or []:
            files.append(
                {
                    "nama": str(u["nama"]),
                    "langkah": f"{number:02d}",
                    "jenis": _FILE_TYPES.get(str(u["content_type"]), str(u["content_type"])),
                    "besar": size_text(int(u["ukuran"])),
                    "oleh": str(u["oleh"]),
                    "tanggal": tanggal(_date(str(u["pada"]))),
                    "sha256": str(u["sha256"]),
                }
            )
    return files
