"""A document's versions in the store: numbered, written once, pointed at for the verify
page, sealed at the approval; and the document function's work (`handle`)."""

from __future__ import annotations

import hashlib
import itertools
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, TypedDict, Unpack

from izin import sop
from izin.calendar import to_wib
from izin.delegation import plh_jabatan
from izin.documents.context import build_context, signatures_required, unsigned_lines
from izin.documents.model import (
    CONTENT_TYPE,
    JUDUL,
    PDF_CONTENT_TYPE,
    SEALED_AT_APPROVAL,
    Approval,
    Dinas,
    DocumentDataMissing,
    DocumentRequest,
    DocumentSealed,
    DocumentVersionConflict,
    Item,
    Jenis,
    PutObject,
    SignatureMissing,
    SignPdf,
)
from izin.documents.pdf import (
    render_html,
    render_pdf,
    verification_qr,
)
from izin.forms import field_text
from izin.models import DocumentRef
from izin.roster import Roster, RosterError
from izin.sop import Role
from izin.store import ConditionFailed, Store

# -- the store: versions, numbers, sealing -----------------------------------------------


def document_key(id_izin: str, jenis: str, versi: int, ext: str = "html") -> str:
    """Where a document version's file is kept in the bucket."""
    return f"applications/{id_izin}/documents/{jenis}/v{versi:03d}.{ext}"


def versions(store: Store, id_izin: str, jenis: str) -> list[Item]:
    """Every recorded version of one document, oldest first."""
    return sorted(store.document_versions(id_izin, jenis), key=lambda i: int(i["versi"]))


def latest_documents(store: Store, id_izin: str) -> dict[str, dict[str, Any]]:
    """Each document of the application by type: its latest version's item."""
    latest: dict[str, dict[str, Any]] = {}
    for item in store.document_versions(id_izin):
        current = latest.get(item["jenis"])
        if current is None or int(item["versi"]) > int(current["versi"]):
            latest[item["jenis"]] = item
    return latest


def _first_versions(store: Store, id_izin: str) -> dict[str, dict[str, Any]]:
    """Each document's first version (its number and date are what other documents cite)."""
    first: dict[str, dict[str, Any]] = {}
    for item in store.document_versions(id_izin):
        current = first.get(item["jenis"])
        if current is None or int(item["versi"]) < int(current["versi"]):
            first[item["jenis"]] = item
    return first


# -- what a version is made of, and what changed between two ----------------------------


def content_fields(jenis: str) -> tuple[tuple[int, sop.FormField], ...]:
    """The form fields a document is made of, with their steps (the SOP's Render.reads)."""
    renders = [f for s in sop.STEPS for f in s.flow if isinstance(f, sop.Render)]
    return next((f.fields() for f in renders if f.jenis == jenis), ())


def document_content(jenis: str, steps: Mapping[int, Item], roster: Roster) -> list[Item] | None:
    """The form values a version of the document is made of, field by field, as shown
    (step, field, label, nilai); None when the SOP names no steps for it."""
    fields = content_fields(jenis)
    if not fields:
        return None
    return [
        {
            "step": number,
            "field": f.name,
            "label": f.label,
            "nilai": field_text(f, (steps.get(number) or {}).get(f.name), roster),
        }
        for number, f in fields
    ]


def content_changes(before: list[Item] | None, after: list[Item] | None) -> list[Item]:
    """Field by field, what differs between two versions' contents: label, sebelum, sesudah."""
    old = {(int(i["step"]), i["field"]): i for i in before or []}
    changed = []
    for item in after or []:
        earlier = old.get((int(item["step"]), item["field"]), {})
        if str(earlier.get("nilai", "")) != str(item["nilai"]):
            changed.append(
                {
                    "step": int(item["step"]),
                    "label": item["label"],
                    "sebelum": str(earlier.get("nilai", "")),
                    "sesudah": str(item["nilai"]),
                }
            )
    return changed


def last_change(items: list[Item]) -> Item | None:
    """Of one document's versions (oldest first), the latest that changed its content: the
    versions compared and the fields changed; None while it has one content."""
    for earlier, later in reversed(list(itertools.pairwise(items))):
        changed = content_changes(earlier.get("isi"), later.get("isi"))
        if changed:
            return {"dari": int(earlier["versi"]), "ke": int(later["versi"]), "perubahan": changed}
    return None


def documents_with_changes(store: Store, id_izin: str) -> dict[str, dict[str, Any]]:
    """Each document's latest version, with `perubahan`: its last change (last_change)."""
    by_kind: dict[str, list[Item]] = {}
    for item in store.document_versions(id_izin):
        by_kind.setdefault(item["jenis"], []).append(item)
    shown = {}
    for jenis, items in by_kind.items():
        items.sort(key=lambda i: int(i["versi"]))
        shown[jenis] = {**items[-1], "perubahan": last_change(items)}
    return shown


@dataclass(frozen=True)
class _Sources:
    """What an application's documents are made of, read once per call."""

    application: Item
    steps: dict[int, Item]
    roster: Roster
    dinas: Dinas
    related: dict[str, dict[str, Any]]
    now: datetime

    def context(
        self, kind: Jenis, nomor: str, signature: Mapping[str, str] | None
    ) -> dict[str, Any]:
        return build_context(
            kind,
            application=self.application,
            steps=self.steps,
            roster=self.roster,
            dinas=self.dinas,
            nomor=nomor,
            now=self.now,
            related=self.related,
            signature=signature,
        )


def _sources(
    store: Store,
    id_izin: str,
    *,
    now: datetime,
    roster: Roster,
    dinas: Dinas,
) -> _Sources:
    application = store.application(id_izin)
    if not application:
        raise DocumentDataMissing(f"no application {id_izin}")
    steps = store.steps(id_izin)  # one query for every step's data, not one read per step
    return _Sources(
        application=application,
        steps={n: d for n, d in steps.items() if d},
        roster=roster,
        dinas=dinas,
        related=_first_versions(store, id_izin),
        now=now,
    )


def render_document(
    store: Store,
    jenis: str,
    id_izin: str,
    *,
    now: datetime,
    bucket: str,
    put_object: PutObject,
    roster: Roster,
    dinas: Dinas,
) -> DocumentRef:
    """Render the next version of one document, store it, record it and audit it.

    The first version takes the next number of the document type's yearly counter; later
    versions (after a send-back) keep it, and are made only when the form values the
    document is made of changed (else the latest version stands, and the trail says so).
    A sealed document is not rendered again.
    """
    kind = Jenis(jenis)
    sources = _sources(store, id_izin, now=now, roster=roster, dinas=dinas)
    earlier = versions(store, id_izin, kind)
    if any(v.get("sealed") for v in earlier):
        raise DocumentSealed(f"{kind} of {id_izin} is sealed")
    content = document_content(kind, sources.steps, sources.roster)
    if earlier and content is not None and earlier[-1].get("isi") == content:
        last = earlier[-1]
        entry: Item = {
            "action": "document.unchanged",
            "actor": "sistem",
            "jenis": kind.value,
            "nomor": str(last["nomor"]),
            "versi": int(last["versi"]),
        }
        with store.together() as batch:  # as every write of a render (InvocationStore)
            batch.append_audit(id_izin, entry, now=now)
        return _ref(last)
    if earlier:
        nomor = str(earlier[0]["nomor"])
    else:
        year = to_wib(now).year
        nomor = sources.dinas.nomor(kind, store.next_number(kind.value, year), year)
    return _publish(
        store,
        sources,
        kind,
        id_izin,
        versi=int(earlier[-1]["versi"]) + 1 if earlier else 1,
        nomor=nomor,
        bucket=bucket,
        put_object=put_object,
        isi=content,
    )


class SealOrder(TypedDict):
    """What sealing at the approval renders from, for `seal_documents` and `draft_seal`
    alike: the moment, the Kepala Dinas's approval (step 14's data), the verify page's base
    URL, and the roster and the Dinas in force."""

    now: datetime
    approval: Mapping[str, Any]
    public_base_url: str
    roster: Roster
    dinas: Dinas


def seal_documents(
    store: Store,
    id_izin: str,
    *,
    bucket: str,
    put_object: PutObject,
    sign: SignPdf | None = None,
    **order: Unpack[SealOrder],
) -> list[DocumentRef]:
    """Seal the final BAP and Surat Pengantar with the Kepala Dinas's approval (step 14).

    Each gets a new version with the electronic signature block, the approval's id, the
    hash of the version approved and its verification link; sealed versions are written
    once and never changed. Run again with the same approval, it returns what it sealed:
    so the Seal state accepts the versions the task page sealed and signed through BSrE.
    With `sign` (BSrE's TTE), every PDF is signed before any version is recorded: a
    refused signature records nothing. SignatureMissing, and nothing sealed, while a line
    of the BAP to be signed is blank.
    """
    done, pending = _pending_seal(store, id_izin, order)
    if sign is not None:
        pending = [v.signed(sign(v.pdf)) for v in pending]
    for version in pending:
        done[version.kind] = _record(store, version, bucket=bucket, put_object=put_object)
    return [done[kind] for kind in SEALED_AT_APPROVAL]


def draft_seal(store: Store, id_izin: str, **order: Unpack[SealOrder]) -> list[SealDraft]:
    """The sealed versions `seal_documents` would record for this approval, rendered and not
    recorded: the PDFs the Kepala Dinas signs by hand in the BSrE app when BSrE's API is
    down (izin.tasks.tte_manual). Kept as they are, then `record_signed` records them with
    the PDFs he signed. DocumentSealed when a document is sealed already."""
    done, pending = _pending_seal(store, id_izin, order)
    if done:
        raise DocumentSealed(f"{', '.join(done)} of {id_izin} sealed already")
    return [SealDraft.of(v) for v in pending]


def record_signed(
    store: Store,
    drafts: list[tuple[SealDraft, bytes, bytes]],
    *,
    bucket: str,
    put_object: PutObject,
    tte: str,
    manual: bool,
) -> list[DocumentRef]:
    """Record drafts (each with its HTML and its signed PDF) as the sealed versions, marked
    as signed through `tte` (and by hand, with `manual`)."""
    return [
        _record(
            store,
            replace(draft.version(body, signed), tte=tte, tte_manual=manual),
            bucket=bucket,
            put_object=put_object,
        )
        for draft, body, signed in drafts
    ]


def _pending_seal(
    store: Store, id_izin: str, order: SealOrder
) -> tuple[dict[Jenis, DocumentRef], list[_Version]]:
    """What this approval sealed already, and the versions it still has to seal, rendered."""
    approval = order["approval"]
    sources = _sources(
        store, id_izin, now=order["now"], roster=order["roster"], dinas=order["dinas"]
    )
    if signatures_required():
        blank = unsigned_lines(sources.steps, sources.roster)
        if blank:
            raise SignatureMissing(f"BAP of {id_izin} not yet signed by: {', '.join(blank)}")
    approved = Approval.model_validate(approval)
    approval_id = approved.id_for(id_izin)
    try:
        jabatan = sources.roster.by_nip(approved.nip).jabatan
    except RosterError:
        jabatan = sources.roster.first(Role.KEPALA_DINAS).jabatan
    behalf = approval.get("plh_untuk") or {}
    if behalf.get("jabatan"):  # approved by a Plh/Plt: "Plh. Kepala Dinas …" (izin.delegation)
        jabatan = plh_jabatan(str(behalf.get("jenis") or "Plh"), str(behalf["jabatan"]))
    done: dict[Jenis, DocumentRef] = {}
    pending: list[_Version] = []
    for kind in SEALED_AT_APPROVAL:
        earlier = versions(store, id_izin, kind)
        if not earlier:
            raise DocumentDataMissing(f"{kind} of {id_izin} was never rendered")
        last = earlier[-1]
        if last.get("sealed"):
            if last.get("approval_id") != approval_id:
                raise DocumentSealed(f"{kind} of {id_izin} was sealed by {last['approval_id']}")
            done[kind] = _ref(last)
            continue
        seal = {
            "nama": approved.oleh,
            "nip": approved.nip,
            "jabatan": jabatan,
            "pada": approved.pada.isoformat(),
            "approval_id": approval_id,
            "sha256_disetujui": str(last["sha256"]),
            "base_url": order["public_base_url"].rstrip("/"),
        }
        pending.append(
            _render(
                sources,
                kind,
                id_izin,
                versi=int(last["versi"]) + 1,
                nomor=str(earlier[0]["nomor"]),
                seal=seal,
                isi=last.get("isi"),
            )
        )
    return done, pending


def _ref(item: Mapping[str, Any]) -> DocumentRef:
    return DocumentRef(
        document_id=item["document_id"],
        jenis=item["jenis"],
        nomor=str(item["nomor"]),
        versi=int(item["versi"]),
        key=item["key"],
        sha256=item["sha256"],
    )


@dataclass(frozen=True)
class _Version:
    """A version rendered and not yet stored: its files, and the record they will have."""

    kind: Jenis
    id_izin: str
    versi: int
    nomor: str
    document_id: str
    body: bytes
    pdf: bytes
    now: datetime
    seal: Mapping[str, str] | None
    isi: list[Item] | None
    tte: str = ""  # "bsre": the PDF carries the Kepala Dinas's certified signature
    tte_manual: bool = False  # signed in the BSrE app and uploaded by hand (BSrE's API down)

    def signed(self, pdf: bytes) -> _Version:
        """The same version, its PDF as BSrE signed it."""
        return replace(self, pdf=pdf, tte="bsre")


@dataclass(frozen=True)
class SealDraft:
    """A sealed version rendered and not recorded, as plain data (its files kept apart):
    what the Kepala Dinas signs by hand, recorded later exactly as it was rendered."""

    kind: Jenis
    id_izin: str
    versi: int
    nomor: str
    document_id: str
    now: datetime
    seal: dict[str, str]
    isi: list[Item] | None
    body: bytes
    pdf: bytes

    @classmethod
    def of(cls, version: _Version) -> SealDraft:
        return cls(**_shared_fields(version, cls) | {"seal": dict(version.seal or {})})

    def record(self) -> dict[str, Any]:
        """Everything but the files, for a store item."""
        return {
            "jenis": self.kind.value,
            "id_izin": self.id_izin,
            "versi": self.versi,
            "nomor": self.nomor,
            "document_id": self.document_id,
            "now": self.now.isoformat(),
            "seal": self.seal,
            "isi": self.isi,
        }

    @classmethod
    def from_record(cls, item: Mapping[str, Any], body: bytes, pdf: bytes) -> SealDraft:
        return cls(
            kind=Jenis(str(item["jenis"])),
            id_izin=str(item["id_izin"]),
            versi=int(item["versi"]),
            nomor=str(item["nomor"]),
            document_id=str(item["document_id"]),
            now=datetime.fromisoformat(str(item["now"])),
            seal={str(k): str(v) for k, v in dict(item["seal"]).items()},
            isi=item.get("isi"),
            body=body,
            pdf=pdf,
        )

    def version(self, body: bytes, pdf: bytes) -> _Version:
        return _Version(**_shared_fields(self, _Version) | {"body": body, "pdf": pdf})


def _shared_fields(source: object, target: type) -> dict[str, Any]:
    """The values of `source` for the fields `target` has too: a draft and a version carry
    the same record, so a field added to both crosses between them by itself."""
    return {f.name: getattr(source, f.name) for f in fields(target) if hasattr(source, f.name)}


def _publish(
    store: Store,
    sources: _Sources,
    kind: Jenis,
    id_izin: str,
    *,
    versi: int,
    nomor: str,
    bucket: str,
    put_object: PutObject,
    seal: Mapping[str, str] | None = None,
    isi: list[Item] | None = None,
) -> DocumentRef:
    """Render, store the file, then record the version (once), its pointer and the audit."""
    version = _render(sources, kind, id_izin, versi=versi, nomor=nomor, seal=seal, isi=isi)
    return _record(store, version, bucket=bucket, put_object=put_object)


def _render(
    sources: _Sources,
    kind: Jenis,
    id_izin: str,
    *,
    versi: int,
    nomor: str,
    seal: Mapping[str, str] | None,
    isi: list[Item] | None,
) -> _Version:
    """A version's HTML and PDF, with its seal (and the QR to its own verify page)."""
    document_id = secrets.token_urlsafe(16)
    signature: dict[str, str] | None = None
    if seal:
        url = f"{seal['base_url']}/verify/{document_id}"
        signature = {k: v for k, v in seal.items() if k != "base_url"}
        signature |= {"url": url, "qr": verification_qr(url)}
    context = sources.context(kind, nomor, signature)
    return _Version(
        kind=kind,
        id_izin=id_izin,
        versi=versi,
        nomor=nomor,
        document_id=document_id,
        body=render_html(kind, context).encode("utf-8"),
        pdf=render_pdf(kind, context, now=sources.now),
        now=sources.now,
        seal=seal,
        isi=isi,
    )


def _record(store: Store, version: _Version, *, bucket: str, put_object: PutObject) -> DocumentRef:
    """Store a version's files, then record it (once), its pointer and the audit."""
    kind, id_izin, versi, nomor = version.kind, version.id_izin, version.versi, version.nomor
    body, pdf, now, seal = version.body, version.pdf, version.now, version.seal
    document_id = version.document_id
    sha256 = hashlib.sha256(body).hexdigest()
    pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    key = document_key(id_izin, kind, versi)
    pdf_key = document_key(id_izin, kind, versi, "pdf")
    # The files first: a retry after a crash before the record rewrites the same keys and
    # then records them, so no recorded version ever points at a missing file.
    put_object(key, body, CONTENT_TYPE)
    put_object(pdf_key, pdf, PDF_CONTENT_TYPE)
    item: Item = {
        "document_id": document_id,
        "jenis": kind.value,
        "judul": JUDUL[kind],
        "nomor": nomor,
        "versi": versi,
        "key": key,
        "bucket": bucket,
        "sha256": sha256,
        "content_type": CONTENT_TYPE,
        "size": len(body),
        "pdf_key": pdf_key,
        "pdf_sha256": pdf_sha256,
        "pdf_size": len(pdf),
        "created_at": now.isoformat(),
        "tanggal": (seal["pada"] if seal else now.isoformat()),
        "sealed": bool(seal),
    }
    if version.isi is not None:
        item["isi"] = version.isi  # what it is made of: whether a later render changes it, and how
    if seal:
        item |= {
            "approval_id": seal["approval_id"],
            "signed_by": seal["nama"],
            "signed_nip": seal["nip"],
            "signed_jabatan": seal["jabatan"],
            "signed_at": seal["pada"],
            "sha256_disetujui": seal["sha256_disetujui"],
            # The version whose HTML that hash is: the naskah the Kepala Dinas approved.
            "versi_disetujui": versi - 1,
        }
    if version.tte:
        item["tte"] = version.tte  # the PDF is BSrE's: its signature is the Kepala Dinas's own
    if version.tte_manual:
        item["tte_manual"] = True  # signed in the BSrE app, uploaded on the task page
    pointer = {
        k: item[k]
        for k in (
            "jenis",
            "judul",
            "nomor",
            "versi",
            "key",
            "bucket",
            "sha256",
            "pdf_key",
            "pdf_sha256",
        )
    }
    pointer |= {"id_izin": id_izin, "sealed": bool(seal), "created_at": item["created_at"]}
    if version.tte:
        pointer["tte"] = version.tte
    entry: Item = {
        "action": "document.sealed" if seal else "document.rendered",
        "actor": "sistem",
        "jenis": kind.value,
        "nomor": nomor,
        "versi": versi,
        "sha256": sha256,
        "key": key,
        "pdf_sha256": pdf_sha256,
        "pdf_key": pdf_key,
        "document_id": document_id,
    }
    if seal:
        entry["approval_id"] = seal["approval_id"]
    if version.tte:
        entry["tte"] = version.tte
    if version.tte_manual:
        entry["tte_manual"] = True
    # The version (once), its pointer (its id once) and the trail's entry: all, or none.
    try:
        with store.together() as batch:
            batch.put_document_version(id_izin, kind.value, versi, item)
            batch.put_document_pointer(document_id, pointer)
            batch.append_audit(id_izin, entry, now=now)
    except ConditionFailed as lost:
        raise DocumentVersionConflict(
            f"{kind} v{versi:03d} of {id_izin}, or the id {document_id}, already recorded"
        ) from lost
    return _ref(item)


def handle(
    request: DocumentRequest,
    store: Store,
    *,
    now: datetime,
    bucket: str,
    put_object: PutObject,
    public_base_url: str,
    roster: Roster,
    dinas: Dinas,
) -> dict[str, Any]:
    """The document function's work: render one document, or seal at the approval, with
    the roster and the Dinas in force."""
    if request.action == "seal":
        approval = store.step_data(request.id_izin, sop.step_with(sop.Seal).number)
        refs = seal_documents(
            store,
            request.id_izin,
            now=now,
            bucket=bucket,
            put_object=put_object,
            approval=approval,
            public_base_url=public_base_url,
            roster=roster,
            dinas=dinas,
        )
        return {"sealed": [r.model_dump(mode="json") for r in refs]}
    ref = render_document(
        store,
        str(request.jenis),
        request.id_izin,
        now=now,
        bucket=bucket,
        put_object=put_object,
        roster=roster,
        dinas=dinas,
    )
    return ref.model_dump(mode="json")
