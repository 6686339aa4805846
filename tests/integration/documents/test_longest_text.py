"""The longest text the field inspection's form takes, through the served runtime.

Issue 11: a `temuan` of some 1,500 characters stopped the Form Pemeriksaan Lapangan (fpdf2:
"row too high") and the application for good. Here the Tim Teknis writes MAX_TEXT
characters, several lines, words of 300 letters and the font's harder characters, in both
free-text fields of step 10; the SOP completes, and each PDF holds every character.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from izin.documents import latest_documents
from izin.forms import MAX_TEXT
from izin_local import samples
from izin_local.scenario import Scenario, drive
from izin_local.testing import System

ID_IZIN = "IP-PANJANG-001"
HARD = unicodedata.normalize("NFC", "ŒœßÆæ «»—–…€‰ ĀāŽž ΩωЖж ‘’“” e\u0301")


def longest(name: str) -> str:
    """MAX_TEXT characters of one field: numbered words, long words, hard characters, lines."""
    lines = [f"{name}{i:03d} {HARD} {'Жæ' * 150} kata biasa" for i in range(200)]
    return "\n".join(lines)[:MAX_TEXT].strip().ljust(MAX_TEXT, "ж")


TEMUAN, KONDISI = longest("temuan"), longest("kondisi")


@pytest.fixture(scope="module")
def finished(system: System) -> Iterator[tuple[System, dict[str, Any]]]:
    written = {**samples.field_inspection(), "temuan": TEMUAN, "kondisi_mesin": KONDISI}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(samples, "field_inspection", lambda: written)
        yield system, drive(system.endpoints, ID_IZIN, Scenario(field_inspection=True))


def pdf_text(system: System, item: dict[str, Any]) -> str:
    """The PDF's text without its white space (a line or page may break anywhere)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext missing: apt-get install -y poppler-utils")
    s3 = boto3.client("s3", endpoint_url=system.runtime.aws_endpoint)
    pdf = s3.get_object(Bucket=item["bucket"], Key=item["pdf_key"])["Body"].read()
    out = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return re.sub(r"\s+", "", out.stdout.decode("utf-8"))


def test_the_sop_completes_with_the_longest_field_inspection(
    finished: tuple[System, dict[str, Any]],
) -> None:
    system, record = finished
    assert record["status"] == "SELESAI"
    assert system.endpoints.store.step_data(ID_IZIN, 10)["temuan"] == TEMUAN


@pytest.mark.parametrize("jenis", ["form_pemeriksaan_lapangan", "bap"])
def test_the_documents_hold_it_whole(finished: tuple[System, dict[str, Any]], jenis: str) -> None:
    system, _ = finished
    text = pdf_text(system, latest_documents(system.endpoints.store, ID_IZIN)[jenis])
    for written in (TEMUAN, KONDISI):
        assert re.sub(r"\s+", "", written) in text
