"""A realistic application for the demo, the benchmark and the tests.

A palm-oil mill (KBLI 10431, Industri Minyak Mentah Kelapa Sawit) in Kabupaten Sanggau
expanding from 60 to 90 ton TBS/jam.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def permohonan(id_izin: str, *, nama: str = "PT Sawit Kapuas Lestari") -> dict[str, Any]:
    """The `data` of OSS's permohonan.diajukan for one application."""
    return {
        "id_izin": id_izin,
        "kd_izin": "061000000000001",
        "nib": "9120301234567",
        "id_proyek": f"R-{id_izin}",
        "perusahaan": {
            "nama": nama,
            "npwp": "0013456789012000",
            "alamat": "Jalan Ahmad Yani No. 88, Pontianak",
            "email": "perizinan@sawitkapuas.co.id",
        },
        "kbli": "10431",
        "lokasi": {
            "alamat": "Desa Kampung Baru, Kecamatan Kapuas",
            "kabupaten_kota": "Kabupaten Sanggau",
            "provinsi": "Kalimantan Barat",
        },
        "kapasitas_terpasang": {"jumlah": 60, "satuan": "ton TBS/jam"},
        "kapasitas_perluasan": {"jumlah": 30, "satuan": "ton TBS/jam"},
        "jumlah_investasi": 85_000_000_000,
    }


def verifikasi(id_izin: str, *, komitmen: bool = True) -> dict[str, Any]:
    """The `data` of SIINAS's verifikasi.diajukan."""
    return {
        "id_izin": id_izin,
        "nib": "9120301234567",
        "komitmen_data_industri": komitmen,
        "berkas": [
            {
                "nama": "Dokumen rencana perluasan",
                "url": "https://siinas.example/berkas/rencana.pdf",
            },
            {
                "nama": "Persetujuan lingkungan (AMDAL)",
                "url": "https://siinas.example/berkas/amdal.pdf",
            },
        ],
    }


def komitmen(id_izin: str) -> dict[str, Any]:
    """The `data` of SIINAS's komitmen.terpenuhi (step 18)."""
    return {
        "id_izin": id_izin,
        "nomor_berita_acara": f"BA-PK/{id_izin}/2026",
        "tanggal": datetime.now(UTC).date().isoformat(),
    }


def izin_status(id_izin: str, *, efektif: bool = True) -> dict[str, Any]:
    """The `data` of OSS's izin.status (steps 19–20)."""
    return {
        "id_izin": id_izin,
        "kd_status": "50" if efektif else "90",
        "status": "efektif" if efektif else "belum_efektif",
        "keterangan": "Seluruh komitmen terpenuhi"
        if efektif
        else "Hasil verifikasi teknis belum siap",
    }


def field_inspection() -> dict[str, str]:
    """What the Tim Teknis writes on the Form Pemeriksaan Lapangan (step 10)."""
    return {
        "kesesuaian_lokasi": "sesuai",
        "kapasitas_terpasang_aktual": "60",
        "kondisi_mesin": "Lini pengolahan kedua (30 ton TBS/jam) terpasang dan telah diuji coba.",
        "temuan": "Tangki timbun CPO baru 2 x 2.000 ton telah selesai dibangun.",
    }


def bap() -> dict[str, str]:
    """The BAP's figures (step 11) beyond the application's own."""
    return {
        "tki_l": "212",
        "tki_p": "48",
        "tka_l": "2",
        "tka_p": "0",
        "mesin": "Sterilizer horizontal, 4 unit, 30 ton TBS/jam\n"
        "Screw press, 6 unit, 15 ton TBS/jam\n"
        "Boiler, 1 unit, 45 ton uap/jam",
    }


def data_nib(id_izin: str, *, nama: str = "PT Sawit Kapuas Lestari") -> dict[str, Any]:
    """OSS PIA's `dataNIB` (receiveNIB, CONTRACT §5) holding the same application as
    `permohonan(id_izin)`: the mill's existing project (60 ton TBS/jam) and its expansion
    (30 more), with this Dinas's checklist item on the expansion and one of another permit.
    """
    application = permohonan(id_izin, nama=nama)
    lokasi = {
        "id_proyek_lokasi": "L-1",
        "proyek_daerah_id": "6105012001",  # Kabupaten Sanggau, Kalimantan Barat
        "alamat_usaha": application["lokasi"]["alamat"],
    }

    def proyek(id_proyek: str, perluasan: bool, kapasitas: str, investasi: str) -> dict[str, Any]:
        return {
            "id_proyek": id_proyek,
            "kbli": application["kbli"],
            "sektor": "019",
            "jenis_proyek": "04" if perluasan else "01",
            "flag_perluasan": "Y" if perluasan else "N",
            "jumlah_investasi": investasi,
            "jumlah_tki_l": "212",
            "jumlah_tka_l": "2",
            "data_lokasi_proyek": [lokasi],
            "data_proyek_produk": [
                {"kbli": application["kbli"], "kapasitas": kapasitas, "satuan": "ton TBS/jam"}
            ],
        }

    return {
        "nib": application["nib"],
        "oss_id": "P-202611010001",
        "nama_perseroan": nama,
        "npwp_perseroan": application["perusahaan"]["npwp"],
        "alamat_perseroan": application["perusahaan"]["alamat"],
        "email_perusahaan": application["perusahaan"]["email"],
        "data_proyek": [
            proyek(f"E-{id_izin}", False, "60", "120000000000"),
            proyek(application["id_proyek"], True, "30", str(application["jumlah_investasi"])),
        ],
        "data_checklist": [
            {
                "id_izin": id_izin,
                "id_proyek": application["id_proyek"],
                "kd_izin": application["kd_izin"],
                "kd_daerah": "6105",
                "kewenangan": "01",
                "flag_checklist": "N",
                "data_persyaratan": [{"id_syarat": "1", "no_dokumen": "AMDAL-2026-17"}],
            },
            {
                "id_izin": f"{id_izin}-LH",
                "id_proyek": application["id_proyek"],
                "kd_izin": "032000000000001",  # another Dinas's permit: not ours
                "kd_daerah": "6105",
                "kewenangan": "01",
                "flag_checklist": "N",
            },
        ],
    }


def signatures(paper: list[str]) -> dict[str, str | list[str]]:
    """Step 11's signature lines: the members (NIPs) who signed the BAP on paper, and the
    company's representative."""
    return {
        "ttd_tim": paper,
        "wakil_perusahaan": "Ir. Lukas Tan",
        "jabatan_wakil_perusahaan": "Direktur Operasional",
    }


def signed_page() -> bytes:
    """A scanned page signed on paper, as the Tim Teknis uploads it at step 11: a small PDF."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
