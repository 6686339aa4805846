"""What the task pages show beside the form: the application's documents, with short-lived links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from izin.store import Store

TITLES = {
    "surat_pengantar_kabid": "Surat Pengantar kepada Kepala Bidang",
    "nota_dinas": "Nota Dinas",
    "surat_tugas": "Surat Tugas",
    "form_pemeriksaan_lapangan": "Form Pemeriksaan Lapangan",
    "bap": "Berita Acara Pemeriksaan (BAP)",
    "surat_pengantar_dpmptsp": "Surat Pengantar Tembusan BAP ke DPMPTSP Kalbar",
}


def task_documents(
    store: Store, id_izin: str, presign: Callable[[str], str]
) -> list[dict[str, Any]]:
    """The application's latest documents, in SOP order, each with a presigned link."""
    from izin.documents import latest_documents

    latest = latest_documents(store, id_izin)
    return [
        {**latest[jenis], "judul": title, "url": presign(latest[jenis]["key"])}
        for jenis, title in TITLES.items()
        if jenis in latest
    ]
