"""The audit export (issue #15): what an auditor (BPK, Inspektorat) asks for, for one
application, as one ZIP.

Inside, under the application's id:
- `permohonan.json`: the application's record;
- `jejak-audit.json` and `jejak-audit.csv`: the audit trail, oldest first (the CSV has the
  common columns in Indonesian and every other field as JSON in `rincian`);
- `dokumen/{jenis}/v{versi}/…`: every version of every document, as stored (the DOCX and,
  where made, the sealed PDF);
and at the top `manifest.json` (each entry's path, size and SHA-256, and for a document
the SHA-256 recorded when it was made, so a changed file shows twice) and `SHA256SUMS`
(the same hashes, for `sha256sum -c`). The ZIP is built in memory: an application's
documents are a few MB.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from izin.store import Item, Store

Read = Callable[[str, str], bytes]  # (bucket, key) -> the object's bytes
TRAIL_COLUMNS = ("waktu", "aksi", "langkah", "pelaku", "nip", "catatan")
_COMMON = {"at": "waktu", "action": "aksi", "step": "langkah", "actor": "pelaku", "nip": "nip"}


def _record(item: Item) -> Item:
    """An item without the table's keys (PK, SK, GSI1PK, GSI1SK): storage, not evidence."""
    return {k: v for k, v in item.items() if k not in ("PK", "SK") and not k.startswith("GSI")}


class NoSuchApplication(LookupError):
    """No application has this id."""


def _json(value: Any) -> bytes:
    def plain(o: Any) -> Any:
        if isinstance(o, Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        if isinstance(o, set):
            return sorted(o)
        raise TypeError(type(o).__name__)

    return json.dumps(value, ensure_ascii=False, indent=2, default=plain).encode()


def trail_csv(trail: list[Item]) -> bytes:
    """The trail as CSV (UTF-8 with BOM, which Excel reads as UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*TRAIL_COLUMNS, "rincian"])
    for entry in trail:
        rest = {k: v for k, v in entry.items() if k not in _COMMON and k != "note"}
        row = [entry.get(k, "") for k in _COMMON]
        row.insert(5, entry.get("note", ""))
        writer.writerow([*row, _json(rest).decode() if rest else ""])
    return out.getvalue().encode("utf-8-sig")


def _name(key: str) -> str:
    return key.rsplit("/", 1)[-1] or "berkas"


Entry = tuple[str, bytes, str]  # path in the ZIP, bytes, SHA-256 recorded when made


def _entries(store: Store, application: Item, read: Read) -> list[Entry]:
    """One application's files, under its id."""
    id_izin = str(application["id_izin"])
    trail = [_record(e) for e in store.audit_as_written(id_izin)]
    entries: list[Entry] = [
        (f"{id_izin}/permohonan.json", _json(_record(application)), ""),
        (f"{id_izin}/jejak-audit.json", _json(trail), ""),
        (f"{id_izin}/jejak-audit.csv", trail_csv(trail), ""),
    ]
    for version in sorted(
        store.document_versions(id_izin), key=lambda v: (str(v["jenis"]), int(v["versi"]))
    ):
        folder = f"{id_izin}/dokumen/{version['jenis']}/v{int(version['versi']):03d}"
        bucket = str(version.get("bucket", ""))
        for key_field, hash_field in (("key", "sha256"), ("pdf_key", "pdf_sha256")):
            key = version.get(key_field)
            if key:
                body = read(bucket, str(key))
                entries.append(
                    (f"{folder}/{_name(str(key))}", body, str(version.get(hash_field, "")))
                )
    return entries


def _zip(entries: list[Entry], scope: Mapping[str, Any], *, now: datetime) -> bytes:
    files = [
        {
            "path": path,
            "ukuran": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            **({"sha256_tercatat": recorded} if recorded else {}),
        }
        for path, body, recorded in entries
    ]
    manifest = {**scope, "dibuat_pada": now.isoformat(), "berkas": files}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, body, _ in entries:
            archive.writestr(path, body)
        archive.writestr("manifest.json", _json(manifest))
        sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in files)
        archive.writestr("SHA256SUMS", sums)
    return out.getvalue()


def export(store: Store, id_izin: str, read: Read, *, now: datetime) -> bytes:
    """The application's audit ZIP; NoSuchApplication when there is none."""
    application = store.application(id_izin)
    if application is None:
        raise NoSuchApplication(id_izin)
    return _zip(_entries(store, application, read), {"id_izin": id_izin}, now=now)


def export_range(
    store: Store, since: str, until: str, read: Read, *, now: datetime, page: int = 100
) -> bytes:
    """One ZIP of every application received between `since` and `until` (ISO moments, the
    GSI1 sort key; Query pages, never a Scan), each under its own id, one manifest."""
    entries: list[Entry] = []
    ids: list[str] = []
    after: Item | None = None
    while True:
        items, after = store.applications_page(page, after=after, since=since, until=until)
        for application in items:
            ids.append(str(application["id_izin"]))
            entries += _entries(store, application, read)
        if after is None:
            break
    scope = {"dari": since, "sampai": until, "permohonan": ids}
    return _zip(entries, scope, now=now)


def s3_reader(s3: Any) -> Read:
    """Read documents from S3 with this client."""

    def read(bucket: str, key: str) -> bytes:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    return read


def manifest_of(archive: zipfile.ZipFile) -> Mapping[str, Any]:
    """An export's manifest."""
    loaded: Mapping[str, Any] = json.loads(archive.read("manifest.json"))
    return loaded
