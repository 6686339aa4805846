"""The calls out (CONTRACT §2) with fakes: SIINAS's upload, OSS's status, the tembusan, retries.

The same paths run whole, under the local runtime and its simulators, in
tests/integration/integrations/.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from izin.callbacks import TaskGone
from izin.documents import load_dinas
from izin.integrations import (
    MANUAL_UPLOAD,
    CallFailed,
    DocumentNotSealed,
    Response,
    StdlibHttp,
    idempotency_key,
    license_status,
    open_manual_upload,
    record_call_failure,
    send_status,
    upload_bap,
)
from izin.mail import Email
from izin.memory_store import MemoryStore
from izin.queues import RetrySettings
from izin.roster import Role, Roster, load_roster
from izin.tembusan import file_name, send_tembusan
from izin_local.testing import FirstWriteFails
from pydantic import ValidationError

ROSTER = Path(__file__).resolve().parents[2] / "layers/izin/izin/data/roster.json"
DINAS = load_dinas(ROSTER.parent / "dinas.json")
ID = "IP-0001"
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 10:00 WIB
SIGNED_AT = "2026-11-26T08:30:00+00:00"  # 15:30 WIB, 26 November
KETUA = "199107082015032006"
KEPALA_DINAS = "196907151994031007"


class FakeHttp:
    """Answers from a script (a status, or an exception to raise); records every call."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []

    def post(self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> Response:
        self.calls.append((url, json.loads(json.dumps(body)), dict(headers)))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Response(answer, json.dumps({"id_unggah": "U-77"}).encode())


class FakeCallbacks:
    def __init__(self, gone: bool = False) -> None:
        self.gone = gone
        self.outputs: list[tuple[str, dict[str, Any]]] = []

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        if self.gone:
            raise TaskGone("TaskTimedOut")
        self.outputs.append((token, output))


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    def send(self, email: Email) -> None:
        self.sent.append(email)


FILES = {
    f"applications/{ID}/documents/{jenis}/v{versi:03d}.{ext}": f"{jenis} v{versi} {ext}".encode()
    for jenis in ("bap", "surat_pengantar_dpmptsp")
    for versi in (1, 2)
    for ext in ("html", "pdf")
}


SERI = {"bap": "BAP", "surat_pengantar_dpmptsp": "SP-DPMPTSP"}


def read_object(key: str) -> bytes:
    return FILES[key]


def document(jenis: str, versi: int, *, sealed: bool) -> dict[str, Any]:
    key = f"applications/{ID}/documents/{jenis}/v{versi:03d}"
    return {
        "jenis": jenis,
        "versi": versi,
        "nomor": f"500.2.2/{versi}/{SERI[jenis]}/Disperindag-Ind/2026",
        "key": f"{key}.html",
        "sha256": hashlib.sha256(FILES[f"{key}.html"]).hexdigest(),
        "pdf_key": f"{key}.pdf",
        "pdf_sha256": hashlib.sha256(FILES[f"{key}.pdf"]).hexdigest(),
        "tanggal": SIGNED_AT if sealed else "2026-11-25T01:00:00+00:00",
        "sealed": sealed,
        **({"signed_at": SIGNED_AT} if sealed else {}),
    }


def application_store(*, sealed: bool = True, kesimpulan: str = "siap") -> MemoryStore:
    store = MemoryStore()
    store.put(
        f"APP#{ID}",
        "META",
        {
            "id_izin": ID,
            "data": {
                "id_izin": ID,
                "nib": "9120301234567",
                "kd_izin": "061000000000001",
                "kbli": "10431",
                "perusahaan": {"nama": "PT Sawit Kapuas Lestari"},
            },
        },
    )
    store.put(f"APP#{ID}", "STEP#07", {"data": {"ketua": KETUA}})
    store.put(f"APP#{ID}", "STEP#11", {"data": {"kesimpulan": kesimpulan}})
    for jenis in ("bap", "surat_pengantar_dpmptsp"):
        store.put(f"APP#{ID}", f"DOC#{jenis}#001", document(jenis, 1, sealed=False))
        if sealed:
            store.put(f"APP#{ID}", f"DOC#{jenis}#002", document(jenis, 2, sealed=True))
    return store


@pytest.fixture(scope="module")
def roster() -> Roster:
    return load_roster(ROSTER)


def upload(store: MemoryStore, http: FakeHttp, callbacks: FakeCallbacks | None = None) -> str:
    return upload_bap(
        ID,
        "token-17",
        store=store,
        http=http,
        read_object=read_object,
        base_url="https://siinas.example/api/",
        bearer="rahasia",
        callbacks=callbacks or FakeCallbacks(),
        now=NOW,
    )


# --- SIINAS: the BAP upload of step 17 --------------------------------------------------------


def test_the_upload_sends_the_sealed_bap_as_the_contract_says() -> None:
    store, http, callbacks = application_store(), FakeHttp(201), FakeCallbacks()

    assert upload(store, http, callbacks) == "uploaded"

    [(url, body, headers)] = http.calls
    assert url == f"https://siinas.example/api/verifikasi-teknis/{ID}/bap"
    sealed_pdf = FILES[f"applications/{ID}/documents/bap/v002.pdf"]
    assert body == {
        "nomor_bap": "500.2.2/2/BAP/Disperindag-Ind/2026",
        "tanggal": "2026-11-26",  # the day it was signed, in WIB
        "kesimpulan": "siap",
        "dokumen": {
            "nama": f"BAP-{ID}-v2.pdf",
            "content_type": "application/pdf",
            "base64": base64.b64encode(sealed_pdf).decode(),
        },
        "sha256": hashlib.sha256(sealed_pdf).hexdigest(),
    }
    assert headers == {
        "Authorization": "Bearer rahasia",
        "Idempotency-Key": idempotency_key(ID, body["sha256"]),
    }
    assert callbacks.outputs == [
        ("token-17", {"unggah": "siinas", "id_unggah": "U-77", "sha256": body["sha256"]})
    ]
    [uploaded] = store.trail
    assert uploaded["action"] == "bap.uploaded" and uploaded["id_unggah"] == "U-77"


def test_a_refused_upload_raises_to_be_retried_with_the_same_key_and_body() -> None:
    store, http, callbacks = (
        application_store(),
        FakeHttp(500, CallFailed("timed out"), 201),
        FakeCallbacks(),
    )

    with pytest.raises(CallFailed, match="500"):
        upload(store, http, callbacks)
    with pytest.raises(CallFailed, match="timed out"):
        upload(store, http, callbacks)
    assert callbacks.outputs == [] and store.trail == []
    upload(store, http, callbacks)

    assert len({json.dumps(body) for _, body, _ in http.calls}) == 1
    assert len({headers["Idempotency-Key"] for _, _, headers in http.calls}) == 1
    assert len(callbacks.outputs) == 1


def test_a_new_version_of_the_bap_is_a_new_upload() -> None:
    assert idempotency_key(ID, "a" * 64) == idempotency_key(ID, "a" * 64)
    assert idempotency_key(ID, "a" * 64) != idempotency_key(ID, "b" * 64)
    assert idempotency_key(ID, "a" * 64) != idempotency_key("IP-0002", "a" * 64)


def test_a_bap_not_sealed_is_never_uploaded() -> None:
    http = FakeHttp(201)
    with pytest.raises(DocumentNotSealed):
        upload(application_store(sealed=False), http)
    assert http.calls == []


def test_an_upload_after_the_step_stopped_waiting_is_kept_in_the_trail() -> None:
    store = application_store()
    assert upload(store, FakeHttp(201), FakeCallbacks(gone=True)) == "gone"
    assert store.actions() == ["bap.uploaded"]


def test_the_manual_upload_task_gets_the_step_17_token() -> None:
    store = application_store()
    issued: list[tuple[str, str, str | None, str, str]] = []

    def issue(
        kind: str, id_izin: str, task_token: str | None, *, reason: str, execution: str = ""
    ) -> str:
        issued.append((kind, id_izin, task_token, reason, execution))
        return "hash-of-ticket"

    outcome = open_manual_upload(
        ID,
        "token-17",
        reason="SIINAS_BASE_URL tidak dikonfigurasi",
        store=store,
        issue=issue,
        now=NOW,
        execution="arn:execution",
    )

    assert outcome == "manual"
    # The execution goes with the token: a lost answer is told from the execution's history.
    reason = "SIINAS_BASE_URL tidak dikonfigurasi"
    assert issued == [(MANUAL_UPLOAD, ID, "token-17", reason, "arn:execution")]
    [entry] = store.trail
    assert entry["action"] == "bap.upload_manual" and entry["step"] == 17
    assert entry["reason"] == "SIINAS_BASE_URL tidak dikonfigurasi"


def test_a_failed_call_is_kept_in_the_trail() -> None:
    store = application_store()
    record_call_failure(
        store, ID, system="siinas", reason="SIINAS answered 500", attempt=2, retry_in=4, now=NOW
    )
    [entry] = store.trail
    assert entry["action"] == "siinas.call_failed"
    assert (entry["attempt"], entry["reason"]) == (2, "SIINAS answered 500")
    assert "4 detik" in entry["note"]


# --- OSS: receiveLicenseStatus (PIA) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("milestone", "kesimpulan", "kd_status", "nip"),
    [
        ("inspeksi", "siap", "40", KETUA),
        ("bap_disetujui", "siap", "45", KEPALA_DINAS),
        ("bap_disetujui", "belum_siap", "93", KEPALA_DINAS),
    ],
)
def test_the_status_has_pias_shape_and_code(
    roster: Roster, milestone: str, kesimpulan: str, kd_status: str, nip: str
) -> None:
    store = application_store(kesimpulan=kesimpulan)
    at = datetime(2026, 11, 26, 17, 5, 9, tzinfo=UTC)

    body = license_status(ID, milestone, store=store, roster=roster, kd_instansi="6100", at=at)

    assert body == {
        "IZINSTATUS": {
            "nib": "9120301234567",
            "id_izin": ID,
            "kd_izin": "061000000000001",
            "kd_instansi": "6100",
            "kd_status": kd_status,
            "tgl_status": "2026-11-27 00:05:09",  # WIB: already the next day
            "nip_status": nip,
            "nama_status": roster.by_nip(nip).nama,
            "keterangan": body["IZINSTATUS"]["keterangan"],
        }
    }
    assert body["IZINSTATUS"]["keterangan"]


def test_an_incomplete_file_is_status_11_with_what_is_missing(roster: Roster) -> None:
    store = application_store()
    operator = roster.first(Role.OPERATOR)
    missing = "Persetujuan lingkungan belum diunggah."
    store.put(
        f"APP#{ID}",
        "STEP#04",
        {"data": {"kelengkapan": "tidak_lengkap", "catatan": missing, "nip": operator.nip}},
    )
    body = license_status(
        ID, "dokumen_belum_lengkap", store=store, roster=roster, kd_instansi="6100", at=NOW
    )["IZINSTATUS"]
    assert (body["kd_status"], body["nip_status"]) == ("11", operator.nip)
    assert body["keterangan"] == f"Dokumen belum lengkap: {missing}"


def test_an_unknown_milestone_is_an_error(roster: Roster) -> None:
    with pytest.raises(ValueError, match="milestone"):
        license_status(
            ID, "ditolak", store=application_store(), roster=roster, kd_instansi="6100", at=NOW
        )


def send(
    store: MemoryStore, http: FakeHttp, roster: Roster, base_url: str = "https://oss.example"
) -> str:
    return send_status(
        ID,
        "bap_disetujui",
        store=store,
        roster=roster,
        http=http,
        base_url=base_url,
        user_key="kunci",
        kd_instansi="6100",
        reached_at=NOW - timedelta(minutes=5),
        now=NOW,
    )


def test_the_status_goes_to_receive_license_status_with_the_user_key(roster: Roster) -> None:
    store, http = application_store(), FakeHttp(200)

    assert send(store, http, roster) == "sent"

    [(url, body, headers)] = http.calls
    assert url == "https://oss.example/receiveLicenseStatus"
    assert headers == {"user_key": "kunci"}
    assert body["IZINSTATUS"]["tgl_status"] == "2026-11-27 09:55:00"  # when it was reached
    assert store.actions() == ["oss.status_sent"]


def test_a_refused_status_raises_to_be_retried_with_the_same_body(roster: Roster) -> None:
    store, http = application_store(), FakeHttp(503, 200)

    with pytest.raises(CallFailed, match="503"):
        send(store, http, roster)
    send(store, http, roster)

    assert http.calls[0] == http.calls[1]
    assert store.actions() == ["oss.status_sent"]


def test_without_an_oss_url_the_status_is_recorded_as_not_sent(roster: Roster) -> None:
    store, http = application_store(), FakeHttp()
    assert send(store, http, roster, base_url="") == "skipped"
    assert http.calls == [] and store.actions() == ["oss.status_skipped"]


# --- the tembusan to DPMPTSP Kalbar -------------------------------------------------------------


def tembusan(
    store: MemoryStore,
    mailer: FakeMailer,
    roster: Roster,
    seal: Callable[[bytes], bytes] | None = None,
) -> dict[str, Any]:
    return send_tembusan(
        ID,
        store=store,
        roster=roster,
        dinas=DINAS,
        mailer=mailer,
        read_object=read_object,
        now=NOW,
        seal=seal,
    )


ESEAL = b"\n%e-seal Dinas\n"


def test_with_the_e_seal_on_each_copy_is_sealed_and_the_copies_hashes_kept(
    roster: Roster,
) -> None:
    store, mailer = application_store(), FakeMailer()
    sealed_pdfs: list[bytes] = []

    def seal(pdf: bytes) -> bytes:
        sealed_pdfs.append(pdf)
        return pdf + ESEAL

    tembusan(store, mailer, roster, seal)
    [email] = mailer.sent
    originals = [FILES[f"applications/{ID}/documents/{j}/v002.pdf"] for j in SENT_ORDER]
    assert sealed_pdfs == originals  # the signed versions, as stored, go to BSrE
    assert [a.content for a in email.attachments] == [pdf + ESEAL for pdf in originals]
    copies = {
        j: hashlib.sha256(pdf + ESEAL).hexdigest()
        for j, pdf in zip(SENT_ORDER, originals, strict=True)
    }
    [entry] = store.trail
    assert entry["action"] == "tembusan.sent" and entry["eseal"] == copies
    assert (store.tembusan(ID) or {})["eseal"] == copies


def test_an_e_seal_that_fails_sends_the_copy_unsealed_and_the_trail_says_so(
    roster: Roster,
) -> None:
    from izin.bsre import BsreUnavailable

    store, mailer = application_store(), FakeMailer()

    def seal(pdf: bytes) -> bytes:
        raise BsreUnavailable("BSrE answered 503")

    assert tembusan(store, mailer, roster, seal) == {"tembusan": str(roster.dpmptsp_email)}
    [email] = mailer.sent
    originals = [FILES[f"applications/{ID}/documents/{j}/v002.pdf"] for j in SENT_ORDER]
    assert [a.content for a in email.attachments] == originals
    sent, failed = store.trail
    assert sent["action"] == "tembusan.sent" and "eseal" not in sent
    assert failed["action"] == "tembusan.eseal_gagal" and failed["jenis"] == list(SENT_ORDER)
    assert "tanpa segel" in failed["note"]
    tembusan(store, mailer, roster, seal)  # the step retried: nothing goes twice
    assert len(mailer.sent) == 1


def test_a_copy_is_noted_as_sent_only_with_its_trail_entry(roster: Roster) -> None:
    store, mailer = FirstWriteFails(lambda sort_key: sort_key.startswith("AUDIT#")), FakeMailer()
    store.items.update(application_store().items)
    with pytest.raises(RuntimeError):
        tembusan(store, mailer, roster)
    assert store.tembusan(ID) is None and not store.trail
    tembusan(store, mailer, roster)  # the step retried: the copy again, noted with its entry
    assert len(mailer.sent) == 2
    [entry] = store.trail
    assert entry["action"] == "tembusan.sent"
    assert (store.tembusan(ID) or {})["to"] == str(roster.dpmptsp_email)


SENT_ORDER = ("surat_pengantar_dpmptsp", "bap")


def test_the_tembusan_carries_the_sealed_bap_and_cover_letter(roster: Roster) -> None:
    store, mailer = application_store(), FakeMailer()

    assert tembusan(store, mailer, roster) == {"tembusan": str(roster.dpmptsp_email)}

    [email] = mailer.sent
    assert email.to == (str(roster.dpmptsp_email),)
    assert "PT Sawit Kapuas Lestari" in email.subject
    # Files named as a clerk files them, in the order the email lists them.
    assert [(a.filename, a.content_type, a.content) for a in email.attachments] == [
        (
            f"{name} - PT Sawit Kapuas Lestari.pdf",
            "application/pdf",
            FILES[f"applications/{ID}/documents/{jenis}/v002.pdf"],
        )
        for jenis, name in (
            ("surat_pengantar_dpmptsp", "Surat Pengantar Tembusan BAP"),
            ("bap", "BAP Verifikasi Teknis"),
        )
    ]
    bap_hash = hashlib.sha256(FILES[f"applications/{ID}/documents/bap/v002.pdf"]).hexdigest()
    [entry] = store.trail
    assert entry["action"] == "tembusan.sent" and entry["documents"]["bap"] == bap_hash


def test_the_tembusan_speaks_to_dpmptsp_not_to_us(roster: Roster) -> None:
    store, mailer = application_store(), FakeMailer()
    tembusan(store, mailer, roster)
    [email] = mailer.sent
    for body in (email.text, email.html):
        assert "Yth. Kepala Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu" in body
        assert "dengan kesimpulan" in body and "SIAP" in body
        assert "BAP Verifikasi Teknis - PT Sawit Kapuas Lestari.pdf" in body
        assert "kode QR" in body
        assert "(Nomor 500.2.2/2/BAP/Disperindag-Ind/2026)" in body
        assert "Dinas Perindustrian dan Perdagangan Provinsi Kalimantan Barat" in body
        # Nothing of ours: no code names of documents, no files as stored, no hashes.
        for internal in ("surat_pengantar_dpmptsp", "bap-v", "-v2.", "SHA-256", "sha256"):
            assert internal not in body, internal
        assert re.search(r"[0-9a-f]{64}", body) is None


@pytest.mark.parametrize(
    ("nama", "expected"),
    [
        ("PT Sawit Kapuas Lestari", "BAP Verifikasi Teknis - PT Sawit Kapuas Lestari.pdf"),
        ('CV "A/B": Ü*?', "BAP Verifikasi Teknis - CV A B Ü.pdf"),
        ("...", "BAP Verifikasi Teknis.pdf"),
    ],
)
def test_a_file_name_a_person_files_it_by(nama: str, expected: str) -> None:
    assert file_name("BAP Verifikasi Teknis", nama, "pdf") == expected


def test_the_tembusan_goes_once_when_the_step_is_retried(roster: Roster) -> None:
    store, mailer = application_store(), FakeMailer()
    tembusan(store, mailer, roster)
    tembusan(store, mailer, roster)
    assert len(mailer.sent) == 1 and store.actions() == ["tembusan.sent"]


def test_no_tembusan_of_an_unsealed_bap(roster: Roster) -> None:
    mailer = FakeMailer()
    with pytest.raises(DocumentNotSealed):
        tembusan(application_store(sealed=False), mailer, roster)
    assert mailer.sent == []


# --- the HTTP client ------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    # server_close() waits for every answer: a late one (after a client's timeout) that
    # outlived its test would print its BrokenPipe traceback during another test, and on
    # Python 3.11 that traceback's ast.parse races the other thread's (a SystemError).
    daemon_threads = False
    block_on_close = True
    delay = 0.0
    status = 201
    seen: list[tuple[str, list[tuple[str, str]], bytes]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.path, list(self.headers.items()), body))
        time.sleep(self.server.delay)
        self.send_response(self.server.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def url_of(server: _Server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_the_client_posts_json_with_the_header_names_as_given(server: _Server) -> None:
    answer = StdlibHttp(timeout=5).post(
        url_of(server, "/receiveLicenseStatus?x=1"), {"a": "é"}, {"user_key": "kunci"}
    )

    assert answer == Response(201, b"{}")
    [(path, headers, body)] = server.seen
    assert path == "/receiveLicenseStatus?x=1"
    assert ("user_key", "kunci") in headers  # not recased to User_key
    assert ("Content-Type", "application/json") in headers
    assert json.loads(body) == {"a": "é"}


def test_an_error_status_is_an_answer_not_an_exception(server: _Server) -> None:
    server.status = 500
    assert StdlibHttp(timeout=5).post(url_of(server, "/"), {}, {}).status == 500


def test_an_answer_slower_than_the_timeout_is_a_failed_call(server: _Server) -> None:
    server.delay = 1.0
    with pytest.raises(CallFailed, match="timed out"):
        StdlibHttp(timeout=0.2).post(url_of(server, "/"), {}, {})


def test_a_refused_connection_is_a_failed_call(server: _Server) -> None:
    url = url_of(server, "/")
    server.shutdown()
    server.server_close()
    with pytest.raises(CallFailed):
        StdlibHttp(timeout=1).post(url, {}, {})


def test_only_http_urls_are_called() -> None:
    with pytest.raises(ValueError, match="HTTP URL"):
        StdlibHttp().post("file:///etc/passwd", {}, {})


# --- retry settings -------------------------------------------------------------------------------


def test_the_delay_doubles_from_the_base_up_to_the_cap() -> None:
    production = RetrySettings.of({})
    assert [production.delay(n) for n in range(1, 6)] == [60, 120, 240, 480, 900]
    assert production.delay(20) == 900
    fast = RetrySettings.of({"IZIN_RETRY_BASE_SECONDS": "0.5", "IZIN_RETRY_MAX_SECONDS": "2"})
    assert [fast.delay(n) for n in range(1, 6)] == [1, 1, 2, 2, 2]


def test_empty_settings_take_the_defaults_and_bad_ones_fail() -> None:
    settings = RetrySettings.of({"IZIN_RETRY_BASE_SECONDS": "", "IZIN_CALL_TIMEOUT_SECONDS": "3"})
    assert (settings.base_seconds, settings.call_timeout_seconds) == (60, 3)
    with pytest.raises(ValidationError):
        RetrySettings.of({"IZIN_RETRY_BASE_SECONDS": "-1"})
