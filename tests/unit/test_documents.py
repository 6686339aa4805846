"""The SOP's documents: what each says, how it is numbered, versioned, stored and sealed."""

from __future__ import annotations

import hashlib
import html
import itertools
import os
import re
import shutil
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
import pytest
import yaml
from izin import values
from izin.documents import (
    JUDUL,
    SEALED_AT_APPROVAL,
    Dinas,
    DocumentDataMissing,
    DocumentSealed,
    Jenis,
    SignatoryMissing,
    SignatureMissing,
    build_context,
    latest_documents,
    load_dinas,
    render_document,
    render_html,
    render_pdf,
    seal_documents,
    tanggal_terbilang,
    terbilang,
)
from izin.documents.versions import content_fields, last_change, versions
from izin.formats import angka, kapasitas, rupiah
from izin.forms import MAX_TEXT
from izin.memory_store import MemoryStore
from izin.models import DocumentRef, Permohonan
from izin.roster import Roster, load_roster
from izin.verify import VerifyContext, VerifyRequest, verify_page

# Seconds of PDFs or of a store's every operation: sent out first (tests/conftest.py).
pytestmark = pytest.mark.lengthy

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "izin" / "izin"
ID_IZIN = "I-202611260930001234567"
NOW = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)  # Kamis, 26 November 2026, 09.30 WIB

# The roster shipped in the layer (data/roster.json).
OPERATOR = "199203152019032011"
KABID = "197108241998032004"
KADIS = "196907151994031007"
BUDI, YULIANA, AGUS = "198803202012121002", "199107082015032006", "198512032010011005"


def application(nama: str = "PT Sawit Sanggau Lestari") -> dict[str, Any]:
    """A palm-oil mill in Kabupaten Sanggau expanding from 60 to 90 ton TBS/jam."""
    return {
        "id_izin": ID_IZIN,
        "created_at": "2026-11-20T03:00:00+00:00",
        "data": {
            "id_izin": ID_IZIN,
            "kd_izin": "032000000002",
            "nib": "9120301234567",
            "id_proyek": "R-202611200001",
            "perusahaan": {
                "nama": nama,
                "npwp": "012345678901000",
                "alamat": "Jalan Jenderal Sudirman No. 8, Sanggau",
                "email": "legal@sawitsanggau.co.id",
            },
            "kbli": "10431",
            "lokasi": {
                "alamat": "Desa Semuntai, Kecamatan Mukok",
                "kabupaten_kota": "Kabupaten Sanggau",
                "provinsi": "Kalimantan Barat",
            },
            "kapasitas_terpasang": {"jumlah": 60, "satuan": "ton TBS/jam"},
            "kapasitas_perluasan": {"jumlah": 30, "satuan": "ton TBS/jam"},
            "jumlah_investasi": 85_000_000_000,
        },
    }


def _by(name: str, nip: str, pada: str, decision: str = "done") -> dict[str, Any]:
    return {"decision": decision, "oleh": name, "nip": nip, "pada": pada}


STEPS: dict[int, dict[str, Any]] = {
    4: {"kelengkapan": "lengkap", "catatan": ""}
    | _by("Rina Marlina, S.Kom.", OPERATOR, "2026-11-26T02:00:00+00:00"),
    6: {"disposisi": "Mohon ditindaklanjuti dengan penugasan Tim Teknis."}
    | _by("Dra. Sri Wahyuni, M.Si.", KABID, "2026-11-26T04:00:00+00:00"),
    7: {
        "ketua": BUDI,
        "anggota": [YULIANA, AGUS],
        "tanggal_mulai": "2026-11-30",
        "tanggal_selesai": "2026-12-04",
    }
    | _by("Ir. Hendra Saputra, M.T.", "198005122006041003", "2026-11-27T02:00:00+00:00"),
    8: {"hasil_verifikasi": "Dokumen permohonan sesuai dengan persyaratan."}
    | _by("Budi Santoso, S.T.", BUDI, "2026-11-30T03:00:00+00:00", "yes"),
    10: {
        "tanggal_pemeriksaan": "2026-12-01",
        "kesesuaian_lokasi": "sesuai",
        "kapasitas_terpasang_aktual": 60,
        "kondisi_mesin": "Mesin dan peralatan terpasang dan berfungsi.",
        "temuan": "Stasiun rebusan ketiga sedang dipasang.",
    }
    | _by("Budi Santoso, S.T.", BUDI, "2026-12-01T08:00:00+00:00"),
    11: {
        "kapasitas_sebelum": 60,
        "kapasitas_penambahan": 30,
        "kapasitas_sesudah": 90,
        "investasi": 85_000_000_000,
        "tki_l": 212,
        "tki_p": 38,
        "tka_l": 2,
        "tka_p": 0,
        "mesin": "Sterilizer horizontal, 3 unit, 30 ton TBS/jam\n"
        "Screw press, 4 unit, 15 ton TBS/jam",
        "kesimpulan": "siap",
        "catatan": "",
        # The ketua signs by his decision; the anggota signed on paper, as did the company.
        "ttd_tim": [YULIANA, AGUS],
        "wakil_perusahaan": "Ir. Lukas Tan",
        "jabatan_wakil_perusahaan": "Direktur",
    }
    | _by("Budi Santoso, S.T.", BUDI, "2026-12-02T03:00:00+00:00"),
    12: {"laporan": "Verifikasi teknis telah dilaksanakan; BAP terlampir."}
    | _by("Ir. Hendra Saputra, M.T.", "198005122006041003", "2026-12-03T03:00:00+00:00"),
}

APPROVAL = _by("Dr. H. Ahmad Fauzi, S.E., M.M.", KADIS, "2026-12-07T07:15:00+00:00", "yes") | {
    "catatan": ""
}


class Bucket:
    """What put_object was handed, by key."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def put_object(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = (body, content_type)

    def text(self, key: str) -> str:
        return self.objects[key][0].decode("utf-8")


ROSTER = load_roster(PACKAGE / "data" / "roster.json")
DINAS = load_dinas(PACKAGE / "data" / "dinas.json")


@dataclass
class Desk:
    """One application's documents: the fake store and bucket they are made in."""

    store: MemoryStore = field(default_factory=lambda: MemoryStore.seeded(application(), STEPS))
    bucket: Bucket = field(default_factory=Bucket)
    roster: Roster = ROSTER
    dinas: Dinas = DINAS

    def render(self, jenis: Jenis, now: datetime = NOW) -> DocumentRef:
        return render_document(
            self.store,
            jenis,
            ID_IZIN,
            now=now,
            bucket="izin-documents",
            put_object=self.bucket.put_object,
            roster=self.roster,
            dinas=self.dinas,
        )

    def render_all(self) -> dict[str, str]:
        """Every document in the SOP's order, as the state machine makes them: jenis -> html."""
        return {j.value: self.bucket.text(self.render(j).key) for j in Jenis}

    def seal(self, approval: dict[str, Any] = APPROVAL) -> list[DocumentRef]:
        return seal_documents(
            self.store,
            ID_IZIN,
            now=datetime(2026, 12, 7, 7, 16, tzinfo=UTC),
            bucket="izin-documents",
            put_object=self.bucket.put_object,
            approval=approval,
            public_base_url="https://izin.example.go.id/",
            roster=self.roster,
            dinas=self.dinas,
        )


@pytest.fixture
def desk() -> Desk:
    return Desk()


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    """Every document of the sample application, rendered once for the tests that read."""
    return Desk().render_all()


def plain(text: str) -> str:
    """The document's visible text, tags dropped, entities read, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def test_every_document_carries_the_kop_the_company_and_its_number(texts: dict[str, str]) -> None:
    assert set(texts) == {j.value for j in Jenis}
    for jenis, text in texts.items():
        words = plain(text)
        assert "DINAS PERINDUSTRIAN DAN PERDAGANGAN" in words, jenis
        assert "Jalan Sutan Syahrir No. 17, Pontianak 78116" in words, jenis
        assert "PT Sawit Sanggau Lestari" in words, jenis
        assert "@page { size: A4;" in text, jenis
        assert DINAS.nomor(jenis, 1, 2026) in words, jenis
    assert DINAS.nomor("bap", 1, 2026) == "500.2.2.1/1/BAP/Disperindag-Ind/2026"


SURAT_PENGANTAR_TABLE = "No. Naskah Dinas/Barang yang Dikirimkan Banyaknya Keterangan"


def test_surat_pengantar_to_the_kepala_bidang(texts: dict[str, str]) -> None:
    """The Surat Pengantar layout (Permendagri 1/2023): place and date, the addressee, the
    title and number, the table of what is sent, the sender; no Sifat/Lampiran/Hal."""
    words = plain(texts[Jenis.SURAT_PENGANTAR_KABID])
    assert "Pontianak, 26 November 2026 Yth. Kepala Bidang Perindustrian di Tempat" in words
    assert "SURAT PENGANTAR Nomor: 500.2.2/1/SP/Disperindag-Ind/2026" in words
    assert f"{SURAT_PENGANTAR_TABLE} 1. Berkas permohonan verifikasi teknis" in words
    assert "1 (satu) berkas Mohon penugasan pelaksanaan verifikasi teknis." in words
    assert "Kelengkapan berkas: lengkap." in words
    for label in ("Sifat", "Lampiran :", "Hal :"):
        assert label not in words
    assert "Pengirim, Operator SIINAS Bidang Perindustrian," in words
    assert "NIB 9120301234567" in words and "KBLI 10431" in words
    assert "kapasitas terpasang 60 ton TBS/jam" in words
    assert "menjadi 90 ton TBS/jam" in words
    assert "Rp85.000.000.000" in words
    assert "Rina Marlina, S.Kom. Penata Muda (III/a) NIP 19920315 201903 2 011" in words
    assert "Tembusan:" in words


def test_nota_dinas_carries_the_disposition_and_cites_the_surat_pengantar(
    texts: dict[str, str],
) -> None:
    words = plain(texts[Jenis.NOTA_DINAS])
    assert "NOTA DINAS" in words
    assert "Yth. : Kepala Seksi Kerjasama, Pengawasan, dan Promosi Investasi Industri" in words
    assert "Dari : Kepala Bidang Perindustrian" in words
    assert "Tanggal : 26 November 2026" in words
    assert "Mohon ditindaklanjuti dengan penugasan Tim Teknis." in words
    assert (
        "Surat Pengantar Nomor 500.2.2/1/SP/Disperindag-Ind/2026 tanggal 26 November 2026" in words
    )
    assert "Dra. Sri Wahyuni, M.Si. Pembina (IV/a) NIP 19710824 199803 2 004" in words


def test_surat_tugas_names_the_team_the_task_and_the_period(texts: dict[str, str]) -> None:
    words = plain(texts[Jenis.SURAT_TUGAS])
    assert "SURAT TUGAS" in words and "Nomor: 800.1.11.1/1/ST/Disperindag-Ind/2026" in words
    assert "Dasar" in words and "Nomor 30 Tahun 2019" in words
    assert "Nota Dinas Kepala Bidang Nomor 500.2.2/1/ND/Disperindag-Ind/2026" in words
    # Each member's pangkat/golongan under the name.
    for nama, pangkat, nip, jabatan in (
        (
            "Budi Santoso, S.T.",
            "Penata (III/c)",
            "19880320 201212 1 002",
            "Pengawas Industri Ahli Muda",
        ),
        (
            "Yuliana Putri, S.T.P.",
            "Penata Muda Tingkat I (III/b)",
            "19910708 201503 2 006",
            "Pengawas Industri Ahli Pertama",
        ),
        (
            "Agus Riyadi, A.Md.",
            "Pengatur Tingkat I (II/d)",
            "19851203 201001 1 005",
            "Penyuluh Perindustrian Terampil",
        ),
    ):
        assert f"{nama} {pangkat} {nip} {jabatan}" in words
    assert "19880320 201212 1 002 Pengawas Industri Ahli Muda Ketua" in words
    assert "Senin, 30 November 2026 sampai dengan Jumat, 4 Desember 2026" in words
    assert "Kabupaten Sanggau" in words
    # Signed by the Kasi who assigned the team, a.n. the Kepala Dinas, u.b. the Kepala Bidang,
    # and approved by his own decision at step 07.
    assert (
        "a.n. Kepala Dinas Perindustrian dan Perdagangan Provinsi Kalimantan Barat "
        "Kepala Bidang Perindustrian u.b. Kepala Seksi Kerjasama"
    ) in words
    assert "Disetujui melalui sistem dengan keputusan langkah 07, 27 November 2026." in words
    assert "Ir. Hendra Saputra, M.T. Penata Tingkat I (III/d) NIP 19800512 200604 1 003" in words
    assert "Tembusan:" in words


def test_form_pemeriksaan_lapangan_holds_the_results(texts: dict[str, str]) -> None:
    words = plain(texts[Jenis.FORM_PEMERIKSAAN_LAPANGAN])
    assert "FORM PEMERIKSAAN LAPANGAN" in words
    assert (
        "Surat Tugas Nomor 800.1.11.1/1/ST/Disperindag-Ind/2026 tanggal 26 November 2026" in words
    )
    assert "Selasa, 1 Desember 2026" in words
    assert "Kapasitas terpasang 60 ton TBS/jam 60 ton TBS/jam" in words
    assert "Lokasi pabrik Desa Semuntai" in words and "Sesuai" in words
    assert "Stasiun rebusan ketiga sedang dipasang." in words
    assert "NPWP : 01.234.567.8-901.000" in words


def test_bap_follows_the_reconstruction_of_lampiran_iii(texts: dict[str, str]) -> None:
    text = texts["bap"]
    words = plain(text)
    # The wording is configuration (dinas.json "bap"); where it comes from is noted there,
    # not on the document.
    assert "rekonstruksi" not in text.lower() and "dikonfirmasi" not in text
    assert "Rekonstruksi Lampiran III" in DINAS.bap.sumber
    for heading in DINAS.bap.bagian.values():
        assert heading in words
    assert DINAS.bap.penutup in words
    # Every signatory's pangkat/golongan under the name: the team and the Kepala Dinas.
    # The ketua decided step 11 in the system: his line is signed by that decision.
    assert "1. Budi Santoso, S.T. 1. ditandatangani 2 Desember 2026 Penata (III/c)" in words
    assert "2. Yuliana Putri, S.T.P. 2. ttd." in words
    assert "ttd. Ir. Lukas Tan Direktur" in words
    assert "Dr. H. Ahmad Fauzi, S.E., M.M. Pembina Utama Muda (IV/c) NIP" in words
    assert (
        "BERITA ACARA PEMERIKSAAN" in words
        and "Nomor: 500.2.2.1/1/BAP/Disperindag-Ind/2026" in words
    )
    assert (
        "Pada hari ini Rabu tanggal dua bulan Desember tahun dua ribu dua puluh enam "
        "(2 Desember 2026), bertempat di Desa Semuntai" in words
    )
    assert "Surat Tugas Nomor 800.1.11.1/1/ST/Disperindag-Ind/2026" in words
    assert "Kapasitas sebelum perluasan : 60 ton TBS/jam" in words
    assert "Penambahan kapasitas : 30 ton TBS/jam (50%)" in words
    assert "Kapasitas sesudah perluasan : 90 ton TBS/jam" in words
    assert "Nilai investasi perluasan : Rp85.000.000.000" in words
    assert "Tenaga kerja Indonesia (TKI) 212 38" in words
    assert "Tenaga kerja Indonesia (TKI) 212 38 250" in words
    assert "Tenaga kerja asing (TKA) 2 0 2" in words and "Jumlah 214 38 252" in words
    assert "Sterilizer horizontal 3 unit 30 ton TBS/jam" in words
    assert "Dilaksanakan pada Selasa, 1 Desember 2026" in words
    assert "dinyatakan SIAP" in words
    assert "NIB : 9120301234567" in words and "KBLI (5 digit) : 10431" in words
    assert "Mengetahui," in words and "Dr. H. Ahmad Fauzi, S.E., M.M." in words
    assert "Ditandatangani secara elektronik" not in words


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "nol"),
        (1, "satu"),
        (11, "sebelas"),
        (12, "dua belas"),
        (19, "sembilan belas"),
        (20, "dua puluh"),
        (31, "tiga puluh satu"),
        (100, "seratus"),
        (111, "seratus sebelas"),
        (999, "sembilan ratus sembilan puluh sembilan"),
        (1000, "seribu"),
        (1001, "seribu satu"),
        (2026, "dua ribu dua puluh enam"),
        (11_000, "sebelas ribu"),
        (100_000, "seratus ribu"),
        (1_250_000, "satu juta dua ratus lima puluh ribu"),
        (3_000_000_000, "tiga miliar"),
    ],
)
def test_numbers_in_words(n: int, words: str) -> None:
    assert terbilang(n) == words


def test_a_date_as_a_berita_acara_spells_it() -> None:
    assert tanggal_terbilang(date(2026, 12, 31)) == (
        "Kamis tanggal tiga puluh satu bulan Desember tahun dua ribu dua puluh enam"
    )


def test_bap_without_a_field_inspection_says_so() -> None:
    steps = {n: d for n, d in STEPS.items() if n != 10}
    steps[11] = steps[11] | {"kesimpulan": "belum_siap", "catatan": "Mesin belum terpasang."}
    steps[11] |= {"tki_l": "0", "tki_p": 0, "tka_l": None, "tka_p": ""}
    desk = Desk(MemoryStore.seeded(application(), steps))
    words = plain(desk.bucket.text(desk.render(Jenis.BAP).key))
    assert "Tidak dilaksanakan (tidak diperlukan)" in words
    # No worker counted and no machine listed: said so, not a table of zeros.
    assert "Tenaga kerja : Tidak dirinci." in words and "Tenaga kerja (orang)" not in words
    assert "dinyatakan BELUM SIAP" in words and "Mesin belum terpasang." in words


def test_surat_pengantar_to_dpmptsp_cites_the_bap(texts: dict[str, str]) -> None:
    words = plain(texts[Jenis.SURAT_PENGANTAR_DPMPTSP])
    assert "Yth. Kepala Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu" in words
    assert "di Pontianak" in words
    assert "SURAT PENGANTAR Nomor: 500.2.2/1/SP-DPMPTSP/Disperindag-Ind/2026" in words
    assert (
        f"{SURAT_PENGANTAR_TABLE} 1. Berita Acara Pemeriksaan Verifikasi Teknis Izin Perluasan "
        "Nomor 500.2.2.1/1/BAP/Disperindag-Ind/2026 tanggal" in words
    )
    assert "1 (satu) berkas Kesimpulan: SIAP." in words
    assert (
        "Pengirim, Kepala Dinas Perindustrian dan Perdagangan Provinsi Kalimantan Barat," in words
    )
    assert "Pembina Utama Muda (IV/c) NIP 19690715 199403 1 007" in words


def test_a_company_name_with_markup_is_escaped() -> None:
    nama = "PT \"Sawit\" & <script>alert('x')</script> Lestari"
    desk = Desk(MemoryStore.seeded(application(nama), STEPS))
    for jenis, text in desk.render_all().items():
        assert "<script>" not in text, jenis
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text, jenis
        assert "PT &#34;Sawit&#34; &amp; " in text, jenis
        assert nama in html.unescape(text), jenis


def test_strict_undefined_refuses_a_missing_value() -> None:
    context = build_context(
        Jenis.BAP,
        application=application(),
        steps=STEPS,
        roster=ROSTER,
        dinas=DINAS,
        nomor="500.2.2.1/1/BAP/Disperindag-Ind/2026",
        now=NOW,
    )
    assert "Berita Acara" in render_html(Jenis.BAP, context)
    del context["kapasitas"]
    with pytest.raises(jinja2.UndefinedError, match="kapasitas"):
        render_html(Jenis.BAP, context)


def test_a_document_needs_its_step_data() -> None:
    desk = Desk(MemoryStore.seeded(application(), {n: d for n, d in STEPS.items() if n != 7}))
    with pytest.raises(DocumentDataMissing, match="step 7"):
        desk.render(Jenis.SURAT_TUGAS)
    desk.store.items.pop((f"APP#{ID_IZIN}", "META"))
    with pytest.raises(DocumentDataMissing, match="no application"):
        desk.render(Jenis.BAP)


def test_a_rendered_version_is_stored_recorded_pointed_to_and_audited(desk: Desk) -> None:
    ref = desk.render(Jenis.SURAT_TUGAS)
    key = f"applications/{ID_IZIN}/documents/surat_tugas/v001.html"
    body, content_type = desk.bucket.objects[key]
    assert ref.key == key and ref.versi == 1 and ref.jenis == "surat_tugas"
    assert content_type == "text/html; charset=utf-8"
    assert ref.sha256 == hashlib.sha256(body).hexdigest()
    assert len(ref.document_id) >= 16 and re.fullmatch(r"[A-Za-z0-9_-]+", ref.document_id)

    item = desk.store.get(f"APP#{ID_IZIN}", "DOC#surat_tugas#001")
    assert item is not None
    for name in ("document_id", "nomor", "versi", "key", "sha256"):
        assert item[name] == getattr(ref, name)
    assert item["content_type"] == content_type and item["created_at"] == NOW.isoformat()
    assert item["sealed"] is False

    pointer = desk.store.get(f"DOCUMENT#{ref.document_id}", "DOCUMENT")
    assert pointer is not None
    assert {k: pointer[k] for k in ("id_izin", "jenis", "versi", "key", "sha256")} == {
        "id_izin": ID_IZIN,
        "jenis": "surat_tugas",
        "versi": 1,
        "key": key,
        "sha256": ref.sha256,
    }
    (entry,) = desk.store.trail
    assert entry["action"] == "document.rendered" and entry["actor"] == "sistem"
    assert (entry["jenis"], entry["nomor"], entry["versi"]) == ("surat_tugas", ref.nomor, 1)
    assert (entry["sha256"], entry["key"]) == (ref.sha256, key)


def test_a_re_render_is_a_new_version_with_the_same_number(desk: Desk) -> None:
    first = desk.render(Jenis.SURAT_PENGANTAR_DPMPTSP)
    other = Desk(MemoryStore.seeded(application("PT Lain"), STEPS))
    # Another application took a number of this type meanwhile.
    other.store.next_number(Jenis.SURAT_PENGANTAR_DPMPTSP.value, 2026)
    assert (
        other.render(Jenis.SURAT_PENGANTAR_DPMPTSP).nomor
        == "500.2.2/2/SP-DPMPTSP/Disperindag-Ind/2026"
    )
    later = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)  # a send-back that crosses the year
    corrected = {**STEPS[12], "keterangan_pengantar": "Mohon dicatat dalam register izin."}
    desk.store.save_step(ID_IZIN, 12, corrected)  # the Kasi changed the letter
    second = desk.render(Jenis.SURAT_PENGANTAR_DPMPTSP, now=later)
    assert (first.versi, second.versi) == (1, 2)
    assert first.nomor == second.nomor == "500.2.2/1/SP-DPMPTSP/Disperindag-Ind/2026"
    assert second.key.endswith("/surat_pengantar_dpmptsp/v002.html")
    assert first.key in desk.bucket.objects and second.key in desk.bucket.objects
    assert first.document_id != second.document_id
    assert latest_documents(desk.store, ID_IZIN)["surat_pengantar_dpmptsp"]["versi"] == 2
    assert "Pontianak, 4 Januari 2027" in plain(desk.bucket.text(second.key))


def test_a_re_render_with_nothing_changed_keeps_the_version_and_says_so(desk: Desk) -> None:
    first = desk.render(Jenis.BAP)
    # Step 11 answered again with the same values (a later moment, another `pada`).
    desk.store.save_step(ID_IZIN, 11, {**STEPS[11], "pada": "2026-12-04T03:00:00+00:00"})
    again = desk.render(Jenis.BAP, now=datetime(2026, 12, 4, 4, 0, tzinfo=UTC))
    assert again == first
    assert [v["versi"] for v in versions(desk.store, ID_IZIN, Jenis.BAP)] == [1]
    assert len([k for k in desk.bucket.objects if "/bap/" in k]) == 2  # v001 html and pdf
    kept = desk.store.trail[-1]
    assert (kept["action"], kept["jenis"], kept["versi"]) == ("document.unchanged", "bap", 1)
    assert last_change(versions(desk.store, ID_IZIN, Jenis.BAP)) is None


def test_a_changed_figure_makes_a_new_version_that_shows_what_changed(desk: Desk) -> None:
    desk.render(Jenis.BAP)
    letter = desk.render(Jenis.SURAT_PENGANTAR_DPMPTSP)
    desk.store.save_step(ID_IZIN, 11, {**STEPS[11], "tka_l": 3, "catatan": "TKA diperbaiki."})
    second = desk.render(Jenis.BAP)
    # The letter shows the BAP's conclusion, not its figures: it keeps its version.
    assert desk.render(Jenis.SURAT_PENGANTAR_DPMPTSP) == letter
    assert second.versi == 2
    assert "Tenaga kerja asing (TKA) 3 0 3" in plain(desk.bucket.text(second.key))
    change = last_change(versions(desk.store, ID_IZIN, Jenis.BAP))
    assert change is not None and (change["dari"], change["ke"]) == (1, 2)
    assert change["perubahan"] == [
        {"step": 11, "label": "Tenaga kerja asing laki-laki", "sebelum": "2", "sesudah": "3"},
        {"step": 11, "label": "Catatan", "sebelum": "", "sesudah": "TKA diperbaiki."},
    ]
    # The seal copies what the approved version is made of: the change stays the last one.
    desk.seal()
    sealed = versions(desk.store, ID_IZIN, Jenis.BAP)
    assert [v["versi"] for v in sealed] == [1, 2, 3] and sealed[-1]["sealed"]
    assert last_change(sealed) == change


def test_a_document_the_sop_names_no_sources_for_is_a_new_version_each_time(desk: Desk) -> None:
    assert content_fields(Jenis.NOTA_DINAS) == ()
    assert (desk.render(Jenis.NOTA_DINAS).versi, desk.render(Jenis.NOTA_DINAS).versi) == (1, 2)


def test_the_kasis_keterangan_is_the_letters(desk: Desk) -> None:
    desk.store.save_step(ID_IZIN, 12, {**STEPS[12], "keterangan_pengantar": "Mohon dicatat."})
    letter = plain(desk.bucket.text(desk.render(Jenis.SURAT_PENGANTAR_DPMPTSP).key))
    assert "Kesimpulan: SIAP." in letter and "Mohon dicatat." in letter
    assert "Disampaikan sebagai tembusan" not in letter


def test_numbers_count_per_type_and_year(desk: Desk) -> None:
    desk.render_all()
    assert desk.store.counters == {(j.value, 2026): 1 for j in Jenis}


def test_latest_documents_by_type(desk: Desk) -> None:
    desk.render_all()
    desk.store.save_step(ID_IZIN, 11, {**STEPS[11], "tki_p": 40})
    desk.render(Jenis.BAP)
    latest = latest_documents(desk.store, ID_IZIN)
    assert set(latest) == {j.value for j in Jenis}
    assert latest["bap"]["versi"] == 2 and latest["nota_dinas"]["versi"] == 1
    assert JUDUL[Jenis.BAP] == "Berita Acara Pemeriksaan"


def test_the_approval_seals_the_bap_and_the_surat_pengantar(desk: Desk) -> None:
    desk.render_all()
    approved = latest_documents(desk.store, ID_IZIN)
    sealed = desk.seal()
    assert [r.jenis for r in sealed] == ["bap", "surat_pengantar_dpmptsp"]
    for ref in sealed:
        assert ref.versi == 2 and ref.nomor == approved[ref.jenis]["nomor"]
        text = desk.bucket.text(ref.key)
        words = plain(text)
        assert "Ditandatangani secara elektronik" in words
        assert "Dr. H. Ahmad Fauzi, S.E., M.M." in words and "NIP 19690715 199403 1 007" in words
        assert "pada Senin, 7 Desember 2026" in words
        assert f"https://izin.example.go.id/verify/{ref.document_id}" in words
        assert approved[ref.jenis]["sha256"] in words  # the hash of the version approved
        assert re.search(r"ID persetujuan: PSTJ-[0-9A-F]{12}", words)
        assert 'src="data:image/png;base64,' in text  # the QR code
        item = desk.store.get(f"APP#{ID_IZIN}", f"DOC#{ref.jenis}#002")
        assert item is not None and item["sealed"] is True
        assert item["signed_nip"] == KADIS
        pointer = desk.store.get(f"DOCUMENT#{ref.document_id}", "DOCUMENT")
        assert pointer is not None and pointer["sealed"] is True
    assert "Pontianak, 7 Desember 2026" in plain(desk.bucket.text(sealed[1].key))
    assert [e["action"] for e in desk.store.trail[-2:]] == ["document.sealed"] * 2


def test_a_sealed_document_never_changes(desk: Desk) -> None:
    desk.render_all()
    sealed = desk.seal()
    items = {k: dict(v) for k, v in desk.store.items.items()}
    objects = dict(desk.bucket.objects)
    # A retried seal with the same approval answers with what it sealed, writing nothing.
    assert desk.seal() == sealed
    assert desk.store.items == items and desk.bucket.objects == objects
    with pytest.raises(DocumentSealed):
        desk.render(Jenis.BAP)
    other = APPROVAL | {"pada": "2026-12-08T01:00:00+00:00"}
    with pytest.raises(DocumentSealed):
        desk.seal(other)


def test_a_seal_needs_the_documents(desk: Desk) -> None:
    with pytest.raises(DocumentDataMissing, match="never rendered"):
        desk.seal()


# -- the PDFs -------------------------------------------------------------------------------

ARTIFACTS = PACKAGE.parents[2] / "test-artifacts"


def poppler(tool: str) -> str:
    """A poppler-utils program; outside CI its absence skips the test, in CI it fails it."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} missing: apt-get install -y poppler-utils"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def pdf_pages(pdf: bytes, tmp_path: Path) -> list[str]:
    """The text of each page of a PDF (pdftotext ends each page with a form feed)."""
    source = tmp_path / "pages.pdf"
    source.write_bytes(pdf)
    out = subprocess.run(
        [poppler("pdftotext"), "-raw", "-enc", "UTF-8", str(source), "-"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return [re.sub(r"\s+", " ", page) for page in out.stdout.decode("utf-8").split("\f")]


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The text of a PDF in the order it was written (-raw: a table's cells one by one)."""
    return re.sub(r"\s+", " ", " ".join(pdf_pages(pdf, tmp_path)))


def test_every_version_has_its_pdf_beside_it(desk: Desk) -> None:
    ref = desk.render(Jenis.SURAT_TUGAS)
    item = desk.store.get(f"APP#{ID_IZIN}", "DOC#surat_tugas#001")
    assert item is not None
    assert item["pdf_key"] == f"applications/{ID_IZIN}/documents/surat_tugas/v001.pdf"
    pdf, content_type = desk.bucket.objects[item["pdf_key"]]
    assert content_type == "application/pdf" and pdf.startswith(b"%PDF-")
    assert item["pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
    pointer = desk.store.get(f"DOCUMENT#{ref.document_id}", "DOCUMENT")
    assert pointer is not None and pointer["pdf_sha256"] == item["pdf_sha256"]
    (entry,) = desk.store.trail
    assert (entry["pdf_key"], entry["pdf_sha256"]) == (item["pdf_key"], item["pdf_sha256"])


def test_the_fonts_are_parsed_once_and_every_pdf_carries_its_own_glyphs(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fpdf.fonts import TTFFont
    from izin.documents import pdf as documents

    parsed: list[str] = []
    original = TTFFont.__init__

    def counting(self: TTFFont, *args: Any, **kwargs: Any) -> None:
        parsed.append(str(args[1]))
        original(self, *args, **kwargs)

    monkeypatch.setattr(TTFFont, "__init__", counting)
    documents._parsed_fonts.cache_clear()
    pdfs = [
        desk.bucket.objects[desk.render(jenis).key.removesuffix(".html") + ".pdf"][0]
        for jenis in (Jenis.SURAT_PENGANTAR_KABID, Jenis.NOTA_DINAS)
    ]
    assert len(parsed) == len(documents.FONT_FACES)  # four faces, for both documents
    for pdf in pdfs:  # each embeds the glyphs it uses: its text reads back whole
        assert "DINAS PERINDUSTRIAN DAN PERDAGANGAN" in pdf_text(pdf, tmp_path)


def document_context(desk: Desk, jenis: Jenis) -> dict[str, Any]:
    """A document's context from the desk's application, as the renderer gets it."""
    return build_context(
        jenis,
        application=desk.store.application(ID_IZIN) or {},
        steps=STEPS,
        roster=ROSTER,
        dinas=DINAS,
        now=NOW,
        nomor="800.1.11.1/1/ST/Disperindag-Ind/2026",
        related={},
    )


def test_pdfs_made_at_once_in_threads_are_each_whole(desk: Desk, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from izin.documents import pdf as documents

    # Two documents of different sizes, so that their PDF objects number differently.
    kinds = [Jenis.SURAT_TUGAS, Jenis.SURAT_PENGANTAR_KABID] * 12
    contexts = {jenis: document_context(desk, jenis) for jenis in set(kinds)}
    alone = {jenis: render_pdf(jenis, contexts[jenis], now=NOW) for jenis in set(kinds)}
    documents._parsed_fonts.cache_clear()
    with ThreadPoolExecutor(8) as pool:
        pdfs = list(pool.map(lambda j: render_pdf(j, contexts[j], now=NOW), kinds))
    # Byte for byte what each renders alone: no thread saw another's glyphs or objects.
    assert [alone[jenis] for jenis in kinds] == pdfs
    assert "DINAS PERINDUSTRIAN DAN PERDAGANGAN" in pdf_text(pdfs[0], tmp_path)


def test_a_pdfs_fonts_are_the_subsets_fonttools_makes(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The subsets shipped with the layer (scripts/build_font_subsets.py) and reused are byte
    for byte what fpdf2's own output makes with fontTools for each PDF: a container's PDFs
    of the usual characters subset no face themselves."""
    import io

    from fontTools import subset, ttLib  # type: ignore[import-untyped]
    from fpdf import output
    from izin.documents import pdf as documents

    context = document_context(desk, Jenis.NOTA_DINAS)
    documents._parsed_fonts.cache_clear()
    made: list[tuple[int, frozenset[str]]] = []  # by face
    make = documents._Subsets._make

    def counting(self: Any, glyphs: frozenset[str], options: Any) -> Any:
        made.append((id(self), glyphs))
        return make(self, glyphs, options)

    monkeypatch.setattr(documents._Subsets, "_make", counting)
    reused = [render_pdf(Jenis.NOTA_DINAS, context, now=NOW) for _ in range(3)]
    assert reused[0] == reused[1] == reused[2]
    assert made == []

    # fpdf2 as shipped: a fontTools font of each face, subset by fontTools in the output.
    monkeypatch.setattr(output, "ftsubset", subset)
    monkeypatch.setattr(
        documents,
        "_FontFile",
        lambda subsets: ttLib.TTFont(io.BytesIO(subsets.data), recalcTimestamp=False, lazy=True),
    )
    assert render_pdf(Jenis.NOTA_DINAS, context, now=NOW) == reused[0]


def test_a_character_beyond_the_shipped_subsets_gets_a_subset_made_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from fontTools import subset, ttLib
    from fpdf import FPDF, output
    from izin.documents import pdf as documents

    def made_pdf() -> bytes:
        pdf = FPDF()
        documents._install_fonts(pdf)
        pdf.set_creation_date(NOW)
        pdf.add_page()
        pdf.set_font("LiberationSerif", size=12)
        pdf.write(5, "Zoë Łukasiewicz, Ketua Koperasi")  # "ë" and "Ł": beyond EMBEDDED_ALWAYS
        documents._embed_always(pdf)
        return bytes(pdf.output())

    documents._parsed_fonts.cache_clear()
    made: list[frozenset[str]] = []
    make = documents._Subsets._make

    def counting(self: Any, glyphs: frozenset[str], options: Any) -> Any:
        made.append(glyphs)
        return make(self, glyphs, options)

    monkeypatch.setattr(documents._Subsets, "_make", counting)
    twice = [made_pdf(), made_pdf()]
    assert twice[0] == twice[1]
    assert len(made) == 1 and {"edieresis", "Lslash"} <= made[0]
    monkeypatch.setattr(output, "ftsubset", subset)  # fpdf2 as shipped, as above
    monkeypatch.setattr(
        documents,
        "_FontFile",
        lambda subsets: ttLib.TTFont(io.BytesIO(subsets.data), recalcTimestamp=False, lazy=True),
    )
    assert made_pdf() == twice[0]


def test_the_shipped_subsets_are_the_ones_made_from_the_fonts_and_only_of_them() -> None:
    from izin.documents import pdf as documents

    checked = subprocess.run(
        [sys.executable, str(PACKAGE.parents[2] / "scripts" / "build_font_subsets.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    regular = (documents.FONTS / "LiberationSerif-Regular.ttf").read_bytes()
    assert len(documents._Subsets("Regular", regular)._made) == 2
    assert documents._Subsets("Regular", regular + b"\0")._made == {}  # another file


def test_fonts_installed_in_many_threads_share_nothing_an_output_changes() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from fpdf import FPDF
    from izin.documents import pdf as documents

    def made(pages: int) -> bytes:
        pdf = FPDF()
        documents._install_fonts(pdf)
        pdf.set_creation_date(NOW)
        for _ in range(pages):
            pdf.add_page()
            pdf.set_font("LiberationSerif", size=12)
            pdf.write(5, "Berita Acara Pemeriksaan " * 20)
            pdf.set_font("LiberationSerif", "B", 12)
            pdf.write(5, "Kesimpulan: siap")
        return bytes(pdf.output())

    alone = {pages: made(pages) for pages in (1, 3)}
    sizes = [1, 3] * 6
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns often: a shared font object shows
    try:
        with ThreadPoolExecutor(8) as pool:
            made_at_once = list(pool.map(made, sizes))
    finally:
        sys.setswitchinterval(switching)
    assert made_at_once == [alone[pages] for pages in sizes]


def test_the_sealed_bap_renders_as_a_pdf(desk: Desk, tmp_path: Path) -> None:
    desk.render_all()
    bap = next(r for r in desk.seal() if r.jenis == "bap")
    item = desk.store.get(f"APP#{ID_IZIN}", f"DOC#bap#{bap.versi:03d}")
    assert item is not None
    pdf = desk.bucket.objects[item["pdf_key"]][0]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "bap.pdf").write_bytes(pdf)
    (ARTIFACTS / "bap-page1.png").unlink(missing_ok=True)
    first_page = ["-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile"]
    subprocess.run(
        [
            poppler("pdftoppm"),
            *first_page,
            str(ARTIFACTS / "bap.pdf"),
            str(ARTIFACTS / "bap-page1"),
        ],
        check=True,
        timeout=60,
    )
    png = (ARTIFACTS / "bap-page1.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000  # a page with text on it
    text = pdf_text(pdf, tmp_path)
    for words in (
        "DINAS PERINDUSTRIAN DAN PERDAGANGAN",
        "BERITA ACARA PEMERIKSAAN",
        "Nomor: 500.2.2.1/1/BAP/Disperindag-Ind/2026",
        "Pada hari ini Rabu tanggal dua bulan Desember tahun dua ribu dua puluh enam",
        "PT Sawit Sanggau Lestari",
        "9120301234567",
        "60 ton TBS/jam",
        "90 ton TBS/jam",
        "Rp85.000.000.000",
        "dinyatakan SIAP",
        "Ditandatangani secara elektronik pada Senin, 7 Desember 2026",
        "Dr. H. Ahmad Fauzi, S.E., M.M.",
        "NIP 19690715 199403 1 007",
        "Pembina Utama Muda (IV/c)",
    ):
        assert words in text, words
    # The format's source is configuration (dinas.json "bap"), never on the document's face.
    assert "rekonstruksi" not in text.lower() and "dikonfirmasi" not in text


def test_a_sealed_signature_block_stays_on_one_page(desk: Desk, tmp_path: Path) -> None:
    desk.render_all()
    for ref in desk.seal():
        item = desk.store.get(f"APP#{ID_IZIN}", f"DOC#{ref.jenis}#{ref.versi:03d}")
        assert item is not None
        pages = pdf_pages(desk.bucket.objects[item["pdf_key"]][0], tmp_path)
        (page,) = [p for p in pages if "Ditandatangani secara elektronik" in p]
        for words in (
            "Kepala Dinas Perindustrian dan Perdagangan Provinsi Kalimantan Barat,",
            "Dr. H. Ahmad Fauzi, S.E., M.M.",
            "NIP 19690715 199403 1 007",
            "SHA-256 naskah yang disetujui",
        ):
            assert words in page, (ref.jenis, words)
        # In the HTML, the hash is small print (a <font size> there is a browser's huge).
        text = desk.bucket.text(ref.key)
        assert '<p class="sha">SHA-256 naskah yang disetujui' in text and "<font" not in text


def qr_codes(pdf: bytes, tmp_path: Path) -> list[str]:
    """What the QR codes on a PDF's pages say, read from the pages as pictures (150 dpi)."""
    import zxingcpp
    from PIL import Image

    source = tmp_path / "qr.pdf"
    source.write_bytes(pdf)
    pages = tmp_path / "qr-page"
    subprocess.run(
        [poppler("pdftoppm"), "-png", "-r", "150", str(source), str(pages)],
        check=True,
        timeout=60,
    )
    found = []
    for png in sorted(tmp_path.glob("qr-page*.png")):
        with Image.open(png) as image:
            qr = zxingcpp.BarcodeFormats(
                zxingcpp.BarcodeFormat.QRCode
            )  # as a phone's camera app reads the page
            found += [code.text for code in zxingcpp.read_barcodes(image.convert("L"), formats=qr)]
    return found


def verify_post(desk: Desk, document_id: str, body: bytes, content_type: str) -> str:
    """The verify page's answer to a POST, as its function gives it (base64, as API Gateway)."""
    import base64

    context = VerifyContext(
        store=desk.store,
        dinas=desk.dinas,
        roster=desk.roster,
        read_object=lambda key: desk.bucket.objects[key][0],
    )
    request = VerifyRequest(
        document_id=document_id,
        method="POST",
        content_type=content_type,
        body=base64.b64encode(body).decode(),
        is_base64=True,
    )
    page = verify_page(request, context)
    assert page.status == 200, page.html
    found = re.search(r'data-verdict="([a-z_]+)"', page.html)
    assert found is not None
    return found.group(1)


def pasted(desk: Desk, document_id: str, sha256: str) -> str:
    return verify_post(
        desk, document_id, f"sha256={sha256}".encode(), "application/x-www-form-urlencoded"
    )


def uploaded(desk: Desk, document_id: str, content: bytes) -> str:
    head = (
        "--b0und4ry\r\n"
        'Content-Disposition: form-data; name="berkas"; filename="naskah.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    )
    body = head.encode() + content + b"\r\n--b0und4ry--\r\n"
    return verify_post(desk, document_id, body, "multipart/form-data; boundary=b0und4ry")


@pytest.mark.parametrize("jenis", SEALED_AT_APPROVAL)
def test_the_printed_hash_and_the_qr_code_of_a_sealed_pdf_verify_as_cocok(
    desk: Desk, tmp_path: Path, jenis: Jenis
) -> None:
    """A DPMPTSP clerk holding the sealed PDF: its QR code leads to its verify page, where
    the hash printed under the signature, and the file itself, are COCOK; a changed byte
    of either is TIDAK COCOK."""
    desk.render_all()
    ref = next(r for r in desk.seal() if r.jenis == jenis)
    item = desk.store.get(f"APP#{ID_IZIN}", f"DOC#{ref.jenis}#{ref.versi:03d}")
    assert item is not None
    pdf = desk.bucket.objects[item["pdf_key"]][0]
    text = pdf_text(pdf, tmp_path)
    printed = re.search(r"SHA-256 naskah yang disetujui: ([0-9a-f]{64})", text)
    assert printed is not None, text
    (link,) = set(qr_codes(pdf, tmp_path))
    assert link == f"https://izin.example.go.id/verify/{ref.document_id}"
    assert link in text.replace(" ", "")  # the QR code's link is printed beside it
    document_id = link.rsplit("/", 1)[1]

    assert pasted(desk, document_id, printed.group(1)) == "cocok"
    assert pasted(desk, document_id, printed.group(1).upper()) == "cocok"
    assert uploaded(desk, document_id, pdf) == "cocok"
    changed_digit = printed.group(1)[:-1] + ("0" if printed.group(1)[-1] != "0" else "1")
    assert pasted(desk, document_id, changed_digit) == "tidak_cocok"
    changed = bytearray(pdf)
    changed[len(changed) // 2] ^= 0x01
    assert uploaded(desk, document_id, bytes(changed)) == "tidak_cocok"
    # The page computes the naskah's hash again from the file kept: a naskah changed in
    # the bucket no longer matches what the paper says.
    approved = desk.store.get(f"APP#{ID_IZIN}", f"DOC#{ref.jenis}#{ref.versi - 1:03d}")
    assert approved is not None and approved["sha256"] == printed.group(1)
    body, content_type = desk.bucket.objects[approved["key"]]
    desk.bucket.objects[approved["key"]] = (body + b" ", content_type)
    assert pasted(desk, document_id, printed.group(1)) == "tidak_cocok"


def test_a_surat_tugas_is_signed_on_the_page_of_its_task(desk: Desk, tmp_path: Path) -> None:
    ref = desk.render(Jenis.SURAT_TUGAS)
    item = desk.store.get(f"APP#{ID_IZIN}", "DOC#surat_tugas#001")
    assert item is not None and item["document_id"] == ref.document_id
    pages = [p for p in pdf_pages(desk.bucket.objects[item["pdf_key"]][0], tmp_path) if p.strip()]
    # The task and the signature that closes it on one page; the tembusan after it (on the
    # next page since the kop has its lambang and every name its pangkat).
    (signed,) = [p for p in pages if "Ir. Hendra Saputra, M.T." in p]
    assert "Untuk : 1. Melaksanakan verifikasi teknis" in signed
    assert "Melaksanakan tugas ini dengan penuh tanggung jawab." in signed
    assert len(pages) <= 2 and "Tembusan: 1. Kepala Dinas" in pages[-1]


def test_the_mengetahui_stands_with_the_text_it_closes(desk: Desk, tmp_path: Path) -> None:
    desk.render_all()
    bap = next(r for r in desk.seal() if r.jenis == "bap")
    item = desk.store.get(f"APP#{ID_IZIN}", f"DOC#bap#{bap.versi:03d}")
    assert item is not None
    pages = pdf_pages(desk.bucket.objects[item["pdf_key"]][0], tmp_path)
    (page,) = [p for p in pages if "Mengetahui," in p]
    for words in (squeezed(DINAS.bap.penutup), "Wakilperusahaan,", "TimTeknis,", "3.AgusRiyadi"):
        assert words in squeezed(page), words
    assert squeezed(DINAS.bap.bagian["kesimpulan"]) in squeezed(
        "".join(pages[: pages.index(page) + 1])
    )


def test_a_table_row_that_fits_on_a_page_is_never_split(tmp_path: Path) -> None:
    """Forty machines of four or five lines each: rows fall across page ends, and each
    moves to the next page whole."""
    steps = {
        **STEPS,
        11: STEPS[11]
        | {
            "mesin": "\n".join(
                f"Mesin {n:02d} "
                + "pengolah tandan buah segar berkapasitas besar " * 5
                + f"akhir{n:02d}, 1 unit, 30 ton"
                for n in range(1, 41)
            )
        },
    }
    desk = Desk(MemoryStore.seeded(application(), steps))
    ref = desk.render(Jenis.BAP)
    item = desk.store.get(f"APP#{ID_IZIN}", f"DOC#bap#{ref.versi:03d}")
    assert item is not None
    pages = [squeezed(p) for p in pdf_pages(desk.bucket.objects[item["pdf_key"]][0], tmp_path)]
    assert len(pages) > 3
    for n in range(1, 41):
        (page,) = [p for p in pages if f"Mesin{n:02d}" in p]
        assert f"akhir{n:02d}" in page, n


def test_a_signatory_the_roster_does_not_know_is_a_named_error() -> None:
    roster = Roster(
        officers=tuple(o for o in ROSTER.officers if o.role != "kepala_dinas"),
        dpmptsp_email=ROSTER.dpmptsp_email,
    )
    desk = Desk(roster=roster)
    with pytest.raises(SignatoryMissing, match=r"Berita Acara Pemeriksaan.*kepala_dinas"):
        desk.render(Jenis.BAP)
    steps = {**STEPS, 7: STEPS[7] | {"anggota": [YULIANA, "199999999999999999"]}}
    with pytest.raises(SignatoryMissing, match="199999999999999999"):
        Desk(MemoryStore.seeded(application(), steps)).render(Jenis.SURAT_TUGAS)


def test_nothing_is_sealed_while_a_line_to_be_signed_is_blank(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Once step 11 records the BAP's signatures (ttd_tim, wakil_perusahaan), the seal
    refuses a blank line, and the sealed BAP shows each signature made on paper."""
    # izin.documents exports a function `versions` under the module's own name.
    monkeypatch.setattr(sys.modules["izin.documents.versions"], "signatures_required", lambda: True)
    unsigned = {
        k: v for k, v in STEPS[11].items() if k not in ("ttd_tim", "wakil_perusahaan", "nip")
    }
    desk = Desk(MemoryStore.seeded(application(), {**STEPS, 11: unsigned}))
    desk.render_all()
    # The ketua decided step 08 in the system: his line is signed; no one else's is.
    blank = "Tim Teknis Yuliana Putri, S.T.P., Tim Teknis Agus Riyadi, A.Md., wakil perusahaan"
    with pytest.raises(SignatureMissing, match=re.escape(blank)):
        desk.seal()
    assert not any(item.get("sealed") for item in desk.store.document_versions(ID_IZIN))
    signed = STEPS[11] | {"ttd_tim": [BUDI, YULIANA, AGUS], "wakil_perusahaan": "Ir. Lukas Tan"}
    desk = Desk(MemoryStore.seeded(application(), {**STEPS, 11: signed}))
    desk.render_all()
    bap = next(r for r in desk.seal() if r.jenis == "bap")
    words = plain(desk.bucket.text(bap.key))
    assert "1. Budi Santoso, S.T. 1. ditandatangani 2 Desember 2026" in words
    assert "2. Yuliana Putri, S.T.P. 2. ttd." in words and ".............." not in words
    assert "ttd. Ir. Lukas Tan" in words and "(....." not in words


def test_every_document_reads_on_a_phone_and_prints_on_a_4(texts: dict[str, str]) -> None:
    """The HTML view: a viewport, no width fixed wider than a phone's 390 px outside the
    print styles, images and tables that shrink; A4 for print."""
    px = {"px": 1.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "in": 96.0, "pt": 96 / 72, "pc": 16.0}
    for jenis, text in texts.items():
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
        css = "".join(re.findall(r"<style>(.*?)</style>", text, flags=re.S))
        assert "@page { size: A4;" in css
        screen = re.sub(r"@media print \{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", css)
        assert "@media print" not in screen
        for value, unit in re.findall(r"(?<![-\w])width\s*:\s*([\d.]+)(px|cm|mm|in|pt|pc)", screen):
            assert float(value) * px[unit] <= 390, (jenis, value, unit)
        assert re.search(r"(?<![-\w])min-width\s*:\s*[1-9]", screen) is None, jenis
        assert "max-width: 100%" in screen  # images and tables
        for width in re.findall(r'<(?:table|td|th|img)[^>]*\bwidth="(\d+)(%?)"', text):
            assert width[1] == "%", (jenis, width)  # attribute widths are shares, not pixels


def test_a_company_name_with_markup_is_intact_in_the_pdf(tmp_path: Path) -> None:
    nama = "PT \"Sawit\" & <script>alert('x')</script> Lestari"
    desk = Desk(MemoryStore.seeded(application(nama), STEPS))
    desk.render_all()
    for jenis, item in latest_documents(desk.store, ID_IZIN).items():
        text = pdf_text(desk.bucket.objects[item["pdf_key"]][0], tmp_path)
        assert nama in text, jenis


# -- every field at its longest -------------------------------------------------------------

# Characters the documents' font has that a plain Latin text does not, as the door keeps
# them (NFC: "e" + combining acute is one "é").
HARD = unicodedata.normalize("NFC", "ŒœßÆæ «»—–…€‰ ĀāŽž ΩωЖж ‘’“” e\u0301 A\u030a")
LONGEST_LINE = 500  # models.Text
LONGEST_TEXT = 5000  # forms.MAX_TEXT: a textarea's text, its line breaks counted


def longest(name: str, length: int, *, lines: bool = False, spaces: bool = True) -> str:
    """A field's value at `length` characters, unique to the field: words, runs of 300
    characters without a space, the hard characters, line breaks where the field has them."""
    parts: list[str] = []
    for i in itertools.count(1):
        if sum(map(len, parts)) >= length:
            break
        run = "ЖWæ" * 100 if i % 7 == 3 else f" {HARD} kata biasa {name}"
        parts.append(f"{name}{i:04d}{run}")
        parts.append("\n" if lines and i % 5 == 0 else " ")
    text = "".join(parts)
    if not spaces:
        text = re.sub(r"\s", "", text)
    text = text[:length].strip()
    return text.ljust(length, "ж") if len(text) < length else text


def longest_application() -> dict[str, Any]:
    """Every field of the OSS application at the longest the webhook takes."""
    app = application(longest("nama", LONGEST_LINE))
    data = app["data"]
    data["id_izin"] = app["id_izin"] = ID_IZIN
    data["kd_izin"] = longest("kdizin", LONGEST_LINE)
    data["id_proyek"] = longest("proyek", LONGEST_LINE)
    data["perusahaan"]["npwp"] = "0123456789012345"
    data["perusahaan"]["alamat"] = longest("alamat", LONGEST_LINE, spaces=False)
    data["lokasi"] = {k: longest(k, LONGEST_LINE) for k in data["lokasi"]}
    data["kapasitas_terpasang"] = {
        "jumlah": values.quantity("999999999999.999999"),
        "satuan": longest("satuan", LONGEST_LINE),
    }
    data["kapasitas_perluasan"] = {"jumlah": 0.000001, "satuan": longest("satuan", LONGEST_LINE)}
    data["jumlah_investasi"] = values.MAX_RUPIAH
    return app


def longest_steps() -> dict[int, dict[str, Any]]:
    """Every text field of the steps' forms at MAX_TEXT, numbers at their largest."""
    steps = {number: dict(data) for number, data in STEPS.items()}
    steps[4]["catatan"] = longest("catatanoperator", LONGEST_TEXT, lines=True)
    steps[6]["disposisi"] = longest("disposisi", LONGEST_TEXT, lines=True)
    steps[8]["hasil_verifikasi"] = longest("hasil", LONGEST_TEXT, spaces=False)
    steps[10] |= {
        "kapasitas_terpasang_aktual": values.quantity("123456789012.123456"),
        "kondisi_mesin": longest("kondisi", LONGEST_TEXT, lines=True),
        "temuan": longest("temuan", LONGEST_TEXT, lines=True),
    }
    mesin = [
        f"{longest(f'mesin{n}x', 400)}, {n} unit, {longest(f'kap{n}x', 60)}" for n in range(10)
    ]
    mesin.append(longest("mesinpanjang", LONGEST_TEXT - len("\n".join(mesin)) - 1, spaces=False))
    steps[11] |= {
        "kapasitas_sebelum": 0.000001,
        "kapasitas_penambahan": values.quantity("999999999999.999999"),
        "kapasitas_sesudah": values.quantity("999999999999.999999"),
        "investasi": values.MAX_RUPIAH,
        "tki_l": values.MAX_COUNT,
        "tki_p": values.MAX_COUNT,
        "tka_l": values.MAX_COUNT,
        "tka_p": values.MAX_COUNT,
        "mesin": "\n".join(mesin),
        "catatan": longest("catatantim", LONGEST_TEXT, lines=True),
    }
    assert len(steps[11]["mesin"]) == LONGEST_TEXT
    return steps


def shown(jenis: Jenis, app: dict[str, Any], steps: dict[int, dict[str, Any]]) -> list[str]:
    """What of the record a document shows, as it spells it."""
    data, s10, s11 = app["data"], steps[10], steps[11]
    satuan = data["kapasitas_terpasang"]["satuan"]
    company = [data["perusahaan"]["nama"], data["nib"], data["kbli"], data["id_izin"]]
    lokasi = list(data["lokasi"].values())
    form = [data["perusahaan"]["alamat"], data["perusahaan"]["npwp"], *lokasi]
    if jenis is Jenis.SURAT_PENGANTAR_KABID:
        before, added = data["kapasitas_terpasang"], data["kapasitas_perluasan"]
        return [
            *company,
            *lokasi,
            kapasitas(before["jumlah"], satuan),
            kapasitas(added["jumlah"], added["satuan"]),
            kapasitas(before["jumlah"] + added["jumlah"], satuan),
            rupiah(data["jumlah_investasi"]),
            steps[4]["catatan"],
        ]
    if jenis is Jenis.NOTA_DINAS:
        return [*company, steps[6]["disposisi"]]
    if jenis in (Jenis.SURAT_TUGAS, Jenis.SURAT_PENGANTAR_DPMPTSP):
        return [*company, *lokasi]
    if jenis is Jenis.FORM_PEMERIKSAAN_LAPANGAN:
        return [
            *company,
            *form,
            kapasitas(s10["kapasitas_terpasang_aktual"], satuan),
            s10["kondisi_mesin"],
            s10["temuan"],
        ]
    mesin = [part.strip() for line in s11["mesin"].splitlines() for part in line.split(",", 2)]
    return [
        *company,
        *form,
        data["kd_izin"],
        data["id_proyek"],
        *(kapasitas(s11[k], satuan) for k in ("kapasitas_sebelum", "kapasitas_penambahan")),
        kapasitas(s11["kapasitas_sesudah"], satuan),
        rupiah(s11["investasi"]),
        angka(4 * values.MAX_COUNT),
        *mesin,
        steps[8]["hasil_verifikasi"],
        s10["kondisi_mesin"],
        s10["temuan"],
        s11["catatan"],
    ]


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def read_in_order(value: str, text: str, *, shortest_run: int = 12) -> list[str]:
    """The runs of `value` that `text` holds one after another (whitespace aside): a page
    break, a repeated table heading or a neighbouring cell may come between two runs, but
    every character is there, in its order, or AssertionError names the first missing."""
    value, text = squeezed(value), squeezed(text)
    runs: list[str] = []
    at = 0
    while value:
        low, high = 0, len(value)
        while low < high:  # the longest beginning of the rest that `text` holds after `at`
            middle = (low + high + 1) // 2
            if text.find(value[:middle], at) >= 0:
                low = middle
            else:
                high = middle - 1
        if low < min(shortest_run, len(value)):
            raise AssertionError(f"missing from the PDF: {value[:80]!r}")
        at = text.find(value[:low], at) + low
        runs.append(value[:low])
        value = value[low:]
    return runs


@dataclass(frozen=True)
class Longest:
    """Every document rendered once from a record whose every field is at its longest."""

    application: dict[str, Any]
    steps: dict[int, dict[str, Any]]
    html: dict[Jenis, str]
    pages: dict[Jenis, list[str]]


@pytest.fixture(scope="module")
def longest_documents(tmp_path_factory: pytest.TempPathFactory) -> Longest:
    app, steps = longest_application(), longest_steps()
    desk = Desk(MemoryStore.seeded(app, steps))
    refs = {jenis: desk.render(jenis) for jenis in Jenis}
    tmp = tmp_path_factory.mktemp("longest")
    return Longest(
        app,
        steps,
        {jenis: desk.bucket.text(ref.key) for jenis, ref in refs.items()},
        {
            jenis: pdf_pages(desk.bucket.objects[ref.key.removesuffix(".html") + ".pdf"][0], tmp)
            for jenis, ref in refs.items()
        },
    )


def test_the_longest_record_is_one_the_door_takes(longest_documents: Longest) -> None:
    app, steps = longest_documents.application, longest_documents.steps
    Permohonan.model_validate(app["data"])
    assert len(app["data"]["perusahaan"]["nama"]) == LONGEST_LINE
    for number, name in ((6, "disposisi"), (8, "hasil_verifikasi"), (10, "temuan"), (11, "mesin")):
        text = steps[number][name]
        assert len(text) == LONGEST_TEXT == MAX_TEXT, name
        assert values.text(text, multiline=True) == text, name  # NFC, drawn by the font
    assert values.text(HARD) == HARD


@pytest.mark.parametrize("jenis", list(Jenis))
def test_every_field_at_its_longest_is_in_the_pdf_whole(
    longest_documents: Longest, jenis: Jenis
) -> None:
    text = " ".join(longest_documents.pages[jenis])
    for value in shown(jenis, longest_documents.application, longest_documents.steps):
        read_in_order(value, text)
    assert HARD.replace(" ", "") in squeezed(text)


@pytest.mark.parametrize("jenis", list(Jenis))
def test_every_field_at_its_longest_is_in_the_html_whole(
    longest_documents: Longest, jenis: Jenis
) -> None:
    text = squeezed(plain(longest_documents.html[jenis]))
    for value in shown(jenis, longest_documents.application, longest_documents.steps):
        assert squeezed(value) in text, value[:80]


def test_a_table_split_across_pages_repeats_its_heading(longest_documents: Longest) -> None:
    fpl = longest_documents.pages[Jenis.FORM_PEMERIKSAAN_LAPANGAN]
    heading = "No. Aspek yang diperiksa Data permohonan Hasil pemeriksaan"
    assert sum(heading in page for page in fpl) >= 2
    bap = longest_documents.pages[Jenis.BAP]
    assert sum("Nama mesin/peralatan" in page for page in bap) >= 2


def test_long_free_text_of_the_field_inspection_reads_as_paragraphs_below_its_table(
    longest_documents: Longest,
) -> None:
    html = longest_documents.html[Jenis.FORM_PEMERIKSAAN_LAPANGAN]
    assert plain(html).count("Diuraikan di bawah tabel.") == 2
    assert "<b>5. Temuan</b>" in html
    first_line = longest_documents.steps[10]["temuan"].splitlines()[0]
    assert f"{markupsafe.escape(first_line)}<br>" in html  # its line breaks kept


# -- the real counter, under moto -----------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """YAML that reads CloudFormation's short tags (!Ref, !GetAtt, ...) as plain values."""


def _any_tag(loader: Any, suffix: str, node: Any) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_CfnLoader.add_multi_constructor("!", _any_tag)


def _serialize_moto_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """One DynamoDB request at a time, as the local runtime does (TOOLING.md).

    moto applies an update with no lock: two concurrent ADDs can read the same value, a
    race real DynamoDB never has. Serializing whole requests removes moto's race and keeps
    ours: a counter taken by a read and then a write would still hand out duplicates.
    """
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto import mock_aws

    for name, value in {
        "AWS_DEFAULT_REGION": "ap-southeast-3",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "HTTPS_PROXY": "http://127.0.0.1:9",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    template = yaml.load(
        (PACKAGE.parents[2] / "template.yaml").read_text(encoding="utf-8"), Loader=_CfnLoader
    )
    props = template["Resources"]["IzinTable"]["Properties"]
    _serialize_moto_dynamodb(monkeypatch)
    with mock_aws():
        from izin.aws import client

        client.cache_clear()
        client("dynamodb").create_table(
            TableName="izin-test",
            BillingMode=props["BillingMode"],
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
        )
        yield "izin-test"
        client.cache_clear()


def test_fifty_numbers_taken_at_once_are_fifty_consecutive_numbers(table: str) -> None:
    from izin.store import DynamoStore

    store = DynamoStore(table)
    taken: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def take() -> None:
        start.wait()
        number = store.next_number("bap", 2026)
        with lock:
            taken.append(number)

    threads = [threading.Thread(target=take) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(taken) == list(range(1, 51))
    assert store.next_number("bap", 2027) == 1  # one counter per year
    assert store.next_number("nota_dinas", 2026) == 1  # and per type


def test_the_bap_lists_the_uploaded_evidence_as_its_lampiran_with_each_sha256() -> None:
    photo = {
        "key": "applications/X/lampiran/10/" + "a" * 32 + "/tangki-cpo.jpg",
        "nama": "tangki-cpo.jpg",
        "content_type": "image/jpeg",
        "ukuran": 2_516_582,
        "sha256": "ab" * 32,
        "oleh": "Budi Santoso, S.T.",
        "pada": "2026-12-01T08:00:00+00:00",
    }
    signed_page = photo | {
        "nama": "bap-ditandatangani.pdf",
        "content_type": "application/pdf",
        "ukuran": 830_000,
        "sha256": "cd" * 32,
    }
    steps = {
        **STEPS,
        10: STEPS[10] | {"lampiran": [photo]},
        11: STEPS[11] | {"lampiran": [signed_page]},
    }
    desk = Desk(MemoryStore.seeded(application(), steps))
    desk.render_all()
    bap = latest_documents(desk.store, ID_IZIN)["bap"]
    words = plain(desk.bucket.text(bap["key"]))
    assert (
        "Lampiran 1. tangki-cpo.jpg (foto JPEG, 2,4 MB; langkah 10, diunggah oleh Budi Santoso, "
        "S.T., 1 Desember 2026) SHA-256: " + "ab" * 32
    ) in words
    assert "2. bap-ditandatangani.pdf (PDF, 811 KB; langkah 11" in words and "cd" * 32 in words
    # Without uploads there is no Lampiran section at all.
    desk = Desk()
    desk.render_all()
    assert "SHA-256: " not in plain(
        desk.bucket.text(latest_documents(desk.store, ID_IZIN)["bap"]["key"])
    )
