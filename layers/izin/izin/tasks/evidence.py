"""Evidence on a task page: the upload form that posts to S3 and the files recorded so far
(the page S3 redirects to after an upload is izin.tasks.page.record_upload)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from izin import evidence
from izin.sop import Step
from izin.tasks.context import TaskContext
from izin.tasks.tte_manual import offered
from izin.tickets import Kind, Status

# The kinds of task whose page takes files (a reassignment or a repair takes none).
TAKES_FILES = frozenset({Kind.STEP, Kind.UPLOAD, Kind.RECORD})


def evidence_section(
    ticket: Mapping[str, Any], form: Step, ctx: TaskContext, ticket_secret: str
) -> dict[str, Any] | None:
    """What the page shows of evidence: the application's files so far (every step's, so the
    later readers see the field photos), and the upload form where the step takes files;
    None when there is neither."""
    if ctx.evidence is None:
        return None
    files = listed(ctx, ticket["id_izin"])
    by_hand = ctx.tte is not None and bool(offered(ticket))  # step 14's PDFs signed in BSrE's app
    takes = (
        (bool(form.evidence) or by_hand)
        and ticket.get("kind", Kind.STEP) in TAKES_FILES
        and ticket.get("status") == Status.OPEN
    )
    if not takes and not files:
        return None
    upload = None
    if takes:
        redirect = f"{ctx.public_base_url.rstrip('/')}/tasks/{ticket_secret}/lampiran"
        upload = evidence.upload_form(
            ctx.evidence, ticket["id_izin"], int(ticket["step"]), redirect
        )
    label = form.evidence or ("PDF yang ditandatangani di aplikasi BSrE" if by_hand else "")
    return {"label": label, "form": upload, "files": files}


def listed(ctx: TaskContext, id_izin: str, step: int | None = None) -> list[dict[str, Any]]:
    """The uploads (of one step, if given) as the page lists them: name, step, size, who,
    when, a short-lived link."""
    bucket = ctx.evidence
    return [
        {
            **u,
            "langkah": f"{int(u['step']):02d}",
            "jenis": evidence.TYPE_NAMES.get(str(u["content_type"]), ""),
            "besar": evidence.size_text(int(u["ukuran"])),
            "url": bucket.link(str(u["key"]), str(u["content_type"])) if bucket else "",
        }
        for u in evidence.uploads(ctx.store, id_izin, step)
    ]


def upload_headers(section: Mapping[str, Any] | None) -> dict[str, str]:
    """The page's CSP, letting its upload form post to the bucket (and nowhere else new)."""
    from izin.pages import PAGE_HEADERS

    if not section or section["form"] is None:
        return {}
    parts = urlsplit(section["form"].url)
    origin = f"{parts.scheme}://{parts.netloc}"
    csp = PAGE_HEADERS["content-security-policy"].replace(
        "form-action 'self'", f"form-action 'self' {origin}"
    )
    return {"content-security-policy": csp}
