"""How a task page says an application's history and what the decider needs first
(izin.pages): each kind of trail entry in words, the summary card, the Origin check."""

from __future__ import annotations

from typing import Any

import pytest
from izin import pages, sop

AT = "2026-12-01T02:00:00+00:00"
BSRE = {"tte": "bsre"}  # a version the Kepala Dinas signed with BSrE's TTE
KEMBALIKAN = sop.KEMBALIKAN_KE


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        (
            {"action": "task.issued", "assignee": "Rina", "reminders": 2, "atas_nama": "Hendra"},
            "tugas dikirim ke Rina sebagai Plh/Plt Hendra (pengingat 2)",
        ),
        ({"action": "task.issued", "assignee": "Rina"}, "tugas dikirim ke Rina"),
        (
            {"action": "document.rendered", "jenis": "nota_dinas", "nomor": "ND/1", "versi": 1},
            "Nota Dinas nomor ND/1 versi 1 dibuat",
        ),
        (
            {"action": "document.sealed", "jenis": "surat_tugas", "nomor": "ST/2", "versi": 2},
            "Surat Tugas nomor ST/2 versi 2 ditandatangani",
        ),
        (
            {
                "action": "document.sealed",
                "jenis": "bap",
                "nomor": "B/3",
                "versi": 1,
                "tte": "bsre",
            },
            "Berita Acara Pemeriksaan (BAP) nomor B/3 versi 1 "
            "ditandatangani secara elektronik (BSrE)",
        ),
        (
            {
                "action": "document.sealed",
                "jenis": "bap",
                "nomor": "B/3",
                "versi": 2,
                "tte_manual": True,
            }
            | BSRE,
            "Berita Acara Pemeriksaan (BAP) nomor B/3 versi 2 "
            "ditandatangani secara elektronik (BSrE) di aplikasi BSrE lalu diunggah",
        ),
        (
            {"action": "document.unchanged", "jenis": "lampiran_baru", "versi": 4},
            "lampiran_baru tidak berubah; versi 4 tetap berlaku",
        ),
        ({"action": "task.viewed", "note": "dibuka"}, "dibuka"),
        ({"action": "task.viewed"}, "task.viewed"),
        (
            {
                "action": "task.decided",
                "step": 13,
                "decision": "no",
                "data": {"kembalikan_ke": "bap"},
            },
            "TIDAK (dikembalikan kepada Tim Teknis (langkah 11))",
        ),
        (
            {"action": "task.decided", "step": 8, "decision": "yes", "kind": "langkah"},
            "perlu pemeriksaan lapangan",
        ),
        (
            {
                "action": "task.decided",
                "step": 4,
                "decision": "done",
                "data": {"kelengkapan": "tidak_lengkap", "catatan": "NIB tidak terbaca"},
            },
            "selesai (tidak lengkap): NIB tidak terbaca",
        ),
    ],
)
def test_each_entry_of_the_trail_is_said_in_words(entry: dict[str, Any], said: str) -> None:
    assert pages.describe(entry) == said


def test_the_history_shows_the_chosen_entries_naming_a_plh_s_principal() -> None:
    trail: list[dict[str, Any]] = [
        {"at": AT, "action": "task.viewed", "actor": "Rina"},
        {"at": AT, "action": "task.issued", "step": 4, "actor": "sistem", "assignee": "Rina"},
        {"at": AT, "action": "task.decided", "step": 4, "actor": "Budi", "sebagai": "Plh Kasi"},
    ]
    shown = pages.history(trail, frozenset({"task.issued", "task.decided"}))
    assert [(h["step"], h["actor"]) for h in shown] == [(4, "sistem"), (4, "Budi (Plh Kasi)")]
    assert shown[0]["text"] == "tugas dikirim ke Rina"


def test_a_send_back_is_said_only_for_a_no_at_a_check_that_returns() -> None:
    assert pages.returned_to(13, "no", {}) == "Kasi (langkah 12)"  # its default return
    assert pages.returned_to(13, "yes", {"kembalikan_ke": "bap"}) is None
    assert pages.returned_to(8, "no", {}) is None  # a branch, not a return
    assert pages.returned_to(5, "no", {}) is None  # no branch at all


def test_the_summary_puts_the_latest_other_answer_and_the_notes_first() -> None:
    steps = {
        6: {"disposisi": "Periksa lokasi.", "oleh": "Kabid", "pada": "2026-12-01T01:00:00"},
        8: {"decision": "no", "oleh": "Budi", "pada": "2026-12-01T00:30:00"},
        11: {"kesimpulan": "belum_siap", "catatan": "Mesin belum terpasang."},
        12: {"laporan": "Sesuai BAP.", "oleh": "Kasi", "pada": "2026-12-01T02:00:00"},
        13: {"decision": "no", "oleh": "Kabid", "pada": "2026-12-02T00:00:00"},
    }
    documents: list[dict[str, Any]] = [
        {"judul": "BAP", "perubahan": {"dari": 1, "ke": 2, "perubahan": [{"field": "x"}]}},
        {"judul": "Nota Dinas"},
    ]
    rows = pages.summary(13, steps, documents)
    assert [r["judul"] for r in rows] == [
        "Keputusan terakhir: langkah 12 (Kasi, Kasi)",
        "Disposisi Kepala Bidang kepada Kasi",
        "Laporan Kasi",
        "Kesimpulan BAP (Tim Teknis)",
        "Perubahan BAP: versi 1 ke versi 2",
    ]
    assert rows[3]["isi"] == "BELUM SIAP" and rows[3]["catatan"] == "Mesin belum terpasang."
    assert rows[4]["perubahan"] == [{"field": "x"}]
    # Step 14's decider reads step 13's "no" as where the file went.
    assert pages.summary(14, steps, [])[0]["isi"] == "dikembalikan kepada Kasi (langkah 12)"


@pytest.mark.parametrize(
    ("number", "decision", "said"),
    [(8, "yes", "perlu pemeriksaan lapangan"), (8, "no", "tanpa pemeriksaan lapangan")],
)
def test_a_branch_s_answer_is_said_as_the_sop_names_it(
    number: int, decision: str, said: str
) -> None:
    steps = {number: {"decision": decision, "oleh": "Budi", "pada": AT}}
    assert pages.summary(9, steps, [])[0]["isi"] == said


def test_a_plain_answer_is_said_by_the_step_s_label() -> None:
    steps = {4: {"decision": "done", "oleh": "Rina", "pada": AT}}
    assert pages.summary(5, steps, [])[0]["isi"] == "Notifikasi diterima"


@pytest.mark.parametrize(
    ("origin", "same"),
    [
        ("", True),
        ("null", True),
        ("https://izin.example", True),
        ("https://evil.example", False),
        ("http://izin.example", False),
        ("http://[::1", False),  # not a URL at all
    ],
)
def test_a_post_s_origin_must_be_this_site(origin: str, same: bool) -> None:
    assert pages.same_site(origin, "https://izin.example") is same
