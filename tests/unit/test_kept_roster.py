"""The roster the functions that authorize nobody keep across invocations (wiring.kept_roster):
read once per container, and nothing written from it once it changed (DynamoDB calls, #9)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from izin import aws, wiring
from izin.documents import Jenis
from izin.memory_store import MemoryStore
from izin.roster import table_fields
from izin.store import ConditionFailed, InvocationStore

from tests.unit.test_documents import ID_IZIN, KABID, ROSTER, STEPS, application

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class Bucket:
    """S3 as the document function sees it: put_object, kept by key."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:
        self.bodies[Key] = Body


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Bucket:
    s3 = Bucket()
    monkeypatch.setattr(aws, "client", lambda service: s3)  # before a handler is loaded
    return s3


@pytest.fixture
def table(
    monkeypatch: pytest.MonkeyPatch, handler: Callable[[str], Handler]
) -> Iterator[MemoryStore]:
    """The sample application's table, holding the package's roster (version 1)."""
    monkeypatch.setenv("IZIN_LOCAL_ROSTER_SECRETS", "true")  # the package's test roster
    wiring.forget_kept_roster()
    store = MemoryStore.seeded(application(), STEPS)
    store.seed_roster(_fields(ROSTER.officers))
    monkeypatch.setattr(wiring, "store", lambda: store)
    yield store
    wiring.forget_kept_roster()


def _fields(officers: Any, **renamed: str) -> dict[str, Any]:
    listed = [{**table_fields(o), "nama": renamed.get(o.nip, o.nama)} for o in officers]
    return {"officers": listed, "dpmptsp_email": str(ROSTER.dpmptsp_email)}


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def test_the_roster_is_read_once_per_container(table: MemoryStore) -> None:
    first = wiring.kept_roster()
    assert wiring.kept_roster() is first and table.calls["get"] == 1
    assert first.at.version == 1
    assert wiring.kept_roster(fresh=True).at.version == 1 and table.calls["get"] == 2


def test_work_from_a_changed_roster_is_done_again_with_the_new_one(table: MemoryStore) -> None:
    """The first try's write is refused (the roster moved since it was kept): nothing of it
    is written, and the work is done again with the roster read afresh."""
    wiring.kept_roster()
    table.replace_roster(_fields(ROSTER.officers, **{KABID: "Nama Baru"}), version=1)
    tried: list[int | None] = []

    def work(kept: wiring.KeptRoster) -> str:
        tried.append(kept.at.version)
        view = InvocationStore(table, roster_at=kept.at)
        name = kept.roster.by_nip(KABID).nama
        with view.together() as batch:
            batch.append_audit(ID_IZIN, {"action": "named", "nama": name}, now=_now())
        return name

    assert wiring.with_kept_roster(work) == "Nama Baru"
    assert tried == [1, 2]
    assert [e["nama"] for e in table.audit(ID_IZIN) if e["action"] == "named"] == ["Nama Baru"]


def test_a_failure_of_the_work_s_own_is_not_done_again(table: MemoryStore) -> None:
    """Only a refused write is put down to the roster: another failure is raised as it is,
    without reading the roster again, even when the roster changed meanwhile."""
    wiring.kept_roster()
    table.replace_roster(_fields(ROSTER.officers), version=1)
    reads = table.calls["get"]
    tried: list[int | None] = []

    def work(kept: wiring.KeptRoster) -> None:
        tried.append(kept.at.version)
        raise RuntimeError("S3 is down")

    with pytest.raises(RuntimeError, match="S3 is down"):
        wiring.with_kept_roster(work)
    assert tried == [1] and table.calls["get"] == reads


def test_a_failure_with_the_roster_unchanged_is_not_done_again(table: MemoryStore) -> None:
    tried: list[int | None] = []

    def work(kept: wiring.KeptRoster) -> None:
        tried.append(kept.at.version)
        raise ConditionFailed("another writer won")

    with pytest.raises(ConditionFailed):
        wiring.with_kept_roster(work)
    assert tried == [1]


def test_a_letter_after_the_roster_changed_names_the_new_official(
    table: MemoryStore, bucket: Bucket, handler: Callable[[str], Handler]
) -> None:
    """The document function keeps the roster from its first letter; the Kepala Bidang's
    name changed since, the next letter he signs names him as the roster now does."""
    document = handler("document")
    document({"id_izin": ID_IZIN, "jenis": Jenis.SURAT_PENGANTAR_KABID, "action": "render"})
    reads = table.calls["get"]
    table.replace_roster(_fields(ROSTER.officers, **{KABID: "Nama Baru"}), version=1)

    ref = document({"id_izin": ID_IZIN, "jenis": Jenis.NOTA_DINAS, "action": "render"})

    assert table.calls["get"] == reads + 1  # read again once, when its write was refused
    [version] = table.document_versions(ID_IZIN, Jenis.NOTA_DINAS)
    assert version["document_id"] == ref["document_id"]
    assert "Nama Baru" in _words(bucket.bodies[ref["key"]].decode())
    # The number the refused try took is the letter's: none skipped.
    counter = table.items[(f"COUNTER#{Jenis.NOTA_DINAS}#{2026}", "COUNTER")]
    assert counter["value"] == 1 and "/1/" in ref["nomor"]


def _now() -> Any:
    from tests.unit.test_documents import NOW

    return NOW


def test_a_refused_write_is_raised_as_it_was_when_the_roster_cannot_be_read(
    table: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    wiring.kept_roster()

    def unreadable() -> None:
        raise RuntimeError("throttled")

    monkeypatch.setattr(table, "roster_record", unreadable)

    def work(kept: wiring.KeptRoster) -> None:
        try:
            raise ConditionFailed("ROSTER ROSTER: version")
        except ConditionFailed as lost:
            raise ValueError("the version was not written") from lost

    with pytest.raises(ValueError, match="not written") as raised:
        wiring.with_kept_roster(work)
    assert isinstance(raised.value.__cause__, ConditionFailed)  # the cause kept for the log
