"""The console's roster page, /konsol/petugas, in a real browser at a phone's and a
desktop's width (issue #14): the Kepala Bidang adds a Tim Teknis member (a bad email is
named by its field, what was typed kept), then makes them inactive; the page says so and
keeps the change's history, without JavaScript doing any of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from izin.sop import Role
from izin_local.testing import System
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in_as_kepala_bidang

pytestmark = pytest.mark.e2e

OWN_RUNTIME = "roster-browser"  # the table's roster changes what every page reads


def test_add_an_officer_then_make_them_inactive(system: System, tab: Page, artifacts: Path) -> None:
    width = "phone" if (tab.viewport_size or {"width": 0})["width"] < 500 else "desktop"
    nip = "19900101202001" + ("1001" if width == "phone" else "1002")
    email = f"anggota.{width}@disperindag.kalbar.example"
    sign_in_as_kepala_bidang(system, tab)
    tab.get_by_role("link", name="Petugas").click()
    expect(tab.locator("h1")).to_have_text("Daftar petugas")
    kasi = system.endpoints.roster.first(Role.KASI)
    expect(tab.locator(f'#petugas li[data-nip="{kasi.nip}"]')).to_contain_text(kasi.nama)

    form = tab.locator("#formulir form").first
    form.get_by_label("Peran").select_option("tim_teknis")
    form.get_by_label("Nama lengkap dan gelar").fill(f"Anggota Baru {width}, S.T.")
    form.get_by_label("NIP").fill(nip)
    form.get_by_label("Jabatan").fill("Pengawas Industri Ahli Pertama")
    form.get_by_label("Email").fill("anggota@")
    form.get_by_label("Golongan").fill("III/b")
    form.get_by_role("button", name="Tambah dan kirim tautan pendaftaran").click()
    expect(tab.locator("#e-email")).to_contain_text("Alamat email tidak valid")
    expect(tab.get_by_label("Nama lengkap dan gelar")).to_have_value(f"Anggota Baru {width}, S.T.")
    expect(tab.get_by_label("Golongan")).to_have_value("III/b")
    tab.screenshot(path=artifacts / f"roster-error-{width}.png", full_page=True)

    tab.get_by_label("Email").fill(email)
    tab.get_by_role("button", name="Tambah dan kirim tautan pendaftaran").click()
    expect(tab.locator("#pemberitahuan")).to_contain_text(f"NIP {nip} ditambahkan")
    row = tab.locator(f'#petugas li[data-nip="{nip}"]')
    expect(row).to_contain_text("Tim Teknis")
    system.runtime.outbox.wait_for(
        lambda m: "Aktifkan kode masuk" in m.subject and email in m.to, timeout=60
    )

    row.get_by_role("link").click()
    expect(tab.locator("#formulir h2").first).to_contain_text(f"Ubah petugas: Anggota Baru {width}")
    tab.get_by_label("Nonaktif").check()
    tab.get_by_role("button", name="Simpan perubahan").click()
    expect(tab.locator("#pemberitahuan")).to_contain_text("disimpan")
    expect(row).to_contain_text("nonaktif")
    row.get_by_role("link").click()
    expect(tab.locator("#riwayat")).to_contain_text("aktif")
    kabid = system.endpoints.roster.first(Role.KEPALA_BIDANG)
    expect(tab.locator("#riwayat")).to_contain_text(f"{kabid.nama} (NIP {kabid.nip})")
    root = "document.documentElement"
    assert tab.evaluate(f"{root}.scrollWidth - {root}.clientWidth") == 0  # fits the width
    tab.screenshot(path=artifacts / f"roster-edit-{width}.png", full_page=True)
    record = system.endpoints.store.roster_record()
    assert record is not None
    (kept,) = [o for o in record["officers"] if o["nip"] == nip]
    assert kept["aktif"] is False and kept["golongan"] == "III/b"
