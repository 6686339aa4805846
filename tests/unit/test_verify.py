"""The public verify page: reading a form, matching a file, and what the page shows."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from izin.documents import load_dinas
from izin.memory_store import MemoryStore
from izin.roster import load_roster
from izin.verify import (
    MAX_BODY_BYTES,
    PDF_ROUTE,
    BodyTooLarge,
    FormError,
    Page,
    Pdf,
    Presented,
    Verdict,
    VerifyContext,
    VerifyRequest,
    check,
    normalise_sha256,
    parse_form,
    request_body,
    verify_page,
    verify_pdf,
)
from izin_local.lambda_worker import LambdaContext

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "izin" / "izin"
ROSTER = load_roster(PACKAGE / "data" / "roster.json")
DINAS = load_dinas(PACKAGE / "data" / "dinas.json")
ID_IZIN = "I-202611260930001234567"
KADIS = "196907151994031007"

DRAFT_HTML, DRAFT_PDF = b"<p>draf</p>", b"%PDF-1.4 draf"
SEALED_HTML, SEALED_PDF = b"<p>ditandatangani</p>", b"%PDF-1.4\r\n\x00\xff ditandatangani\n"
DRAFT_ID, SEALED_ID, OTHER_DRAFT_ID = "draftdraftdraftdraft01", "sealedsealedsealed0002", "x" * 22


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def version(versi: int, document_id: str, html_: bytes, pdf: bytes, **more: Any) -> dict[str, Any]:
    """A DOC# item as documents._publish writes it."""
    return {
        "document_id": document_id,
        "jenis": "bap",
        "judul": "Berita Acara Pemeriksaan",
        "nomor": "500.2.2.1/1/BAP/Disperindag-Ind/2026",
        "versi": versi,
        "key": f"applications/{ID_IZIN}/documents/bap/v{versi:03d}.html",
        "pdf_key": f"applications/{ID_IZIN}/documents/bap/v{versi:03d}.pdf",
        "bucket": "izin-documents",
        "sha256": sha(html_),
        "pdf_sha256": sha(pdf),
        "created_at": "2026-12-02T03:00:00+00:00",
        "tanggal": "2026-12-02T03:00:00+00:00",
        "sealed": False,
    } | more


SEALED = version(
    2,
    SEALED_ID,
    SEALED_HTML,
    SEALED_PDF,
    sealed=True,
    tanggal="2026-12-07T07:15:00+00:00",
    approval_id="PSTJ-0123456789AB",
    signed_by="Dr. H. Ahmad Fauzi, S.E., M.M.",
    signed_nip=KADIS,
    signed_jabatan="Kepala Dinas Perindustrian dan Perdagangan Provinsi Kalimantan Barat",
    signed_at="2026-12-07T07:15:00+00:00",
    # What the sealed document prints: the approved naskah, the draft's HTML.
    sha256_disetujui=sha(DRAFT_HTML),
    versi_disetujui=1,
)


def fake_store(*docs: dict[str, Any], nama: str = "PT Sawit Sanggau Lestari") -> MemoryStore:
    """The documents' versions and pointers, and their application, as documents wrote them."""
    store = MemoryStore()
    store.create_application(
        ID_IZIN,
        {
            "id_izin": ID_IZIN,
            "data": {"id_izin": ID_IZIN, "perusahaan": {"nama": nama}},
            "created_at": "2026-12-01T03:00:00+00:00",
        },
    )
    for doc in docs:
        store.put_document_version(ID_IZIN, doc["jenis"], doc["versi"], doc)
        pointer = {k: doc[k] for k in ("jenis", "judul", "nomor", "versi", "key", "sha256")}
        pointer |= {"id_izin": ID_IZIN, "sealed": doc["sealed"], "pdf_key": doc["pdf_key"]}
        store.put_document_pointer(doc["document_id"], pointer)
    return store


class Bucket:
    """The documents' bucket: what is in it, and which keys were read."""

    def __init__(self) -> None:
        self.objects = {SEALED["pdf_key"]: SEALED_PDF, SEALED["key"]: SEALED_HTML}
        self.objects[version(1, DRAFT_ID, DRAFT_HTML, DRAFT_PDF)["key"]] = DRAFT_HTML
        self.read: list[str] = []

    def __call__(self, key: str) -> bytes:
        self.read.append(key)
        return self.objects[key]


def context(store: MemoryStore | None = None) -> tuple[VerifyContext, Bucket]:
    bucket = Bucket()
    store = store or fake_store(version(1, DRAFT_ID, DRAFT_HTML, DRAFT_PDF), SEALED)
    return VerifyContext(store=store, dinas=DINAS, roster=ROSTER, read_object=bucket), bucket


def plain(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def multipart(
    parts: list[tuple[str, bytes, str | None]], boundary: str = "----izin7MA4YWxk"
) -> tuple[str, bytes]:
    """A multipart/form-data body as a browser sends it: (name, content, filename or None)."""
    chunks = []
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"'
        head = f"Content-Disposition: {disposition}"
        if filename is not None:
            head += f'; filename="{filename}"\r\nContent-Type: application/octet-stream'
        chunks.append(f"--{boundary}\r\n{head}\r\n\r\n".encode() + content + b"\r\n")
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def post(document_id: str, content_type: str, body: bytes) -> VerifyRequest:
    """A POST as API Gateway passes a form: base64-encoded."""
    return VerifyRequest(
        document_id, "POST", content_type, base64.b64encode(body).decode(), is_base64=True
    )


def upload(document_id: str, content: bytes, filename: str = "bap.pdf") -> VerifyRequest:
    content_type, body = multipart([("berkas", content, filename), ("sha256", b"", None)])
    return post(document_id, content_type, body)


# -- reading the form ---------------------------------------------------------------------


def test_multipart_keeps_a_binary_file_byte_for_byte() -> None:
    content = os.urandom(4096) + b"\r\n\r\n--\r\n\n\r" + bytes(range(256)) + b"\r\n"
    content_type, body = multipart(
        [("sha256", b"  abc  ", None), ("berkas", content, "Berita Acara é.pdf")]
    )
    form = parse_form(content_type, body)
    assert form.files["berkas"].content == content
    assert form.files["berkas"].filename == "Berita Acara é.pdf"
    assert form.fields == {"sha256": "  abc  "}


def test_multipart_with_an_empty_file_input() -> None:
    content_type, body = multipart([("berkas", b"", ""), ("sha256", b"f" * 64, None)])
    form = parse_form(content_type, body)
    assert form.files["berkas"].content == b"" and form.fields["sha256"] == "f" * 64


def test_urlencoded_fields() -> None:
    form = parse_form("application/x-www-form-urlencoded; charset=UTF-8", b"sha256=ab%20cd&x=1")
    assert form.fields == {"sha256": "ab cd", "x": "1"} and form.files == {}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"sha256=abc"),
        ("", b"sha256=abc"),
        ("multipart/form-data", b"--x\r\n\r\nabc\r\n--x--\r\n"),  # no boundary
        ("multipart/form-data; boundary=x", b"no parts at all"),
    ],
)
def test_a_body_that_is_not_a_form_is_refused(content_type: str, body: bytes) -> None:
    with pytest.raises(FormError):
        parse_form(content_type, body)


def test_request_body_decodes_base64_and_caps_the_size() -> None:
    assert request_body(base64.b64encode(b"\x00\xff").decode(), True) == b"\x00\xff"
    assert request_body("sha256=x", False) == b"sha256=x"
    with pytest.raises(FormError):
        request_body("not base64!", True)
    with pytest.raises(BodyTooLarge):
        request_body(base64.b64encode(b"x" * 11).decode(), True, limit=10)
    with pytest.raises(BodyTooLarge):
        request_body("x" * 11, False, limit=10)
    assert request_body(base64.b64encode(b"x" * 10).decode(), True, limit=10) == b"x" * 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A" * 64, "a" * 64),
        (" sha256:" + "0f" * 32 + "\n", "0f" * 32),
        ("SHA-256:" + "ab" * 16 + " " + "cd" * 16, "ab" * 16 + "cd" * 16),
        ("a" * 63, None),
        ("g" * 64, None),
        ("", None),
    ],
)
def test_a_pasted_sha256_is_normalised(text: str, expected: str | None) -> None:
    assert normalise_sha256(text) == expected


# -- matching -----------------------------------------------------------------------------


def test_the_signed_html_or_pdf_matches_and_nothing_else_does() -> None:
    assert check(SEALED, Presented(sha(SEALED_PDF))).verdict is Verdict.COCOK
    assert check(SEALED, Presented(sha(SEALED_PDF))).format == "PDF"
    assert check(SEALED, Presented(sha(SEALED_HTML))).format == "HTML"
    changed = bytearray(SEALED_PDF)
    changed[-2] ^= 0x01  # one byte
    assert check(SEALED, Presented(sha(bytes(changed)))).verdict is Verdict.TIDAK_COCOK
    assert check(SEALED, Presented(sha(DRAFT_PDF))).verdict is Verdict.TIDAK_COCOK


def test_a_draft_matches_only_as_a_draft() -> None:
    draft = version(1, DRAFT_ID, DRAFT_HTML, DRAFT_PDF)
    assert check(draft, Presented(sha(DRAFT_HTML))).verdict is Verdict.DRAF
    assert check(draft, Presented(sha(SEALED_HTML))).verdict is Verdict.TIDAK_COCOK


# -- the page -----------------------------------------------------------------------------


def test_the_page_of_a_sealed_document_says_what_it_is() -> None:
    ctx, bucket = context()
    page = verify_page(VerifyRequest(SEALED_ID), ctx)
    words = plain(page.html)
    assert page.status == 200
    assert "Berita Acara Pemeriksaan" in words
    assert "Nomor 500.2.2.1/1/BAP/Disperindag-Ind/2026" in words and "Versi 2" in words
    assert "Dinas Perindustrian dan Perdagangan Provinsi Kalimantan Barat" in words
    assert "PT Sawit Sanggau Lestari" in words and "Tanggal dokumen 7 Desember 2026" in words
    assert "Ditandatangani secara elektronik" in words
    assert "Ditandatangani oleh Dr. H. Ahmad Fauzi, S.E., M.M." in words
    assert "Kepala Dinas Perindustrian dan Perdagangan Provinsi Kalimantan Barat" in words
    assert "7 Desember 2026 pukul 14.15 WIB" in words and "PSTJ-0123456789AB" in words
    assert sha(SEALED_HTML) in words and sha(SEALED_PDF) in words
    assert 'enctype="multipart/form-data"' in page.html and 'name="berkas"' in page.html
    assert 'name="sha256"' in page.html and "<script" not in page.html
    # The sealed PDF through this route: no bucket, no key, no application id; no NIP.
    assert f'href="/verify/{SEALED_ID}/pdf"' in page.html and bucket.read == []
    for internal in ("applications/", "izin-documents", ID_IZIN, "X-Amz", KADIS):
        assert internal not in page.html


def test_a_superseded_draft_says_so_and_links_the_signed_version() -> None:
    ctx = context()[0]
    page = verify_page(VerifyRequest(DRAFT_ID), ctx)
    words = plain(page.html)
    assert page.status == 200 and "Draf, belum ditandatangani" in words
    assert "digantikan oleh versi 2" in words
    assert f'href="/verify/{SEALED_ID}"' in page.html
    assert "Unduh PDF" not in page.html and "applications/" not in page.html


def test_a_draft_superseded_by_a_draft_links_nothing() -> None:
    store = fake_store(
        version(1, DRAFT_ID, DRAFT_HTML, DRAFT_PDF),
        version(2, OTHER_DRAFT_ID, b"<p>v2</p>", b"%PDF v2"),
    )
    page = verify_page(VerifyRequest(DRAFT_ID), context(store)[0])
    assert "Versi terbaru belum ditandatangani" in plain(page.html)
    assert OTHER_DRAFT_ID not in page.html


@pytest.mark.parametrize(
    "document_id", ["", "tidak-ada-dokumen-ini-sama-sekali", "../../etc", "a b"]
)
def test_an_unknown_document_is_404(document_id: str) -> None:
    page = verify_page(VerifyRequest(document_id), context()[0])
    assert page.status == 404 and "Dokumen tidak dikenal" in page.html


def test_the_signed_pdf_uploaded_is_cocok() -> None:
    page = verify_page(upload(SEALED_ID, SEALED_PDF), context()[0])
    words = plain(page.html)
    assert page.status == 200 and 'data-verdict="cocok"' in page.html
    assert "COCOK" in words and "sesuai dengan dokumen yang ditandatangani" in words
    assert "berkas PDF" in words and "bap.pdf" in words and sha(SEALED_PDF) in words


def test_a_copy_with_one_byte_changed_is_tidak_cocok() -> None:
    changed = bytearray(SEALED_PDF)
    changed[10] ^= 0x20
    page = verify_page(upload(SEALED_ID, bytes(changed)), context()[0])
    assert page.status == 200 and 'data-verdict="tidak_cocok"' in page.html
    assert "TIDAK COCOK" in plain(page.html)


def test_a_pasted_sha256_is_checked_urlencoded_or_multipart() -> None:
    ctx = context()[0]
    body = f"sha256={sha(SEALED_HTML).upper()}".encode()
    page = verify_page(post(SEALED_ID, "application/x-www-form-urlencoded", body), ctx)
    assert page.status == 200 and 'data-verdict="cocok"' in page.html
    assert "berkas HTML" in plain(page.html)
    content_type, body = multipart([("berkas", b"", ""), ("sha256", sha(DRAFT_PDF).encode(), None)])
    page = verify_page(post(SEALED_ID, content_type, body), ctx)
    assert 'data-verdict="tidak_cocok"' in page.html


def test_the_printed_naskah_hash_is_cocok_once_its_file_hashes_to_it_again() -> None:
    ctx, bucket = context()
    body = f"sha256={sha(DRAFT_HTML)}".encode()
    page = verify_page(post(SEALED_ID, "application/x-www-form-urlencoded", body), ctx)
    words = plain(page.html)
    assert page.status == 200 and 'data-verdict="cocok"' in page.html
    assert "sesuai dengan naskah yang disetujui" in words and "naskah versi 1" in words
    assert bucket.read == [version(1, DRAFT_ID, DRAFT_HTML, DRAFT_PDF)["key"]]
    # The record says so, but the file kept no longer hashes to it: not COCOK.
    bucket.objects[bucket.read[0]] = DRAFT_HTML + b"\n"
    page = verify_page(post(SEALED_ID, "application/x-www-form-urlencoded", body), ctx)
    assert 'data-verdict="tidak_cocok"' in page.html


def test_the_page_defines_the_printed_hash() -> None:
    words = plain(verify_page(VerifyRequest(SEALED_ID), context()[0]).html)
    assert f"SHA-256 naskah yang disetujui {sha(DRAFT_HTML)}" in words
    assert "adalah SHA-256 berkas HTML naskah versi 1" in words
    # On a draft's page there is no printed hash to define.
    assert "naskah yang disetujui" not in plain(
        verify_page(VerifyRequest(DRAFT_ID), context()[0]).html
    )


def test_the_naskah_hash_is_not_cocok_on_a_draft_s_page() -> None:
    assert (
        check(
            version(1, DRAFT_ID, DRAFT_HTML, DRAFT_PDF) | {"sha256_disetujui": "a" * 64},
            Presented("a" * 64),
            "a" * 64,
        ).verdict
        is Verdict.TIDAK_COCOK
    )
    assert check(SEALED, Presented(sha(DRAFT_HTML)), "").verdict is Verdict.TIDAK_COCOK


def test_the_draft_presented_on_its_own_page_is_not_called_signed() -> None:
    page = verify_page(upload(DRAFT_ID, DRAFT_PDF), context()[0])
    words = plain(page.html)
    assert page.status == 200 and 'data-verdict="draf"' in page.html
    assert (
        "BELUM DITANDATANGANI" in words and "sesuai dengan dokumen yang ditandatangani" not in words
    )


@pytest.mark.parametrize(
    ("content_type", "body", "status", "says"),
    [
        ("application/x-www-form-urlencoded", b"sha256=123", 422, "64 digit heksadesimal"),
        ("application/x-www-form-urlencoded", b"sha256=", 422, "Pilih berkas"),
        ("text/plain", b"hello", 400, "tidak dapat dibaca"),
    ],
)
def test_a_form_without_a_usable_value_is_answered_with_the_form(
    content_type: str, body: bytes, status: int, says: str
) -> None:
    page = verify_page(post(SEALED_ID, content_type, body), context()[0])
    assert page.status == status and says in page.html
    assert 'name="berkas"' in page.html and "data-verdict" not in page.html


def test_an_upload_over_the_limit_is_413() -> None:
    content_type, body = multipart([("berkas", b"\x00" * MAX_BODY_BYTES, "besar.pdf")])
    page = verify_page(post(SEALED_ID, content_type, body), context()[0])
    assert page.status == 413 and "terlalu besar" in page.html


def test_a_company_name_with_markup_is_escaped() -> None:
    nama = "PT \"Sawit\" & <script>alert('x')</script>"
    store = fake_store(SEALED, nama=nama)
    page = verify_page(VerifyRequest(SEALED_ID), context(store)[0])
    assert "<script>" not in page.html and "&lt;script&gt;" in page.html
    assert nama in html.unescape(page.html)


# -- the signed PDF, served by the verify route ----------------------------------------------


def test_the_signed_pdf_is_served_with_its_name() -> None:
    ctx, bucket = context()
    pdf = verify_pdf(SEALED_ID, ctx)
    assert isinstance(pdf, Pdf) and pdf.content == SEALED_PDF
    assert pdf.filename == "bap-500.2.2.1-1-BAP-Disperindag-Ind-2026-v2.pdf"
    assert bucket.read == [SEALED["pdf_key"]]


@pytest.mark.parametrize("document_id", [DRAFT_ID, "tidak-ada-dokumen-ini-sama-sekali", "../x"])
def test_no_pdf_of_a_draft_or_an_unknown_document(document_id: str) -> None:
    ctx, bucket = context()
    page = verify_pdf(document_id, ctx)
    assert isinstance(page, Page) and page.status == 404 and "Dokumen tidak dikenal" in page.html
    assert bucket.read == []


def verify_handler() -> Any:
    """The verify function's handler, loaded as Lambda loads it: from its folder."""
    return runpy.run_path(str(PACKAGE.parents[2] / "functions" / "verify" / "app.py"))[
        "lambda_handler"
    ]


def http_event(route: str, document_id: str) -> dict[str, Any]:
    """An HTTP API (payload 2.0) GET as API Gateway passes it to the function."""
    path = route.split(" ", 1)[1].replace("{document_id}", document_id)
    event = json.loads((PACKAGE.parents[2] / "tests" / "events" / "verify.json").read_text())
    event |= {"routeKey": route, "rawPath": path, "pathParameters": {"document_id": document_id}}
    event["requestContext"] |= {"routeKey": route}
    event["requestContext"]["http"] |= {"method": "GET", "path": path}
    return event


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Bucket]]:
    from izin import settings, wiring

    ctx, bucket = context()
    monkeypatch.setenv("TABLE_NAME", "izin-test")
    monkeypatch.setenv("BUCKET_NAME", "izin-test-documents")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://izin.example")
    monkeypatch.setenv("MAIL_FROM", "izin@example.go.id")
    settings.settings.cache_clear()
    monkeypatch.setattr(wiring, "store", lambda: ctx.store)
    monkeypatch.setattr(wiring, "roster", lambda: ROSTER)
    monkeypatch.setattr(wiring, "read_object", bucket)
    yield verify_handler(), bucket
    settings.settings.cache_clear()


def lambda_context() -> LambdaContext:
    arn = "arn:aws:lambda:ap-southeast-3:123456789012:function:izin-verify"
    return LambdaContext("izin-verify", arn, memory_limit_in_mb=256, timeout_seconds=15)


def test_the_handler_serves_the_signed_pdf_through_the_verify_route(
    handler: tuple[Any, Bucket],
) -> None:
    lambda_handler, bucket = handler
    page = lambda_handler(http_event("GET /verify/{document_id}", SEALED_ID), lambda_context())
    assert page["statusCode"] == 200 and page["headers"]["content-type"].startswith("text/html")
    (href,) = re.findall(r'<a class="button" href="([^"]+)"', page["body"])
    assert href == f"/verify/{SEALED_ID}/pdf"
    answer = lambda_handler(http_event(PDF_ROUTE, SEALED_ID), lambda_context())
    assert answer["statusCode"] == 200 and answer["isBase64Encoded"] is True
    assert base64.b64decode(answer["body"]) == SEALED_PDF
    assert answer["headers"]["content-type"] == "application/pdf"
    assert answer["headers"]["content-disposition"] == (
        'attachment; filename="bap-500.2.2.1-1-BAP-Disperindag-Ind-2026-v2.pdf"'
    )
    assert answer["headers"]["x-content-type-options"] == "nosniff"
    assert bucket.read == [SEALED["pdf_key"]]


def test_the_handler_answers_404_for_the_pdf_of_a_draft(handler: tuple[Any, Bucket]) -> None:
    lambda_handler, bucket = handler
    answer = lambda_handler(http_event(PDF_ROUTE, DRAFT_ID), lambda_context())
    assert answer["statusCode"] == 404 and "Dokumen tidak dikenal" in answer["body"]
    assert "isBase64Encoded" not in answer and bucket.read == []


def test_the_pdf_route_is_the_template_s() -> None:
    template = (PACKAGE.parents[2] / "template.yaml").read_text(encoding="utf-8")
    verify = template.split("  VerifyFunction:", 1)[1].split("\n\n", 1)[0]
    method, path = PDF_ROUTE.split(" ", 1)
    assert f"Path: {path}\n            Method: {method}" in verify
