"""What the task pages show beside the form: the documents with short-lived links, the history."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from izin import sop
from izin.store import Store

# Every page (task, verify): never cached (links in it expire), framed, indexed or scripted.
PAGE_HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "x-robots-tag": "noindex, nofollow",
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
}


def same_site(origin: str, public_base_url: str) -> bool:
    """Whether a POST's Origin is this site (a client sending none is judged otherwise)."""
    from urllib.parse import urlsplit

    if not origin or origin == "null" or not public_base_url:
        return True
    mine = urlsplit(public_base_url)
    try:
        theirs = urlsplit(origin)
    except ValueError:  # not a URL (an unclosed IPv6 bracket, say): no site of ours
        return False
    return (theirs.scheme, theirs.netloc) == (mine.scheme, mine.netloc)


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


DECISIONS = {"yes": "YA", "no": "TIDAK", "done": "selesai"}


def describe(entry: Mapping[str, Any]) -> str:
    """One audit entry in words, as the history and the demo say it."""
    action = entry.get("action", "")
    data = entry.get("data") or {}
    if action == "task.decided":
        decision = DECISIONS.get(str(entry.get("decision")), str(entry.get("decision")))
        branch = sop.branch_on(int(entry.get("step") or 0))
        if branch is not None and entry.get("kind", "langkah") == "langkah":
            said = {"YA": branch.said_yes, "TIDAK": branch.said_no}.get(decision)
            decision = said or decision
        extra = data.get("kesimpulan") or data.get("kelengkapan")
        note = data.get("catatan") or ""
        return (
            decision
            + (f" ({str(extra).replace('_', ' ')})" if extra else "")
            + (f": {note}" if note else "")
        )
    if action == "task.issued":
        reminder = f" (pengingat {entry['reminders']})" if entry.get("reminders") else ""
        return f"tugas dikirim ke {entry.get('assignee')}{reminder}"
    if action in ("document.rendered", "document.sealed"):
        title = TITLES.get(str(entry.get("jenis")), str(entry.get("jenis")))
        verb = "ditandatangani" if action == "document.sealed" else "dibuat"
        return f"{title} nomor {entry.get('nomor')} versi {entry.get('versi')} {verb}"
    return str(entry.get("note") or action)


def history(entries: Sequence[Mapping[str, Any]], shown: frozenset[str]) -> list[dict[str, Any]]:
    """The entries of the trail a task page shows, in words."""
    return [
        {
            "at": e["at"],
            "step": e.get("step") or "",
            "actor": e.get("actor", ""),
            "text": describe(e),
        }
        for e in entries
        if e.get("action") in shown
    ]
