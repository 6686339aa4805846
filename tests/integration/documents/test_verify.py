"""The public verify page (CONTRACT §3) of documents sealed by a real run of the SOP.

One application is taken through all 20 steps (no field inspection) under the local
runtime of the real template; its BAP and Surat Pengantar are sealed at step 14. The page
is then asked about them as a person holding a file, a hash or the QR code's link would.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from izin.documents import latest_documents, versions
from izin_local.officer import http_get, http_post_form
from izin_local.scenario import Scenario, drive
from izin_local.testing import System

ID_IZIN = "IP-VERIFY-001"


@dataclass
class Sealed:
    """The sealed BAP of the application: its record and its files as stored."""

    item: dict[str, Any]
    html: bytes
    pdf: bytes

    @property
    def url(self) -> str:
        return f"/verify/{self.item['document_id']}"


@pytest.fixture(scope="module")
def system(system: System) -> System:
    """The whole system, with one application taken to the end of the SOP."""
    drive(system.endpoints, ID_IZIN, Scenario(field_inspection=False))
    return system


def stored(system: System, item: dict[str, Any]) -> Sealed:
    s3 = boto3.client("s3", endpoint_url=system.runtime.aws_endpoint)

    def read(key: str) -> bytes:
        body: bytes = s3.get_object(Bucket=item["bucket"], Key=key)["Body"].read()
        return body

    return Sealed(item, read(item["key"]), read(item["pdf_key"]))


@pytest.fixture(scope="module")
def bap(system: System) -> Sealed:
    item = latest_documents(system.endpoints.store, ID_IZIN)["bap"]
    assert item["sealed"] is True
    return stored(system, item)


def url(system: System, path: str) -> str:
    return system.runtime.http_url + path


def plain(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def post_file(target: str, content: bytes, filename: str) -> tuple[int, str]:
    """POST a file as a browser's multipart/form-data form does, with the empty hash field."""
    boundary = f"----izin{uuid.uuid4().hex}"
    body = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="berkas"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body += content + f"\r\n--{boundary}\r\n".encode()
    body += b'Content-Disposition: form-data; name="sha256"\r\n\r\n\r\n'
    body += f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        target,
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_page_says_what_the_sealed_bap_is(system: System, bap: Sealed) -> None:
    status, page = http_get(url(system, bap.url))
    words = plain(page)
    assert status == 200
    assert "Berita Acara Pemeriksaan" in words and str(bap.item["nomor"]) in words
    assert f"Versi {bap.item['versi']}" in words
    assert "Dinas Perindustrian dan Perdagangan Provinsi Kalimantan Barat" in words
    assert "PT Sawit Kapuas Lestari" in words
    assert "Ditandatangani secara elektronik" in words
    assert f"Ditandatangani oleh {bap.item['signed_by']}" in words
    assert str(bap.item["approval_id"]) in words
    assert hashlib.sha256(bap.html).hexdigest() in words
    assert hashlib.sha256(bap.pdf).hexdigest() in words
    # The signed PDF through the verify route itself: no bucket, S3 key or application id.
    assert f'<a class="button" href="{bap.url}/pdf"' in page
    for internal in ("applications/", str(bap.item["bucket"]), ID_IZIN, "X-Amz"):
        assert internal not in page


def test_the_stored_pdf_uploaded_is_cocok(system: System, bap: Sealed) -> None:
    status, page = post_file(url(system, bap.url), bap.pdf, "bap.pdf")
    assert status == 200 and 'data-verdict="cocok"' in page
    assert "sesuai dengan dokumen yang ditandatangani" in plain(page)


def test_the_stored_html_uploaded_is_cocok(system: System, bap: Sealed) -> None:
    status, page = post_file(url(system, bap.url), bap.html, "bap.html")
    assert status == 200 and 'data-verdict="cocok"' in page and "berkas HTML" in plain(page)


def test_its_sha256_pasted_is_cocok(system: System, bap: Sealed) -> None:
    digest = hashlib.sha256(bap.pdf).hexdigest()
    status, page = http_post_form(url(system, bap.url), {"sha256": [digest]})
    assert status == 200 and 'data-verdict="cocok"' in page


def test_the_hash_printed_under_the_signature_is_cocok(system: System, bap: Sealed) -> None:
    """What a clerk reads off the signed PDF ("SHA-256 naskah yang disetujui"), pasted."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext missing: apt-get install -y poppler-utils")
    text = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"],
        input=bap.pdf,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    printed = re.search(r"SHA-256 naskah yang disetujui: ([0-9a-f]{64})", text)
    assert printed is not None
    status, page = http_post_form(url(system, bap.url), {"sha256": [printed.group(1)]})
    assert status == 200 and 'data-verdict="cocok"' in page
    assert "sesuai dengan naskah yang disetujui" in plain(page)
    wrong = printed.group(1)[::-1]
    status, page = http_post_form(url(system, bap.url), {"sha256": [wrong]})
    assert status == 200 and 'data-verdict="tidak_cocok"' in page


def test_a_copy_with_one_byte_changed_is_tidak_cocok(system: System, bap: Sealed) -> None:
    changed = bytearray(bap.pdf)
    changed[len(changed) // 2] ^= 0x01
    status, page = post_file(url(system, bap.url), bytes(changed), "bap.pdf")
    assert status == 200 and 'data-verdict="tidak_cocok"' in page
    assert "TIDAK COCOK" in plain(page)


def test_an_unknown_document_is_404(system: System) -> None:
    status, page = http_get(url(system, "/verify/TidakAdaDokumenSeperti1ni"))
    assert status == 404 and "Dokumen tidak dikenal" in page


def test_an_upload_too_large_is_413(system: System, bap: Sealed) -> None:
    status, page = post_file(url(system, bap.url), b"\x00" * (4 * 1024 * 1024 + 1), "besar.pdf")
    assert status == 413 and "terlalu besar" in page


def test_the_page_states_the_largest_file_before_one_is_chosen(system: System, bap: Sealed) -> None:
    status, page = http_get(url(system, bap.url))
    assert status == 200 and "paling besar 4 MiB" in plain(page)


def test_an_upload_larger_than_lambda_takes_never_reaches_the_page(
    system: System, bap: Sealed
) -> None:
    # Base64 in the HTTP API's event, 5 MiB is past Lambda's 6 MiB request: Invoke refuses
    # it, as on AWS, and the gateway answers its own error, not the page's 413.
    status, page = post_file(url(system, bap.url), b"\x00" * (5 * 1024 * 1024), "besar.pdf")
    assert status == 500 and json.loads(page) == {"message": "Internal Server Error"}


@pytest.mark.parametrize("jenis", ["bap", "surat_pengantar_dpmptsp"])
def test_the_verify_link_in_a_sealed_document_leads_to_its_page(system: System, jenis: str) -> None:
    sealed = stored(system, latest_documents(system.endpoints.store, ID_IZIN)[jenis])
    base = re.escape(system.runtime.http_url)
    links = set(re.findall(base + r"/verify/[A-Za-z0-9_-]+", sealed.html.decode()))
    assert links == {url(system, sealed.url)}  # the QR's URL, printed beside it
    status, page = http_get(links.pop())
    assert status == 200 and str(sealed.item["nomor"]) in plain(page)
    assert "Ditandatangani secara elektronik" in plain(page)


def test_the_download_link_gives_the_signed_pdf(system: System, bap: Sealed) -> None:
    status, page = http_get(url(system, bap.url))
    found = re.search(r'<a class="button" href="([^"]+)"', page)
    assert status == 200 and found is not None
    with urllib.request.urlopen(url(system, html.unescape(found.group(1))), timeout=30) as answer:
        assert answer.read() == bap.pdf
        assert answer.headers["Content-Type"] == "application/pdf"
        disposition = answer.headers["Content-Disposition"]
        assert disposition.startswith('attachment; filename="bap-') and ".pdf" in disposition


def test_a_draft_has_no_pdf_to_download(system: System) -> None:
    draft, *_ = versions(system.endpoints.store, ID_IZIN, "bap")
    status, page = http_get(url(system, f"/verify/{draft['document_id']}/pdf"))
    assert status == 404 and "Dokumen tidak dikenal" in page


def test_the_approved_draft_says_it_was_superseded(system: System, bap: Sealed) -> None:
    draft, *_ = versions(system.endpoints.store, ID_IZIN, "bap")
    assert draft["sealed"] is False
    status, page = http_get(url(system, f"/verify/{draft['document_id']}"))
    words = plain(page)
    assert status == 200 and "Draf, belum ditandatangani" in words
    assert f"digantikan oleh versi {bap.item['versi']}" in words
    assert f'href="{bap.url}"' in page
    assert "Unduh PDF" not in page and "applications/" not in page
