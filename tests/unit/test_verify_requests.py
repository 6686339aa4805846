"""The verify page's door refuses a POST that is no form it reads with 4xx, never 500."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from izin import wiring
from izin.memory_store import MemoryStore
from izin.roster import load_roster
from izin.verify import MAX_FIELDS, FormError, parse_form
from izin_local.testing import ROSTER as ROSTER_FILE

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT_ID = "draftdraftdraftdraft01"
ID = "IP-VERIFY-0001"


@pytest.fixture
def verify(
    monkeypatch: pytest.MonkeyPatch, handler: Callable[[str], Callable[..., dict[str, Any]]]
) -> Callable[[str, bool], int]:
    """POST a body to the verify page of a draft BAP; the answer's status."""
    store = MemoryStore()
    store.create_application(ID, {"id_izin": ID, "data": {}, "created_at": "2026-12-01"})
    version = {
        "document_id": DOCUMENT_ID,
        "jenis": "bap",
        "judul": "Berita Acara Pemeriksaan",
        "nomor": "500.2.2.1/1/BAP/Disperindag-Ind/2026",
        "versi": 1,
        "key": f"applications/{ID}/documents/bap/v001.html",
        "sha256": "0" * 64,
        "created_at": "2026-12-02T03:00:00+00:00",
        "sealed": False,
    }
    store.put_document_version(ID, "bap", 1, version)
    store.put_document_pointer(DOCUMENT_ID, {**version, "id_izin": ID})
    monkeypatch.setattr(wiring, "store", lambda: store)
    monkeypatch.setattr(wiring, "roster", lambda: load_roster(ROSTER_FILE))
    page = handler("verify")

    def post(body: str, is_base64: bool) -> int:
        http = {"method": "POST", "path": f"/verify/{DOCUMENT_ID}", "sourceIp": "127.0.0.1"}
        return int(
            page(
                {
                    "requestContext": {"http": {**http, "userAgent": "pytest"}},
                    "pathParameters": {"document_id": DOCUMENT_ID},
                    "headers": {"content-type": "application/x-www-form-urlencoded"},
                    "body": body,
                    "isBase64Encoded": is_base64,
                }
            )["statusCode"]
        )

    return post


def test_more_fields_than_the_form_has_are_a_form_error() -> None:
    body = "&".join(f"f{i}=x" for i in range(MAX_FIELDS + 1)).encode()
    with pytest.raises(FormError):
        parse_form("application/x-www-form-urlencoded", body)


@pytest.mark.parametrize(
    ("body", "is_base64", "status"),
    [
        ("sha256=" + "0" * 64, False, 200),
        ("&".join(f"f{i}=x" for i in range(MAX_FIELDS + 1)), False, 400),
        ("not base64!", True, 400),
        ("sha256=%FF", False, 422),
        ("sha256=" + "0" * 64 + "&sha256=1", False, 200),  # the first value, as before
        ("x" * (6 * 1024 * 1024), False, 413),
    ],
    ids=["ok", "21-fields", "bad-base64", "bad-utf8", "repeated", "huge"],
)
def test_a_verify_post_is_answered_2xx_or_4xx(
    verify: Callable[[str, bool], int], body: str, is_base64: bool, status: int
) -> None:
    assert verify(body, is_base64) == status
