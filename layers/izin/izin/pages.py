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
    """The application's latest documents, in SOP order, each with a presigned link and
    its last change (`perubahan`: the versions compared, the fields changed), if any."""
    from izin.documents.versions import documents_with_changes

    latest = documents_with_changes(store, id_izin)
    return [
        {**latest[jenis], "judul": title, "url": presign(latest[jenis]["key"])}
        for jenis, title in TITLES.items()
        if jenis in latest
    ]


def document_hashes(store: Store, id_izin: str) -> dict[str, Any]:
    """The hash of each of the application's latest documents, in SOP order: what an
    officer's decision was taken on (its trail entry keeps them). No links: a decision
    posted shows none."""
    from izin.documents.versions import latest_documents

    latest = latest_documents(store, id_izin)
    return {jenis: latest[jenis].get("sha256") for jenis in TITLES if jenis in latest}


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
        sent = returned_to(int(entry.get("step") or 0), entry.get("decision"), data)
        if sent is not None:
            extra = f"dikembalikan kepada {sent}"
        return (
            decision
            + (f" ({str(extra).replace('_', ' ')})" if extra else "")
            + (f": {note}" if note else "")
        )
    if action == "document.unchanged":
        title = TITLES.get(str(entry.get("jenis")), str(entry.get("jenis")))
        return f"{title} tidak berubah; versi {entry.get('versi')} tetap berlaku"
    if action == "task.issued":
        reminder = f" (pengingat {entry['reminders']})" if entry.get("reminders") else ""
        behalf = f" sebagai Plh/Plt {entry['atas_nama']}" if entry.get("atas_nama") else ""
        return f"tugas dikirim ke {entry.get('assignee')}{behalf}{reminder}"
    if action in ("document.rendered", "document.sealed"):
        title = TITLES.get(str(entry.get("jenis")), str(entry.get("jenis")))
        verb = "ditandatangani" if action == "document.sealed" else "dibuat"
        if entry.get("tte") == "bsre":  # the Kepala Dinas's certified signature (#16)
            verb = "ditandatangani secara elektronik (BSrE)"
            if entry.get("tte_manual"):  # BSrE's API down: signed in its app, uploaded
                verb += " di aplikasi BSrE lalu diunggah"
        return f"{title} nomor {entry.get('nomor')} versi {entry.get('versi')} {verb}"
    return str(entry.get("note") or action)


def returned_to(number: int, decision: Any, answer: Mapping[str, Any]) -> str | None:
    """Whom a "no" at a check sent the file back to, in words: its role and step;
    None for any other answer."""
    branch = sop.branch_on(number)
    if branch is None or decision != sop.Decision.NO or not branch.returns:
        return None
    sent = branch.sent_to(answer.get(sop.KEMBALIKAN_KE))
    target = sent.step if sent is not None else branch.otherwise
    if not isinstance(target, int):
        return None
    back = sop.step(target)
    return f"{sop.ROLE_TITLES[back.actor]} (langkah {back.code})"


def _answer(number: int, data: Mapping[str, Any]) -> str:
    """An officer's stored answer to a step in words: the decision, where a "no" went."""
    decision = data.get("decision")
    sent = returned_to(number, decision, data)
    if sent is not None:
        return f"dikembalikan kepada {sent}"
    branch = sop.branch_on(number)
    if branch is not None and decision in (sop.Decision.YES, sop.Decision.NO):
        said = branch.said_yes if decision == sop.Decision.YES else branch.said_no
        if said:
            return said
    step = sop.step(number)
    labels = {"yes": step.yes_label, "no": step.no_label, "done": step.done_label}
    return labels.get(str(decision), str(decision or ""))


def summary(
    number: int, steps: Mapping[int, Mapping[str, Any]], documents: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The card at the top of a task page: what the decider needs first. The latest answer
    of another step (who, what, the note), the disposisi, the Kasi's report, the BAP's
    conclusion and the team's note, and each document's last change."""
    rows: list[dict[str, Any]] = []
    answered = [(n, d) for n, d in steps.items() if n != number and d.get("pada") and d.get("oleh")]
    if answered:
        n, data = max(answered, key=lambda pair: str(pair[1]["pada"]))
        actor = sop.ROLE_TITLES[sop.step(n).actor]
        rows.append(
            {
                "judul": f"Keputusan terakhir: langkah {n:02d} ({actor}, {data['oleh']})",
                "isi": _answer(n, data),
                "catatan": str(data.get("catatan") or ""),
                "perubahan": [],
            }
        )
    texts = (
        ("disposisi", "Disposisi Kepala Bidang kepada Kasi"),
        ("laporan", "Laporan Kasi"),
    )
    for name, title in texts:
        asked = sop.step_of_field(name).number
        if asked != number and (steps.get(asked) or {}).get(name):
            text = str(steps[asked][name])
            rows.append({"judul": title, "isi": text, "catatan": "", "perubahan": []})
    bap = steps.get(sop.step_of_field("kesimpulan").number) or {}
    if bap.get("kesimpulan") and number != sop.step_of_field("kesimpulan").number:
        kesimpulan = "SIAP" if bap["kesimpulan"] == "siap" else "BELUM SIAP"
        rows.append(
            {
                "judul": "Kesimpulan BAP (Tim Teknis)",
                "isi": kesimpulan,
                "catatan": str(bap.get("catatan") or ""),
                "perubahan": [],
            }
        )
    for document in documents:
        change = document.get("perubahan")
        if change:
            rows.append(
                {
                    "judul": f"Perubahan {document['judul']}: versi {change['dari']} ke "
                    f"versi {change['ke']}",
                    "isi": "",
                    "catatan": "",
                    "perubahan": change["perubahan"],
                }
            )
    return rows


def history(entries: Sequence[Mapping[str, Any]], shown: frozenset[str]) -> list[dict[str, Any]]:
    """The entries of the trail a task page shows, in words."""
    return [
        {
            "at": e["at"],
            "step": e.get("step") or "",
            # A Plh/Plt's act names on whose behalf it was done.
            "actor": e.get("actor", "") + (f" ({e['sebagai']})" if e.get("sebagai") else ""),
            "text": describe(e),
        }
        for e in entries
        if e.get("action") in shown
    ]
