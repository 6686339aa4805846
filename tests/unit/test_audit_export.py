"""The audit export (izin.audit_export): one application's documents, trail and manifest in
a ZIP whose hashes an auditor can check; served at /konsol/audit/{id} to the console's roles."""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
from izin import audit_export, console, sessions
from izin.console import Filters, received_range
from izin.memory_store import MemoryStore
from izin.roster import load_roster
from izin.sop import Role
from izin.tasks.context import Request
from izin_local import cli
from izin_local.testing import ROSTER as ROSTER_FILE
from izin_local.testing import local_auth, moto_table

ROSTER = load_roster(ROSTER_FILE)
NOW = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)
ID = "IP-AUDIT-1"
OBJECTS = {
    ("docs", f"{ID}/surat_pengantar/v001.docx"): b"docx satu",
    ("docs", f"{ID}/surat_pengantar/v002.docx"): b"docx dua",
    ("docs", f"{ID}/bap/v001.docx"): b"bap docx",
    ("docs", f"{ID}/bap/v001.pdf"): b"%PDF bap tersegel",
}


def read(bucket: str, key: str) -> bytes:
    return OBJECTS[(bucket, key)]


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def stocked() -> MemoryStore:
    store = MemoryStore()
    store.create_application(
        ID, {"id_izin": ID, "status": "PROSES", "data": {"nib": "1"}, "created_at": NOW.isoformat()}
    )
    for n, note in enumerate(("diterima", "langkah 4 selesai, dengan koma", "BAP disegel")):
        store.append_audit(
            ID, {"action": f"a.{n}", "step": n, "actor": "sistem", "note": note, "x": n}, now=NOW
        )
    for jenis, versi in (("surat_pengantar", 1), ("surat_pengantar", 2)):
        key = f"{ID}/{jenis}/v{versi:03d}.docx"
        store.put_document_version(
            ID,
            jenis,
            versi,
            {
                "jenis": jenis,
                "versi": versi,
                "bucket": "docs",
                "key": key,
                "sha256": sha(OBJECTS[("docs", key)]),
            },
        )
    store.put_document_version(
        ID,
        "bap",
        1,
        {
            "jenis": "bap",
            "versi": 1,
            "bucket": "docs",
            "key": f"{ID}/bap/v001.docx",
            "sha256": sha(b"bap docx"),
            "pdf_key": f"{ID}/bap/v001.pdf",
            "pdf_sha256": sha(b"%PDF bap tersegel"),
        },
    )
    return store


def test_the_zip_holds_every_version_the_trail_and_a_manifest_whose_hashes_match() -> None:
    store = stocked()
    archive = zipfile.ZipFile(io.BytesIO(audit_export.export(store, ID, read, now=NOW)))
    manifest = audit_export.manifest_of(archive)
    listed = {f["path"]: f for f in manifest["berkas"]}
    assert set(archive.namelist()) == {*listed, "manifest.json", "SHA256SUMS"}
    for path, entry in listed.items():
        body = archive.read(path)
        assert entry["sha256"] == sha(body) and entry["ukuran"] == len(body)
        if "sha256_tercatat" in entry:  # a document: the hash recorded when it was made
            assert entry["sha256_tercatat"] == entry["sha256"]
    documents = {p: archive.read(p) for p in listed if "/dokumen/" in p}
    assert sorted(documents.values()) == sorted(OBJECTS.values())  # every version, as stored
    assert archive.read(f"{ID}/dokumen/bap/v001/v001.pdf") == b"%PDF bap tersegel"
    sums = archive.read("SHA256SUMS").decode().splitlines()
    assert sums == [f"{f['sha256']}  {f['path']}" for f in manifest["berkas"]]
    trail = json.loads(archive.read(f"{ID}/jejak-audit.json"))
    assert [e["action"] for e in trail] == ["a.0", "a.1", "a.2"]
    rows = list(csv.reader(io.StringIO(archive.read(f"{ID}/jejak-audit.csv").decode("utf-8-sig"))))
    assert rows[0] == [*audit_export.TRAIL_COLUMNS, "rincian"]
    assert rows[2][1:6] == ["a.1", "1", "sistem", "", "langkah 4 selesai, dengan koma"]
    assert json.loads(rows[2][6]) == {"x": 1}


def test_a_changed_document_shows_against_its_recorded_hash() -> None:
    store = stocked()
    tampered = {**OBJECTS, ("docs", f"{ID}/bap/v001.pdf"): b"%PDF diubah"}
    body = audit_export.export(store, ID, lambda b, k: tampered[(b, k)], now=NOW)
    manifest = audit_export.manifest_of(zipfile.ZipFile(io.BytesIO(body)))
    [pdf] = [f for f in manifest["berkas"] if f["path"].endswith(".pdf")]
    assert pdf["sha256"] != pdf["sha256_tercatat"]


def test_the_console_roles_download_it_and_the_download_is_audited() -> None:
    store = stocked()
    auth = local_auth(store, ROSTER, NOW)

    def get(role: Role | None, id_izin: str = ID) -> object:
        cookies: tuple[str, ...] = ()
        if role is not None:
            _, cookie = sessions.start_session(auth, ROSTER.first(role))
            cookies = (cookie.split(";", 1)[0],)
        request = Request("", cookies=cookies)
        return console.audit_export_page(request, auth, id_izin, read, method="GET")

    assert getattr(get(None), "status", None) == 303
    assert getattr(get(Role.KASI), "status", None) == 403
    assert getattr(get(Role.KEPALA_BIDANG, "IP-TIDAK-ADA"), "status", None) == 404
    assert not [e for e in store.audit(ID) if e["action"] == "audit.exported"]
    download = get(Role.KEPALA_DINAS)
    assert isinstance(download, console.Download)
    assert (download.filename, download.content_type) == (f"audit-{ID}.zip", "application/zip")
    assert zipfile.ZipFile(io.BytesIO(download.body)).testzip() is None
    [entry] = [e for e in store.audit(ID) if e["action"] == "audit.exported"]
    assert entry["nip"] == ROSTER.first(Role.KEPALA_DINAS).nip


def test_izin_audit_export_writes_the_zip_of_the_table_and_bucket(tmp_path: Path) -> None:
    with moto_table("izin-audit-test") as store:
        s3 = boto3.client("s3", region_name="ap-southeast-3")
        s3.create_bucket(
            Bucket="docs", CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"}
        )
        for (bucket, key), body in OBJECTS.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        source = stocked()
        store.create_application(ID, source.application(ID) or {})
        for version in source.document_versions(ID):
            store.put_document_version(ID, version["jenis"], int(version["versi"]), dict(version))
        store.append_audit(ID, {"action": "application.received"}, now=NOW)
        out = tmp_path / "paket.zip"
        args = argparse.Namespace(
            id_izin=ID,
            out=str(out),
            endpoint_url="",
            table="izin-audit-test",
            dari=None,
            sampai=None,
        )
        assert cli.cmd_audit_export(args) == 0
        missing = argparse.Namespace(
            id_izin="IP-X", out="", endpoint_url="", table="izin-audit-test", dari=None, sampai=None
        )
        assert cli.cmd_audit_export(missing) == 1
        ranged = tmp_path / "desember.zip"
        december = {"dari": date(2026, 12, 1), "sampai": date(2026, 12, 31)}
        common = {"endpoint_url": "", "table": "izin-audit-test"}
        assert (
            cli.cmd_audit_export(
                argparse.Namespace(id_izin="", out=str(ranged), **december, **common)
            )
            == 0
        )
        both = argparse.Namespace(id_izin=ID, out="", **december, **common)
        assert cli.cmd_audit_export(both) == 2
    assert audit_export.manifest_of(zipfile.ZipFile(ranged))["permohonan"] == [ID]
    archive = zipfile.ZipFile(out)
    for entry in audit_export.manifest_of(archive)["berkas"]:
        assert sha(archive.read(entry["path"])) == entry["sha256"]
    stored = {archive.read(p) for p in archive.namelist() if "/dokumen/" in p}
    assert stored == set(OBJECTS.values())


def test_a_date_range_gives_every_application_received_in_it_under_one_manifest() -> None:
    store = stocked()  # IP-AUDIT-1, received NOW (28 Dec 2026, 09.00 WIB)
    for id_izin, received in (("IP-AUDIT-LAMA", NOW - timedelta(days=40)), ("IP-AUDIT-2", NOW)):
        store.create_application(id_izin, {"id_izin": id_izin, "created_at": received.isoformat()})
        store.append_audit(id_izin, {"action": "application.received"}, now=received)
    since, until = received_range(Filters(dari=date(2026, 12, 1), sampai=date(2026, 12, 31)))
    body = audit_export.export_range(store, since, until, read, now=NOW, page=1)  # many pages
    archive = zipfile.ZipFile(io.BytesIO(body))
    manifest = audit_export.manifest_of(archive)
    assert sorted(manifest["permohonan"]) == ["IP-AUDIT-1", "IP-AUDIT-2"]
    assert {p.split("/", 1)[0] for p in archive.namelist() if "/" in p} == {
        "IP-AUDIT-1",
        "IP-AUDIT-2",
    }
    for entry in manifest["berkas"]:
        assert sha(archive.read(entry["path"])) == entry["sha256"]
