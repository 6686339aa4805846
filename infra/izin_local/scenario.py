"""One application driven through the SOP as OSS, SIINAS and the officers would drive it.

The demo, the benchmark and the integration tests share this: events are posted to the
webhooks, signed; every officer's step is taken by following the email's link over HTTP.
A `Trail` follows the application's audit trail and reports each entry as it is written,
which is what `izin demo` prints, one line per step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from izin import sop
from izin.documents import STEP as DOCUMENT_STEP
from izin.pages import describe
from izin.roster import Roster
from izin.store import Store

from izin_local import samples
from izin_local.officer import Decided, Officer, wait_until
from izin_local.outbox import Outbox
from izin_local.webhook_client import envelope, post_event

FINISHED = ("SELESAI", "TERHENTI")


@dataclass(frozen=True)
class Scenario:
    """Which path through the SOP an application takes."""

    field_inspection: bool = True
    kepala_bidang_returns: int = 0
    kepala_dinas_returns: int = 0
    bap_returns: int = 0  # the Kepala Bidang returns the BAP's data to the Tim Teknis (11)
    kesimpulan: str = "siap"
    komitmen_first_tidak: bool = False
    siinas_first: bool = False
    efektif: bool | None = None  # OSS's verdict; None: efektif when the BAP says siap


@dataclass(frozen=True)
class Endpoints:
    """Where the system is, and what its people know."""

    http_url: str
    outbox: Outbox
    store: Store
    roster: Roster
    secrets: Mapping[str, str]


class EventRefused(RuntimeError):
    """A webhook did not accept an event the scenario posted."""


def post(endpoints: Endpoints, source: str, event_type: str, data: dict[str, Any]) -> None:
    """Post one event as OSS or SIINAS would; it must be accepted."""
    status, answer = post_event(
        endpoints.http_url, source, envelope(event_type, data), secret=endpoints.secrets[source]
    )
    if status != 202:
        raise EventRefused(f"{source} {event_type}: {status} {answer}")


def application(endpoints: Endpoints, id_izin: str) -> dict[str, Any]:
    """The application's record, or {} while it does not exist yet."""
    return endpoints.store.application(id_izin) or {}


def wait_for_step(endpoints: Endpoints, id_izin: str, step: int, timeout: float = 60.0) -> None:
    """Until the application waits at this step (or has finished)."""

    def arrived() -> bool:  # one read of the record a poll
        record = application(endpoints, id_izin)
        return record.get("current_step") == step or record.get("status") in FINISHED

    wait_until(
        arrived,
        timeout=timeout,
        what=f"{id_izin} at step {step}",
    )


def submit(endpoints: Endpoints, id_izin: str, *, nama: str | None = None) -> None:
    """OSS's application, then SIINAS's verification (komitmen YA): steps 1 to 3."""
    data = samples.permohonan(id_izin, **({"nama": nama} if nama else {}))
    post(endpoints, "oss", "permohonan.diajukan", data)
    wait_for_step(endpoints, id_izin, 2)
    post(endpoints, "siinas", "verifikasi.diajukan", samples.verifikasi(id_izin))


# The officers' decisions on the shortest path: no field inspection, no send-back.
SHORTEST_PATH = (
    (4, "done"),
    (5, "done"),
    (6, "done"),
    (7, "done"),
    (8, "no"),
    (11, "done"),
    (12, "done"),
    (13, "yes"),
    (14, "yes"),
)
# What an officer must type beyond the page's defaults (the findings start empty); looked
# up when typed, so a test can give the samples other text.
WRITTEN: dict[int, Callable[[], dict[str, str]]] = {
    10: lambda: samples.field_inspection(),
    11: lambda: samples.bap(),
}


BAP_RETURN_NOTE = "Perbaiki jumlah TKA pada BAP sesuai daftar hadir pekerja."
CORRECTED_TKA_L = 3  # samples.bap() says 2


SIGNED_PAGE = "bap-ditandatangani.pdf"


def signing(officer: Officer) -> tuple[dict[str, str | list[str]], dict[str, bytes]]:
    """Step 11's signature lines and the page signed on paper: with the default team (the
    first Tim Teknis member ketua, who decides, the others anggota), the anggota signed on
    paper."""
    anggota = [o.nip for o in officer.roster.holders(sop.Role.TIM_TEKNIS)[1:]]
    return samples.signatures(anggota), {SIGNED_PAGE: samples.signed_page()}


def decide_shortest_path(officer: Officer, *, first: int = 4, last: int = 14) -> None:
    """The officers decide steps `first` to `last` along the shortest path, each accepted."""
    for step, decision in SHORTEST_PATH:
        if first <= step <= last:
            written: dict[str, str | list[str]] = dict(WRITTEN[step]()) if step in WRITTEN else {}
            uploads: dict[str, bytes] = {}
            if step == 11:
                signed, uploads = signing(officer)
                written |= signed
            decided = officer.act(step, decision, fields=written or None, uploads=uploads)
            if not decided.taken:
                raise RuntimeError(f"step {step} {decision}: answered {decided.status}")


def drive(
    endpoints: Endpoints,
    id_izin: str,
    scenario: Scenario = Scenario(),
    *,
    on_decision: Callable[[Decided], None] = lambda _d: None,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Take one application through the SOP along the scenario; returns its final record."""
    officer = Officer(endpoints.outbox, id_izin, endpoints.roster)

    def act(step: int, decision: str, **fields: str | list[str]) -> None:
        act_uploading(step, decision, fields, {})

    def act_uploading(
        step: int, decision: str, fields: Mapping[str, str | list[str]], uploads: dict[str, bytes]
    ) -> None:
        decided = officer.act(step, decision, fields=fields, uploads=uploads, timeout=timeout)
        if not decided.taken:
            raise RuntimeError(f"step {step} {decision}: answered {decided.status}")
        on_decision(decided)

    verifikasi = [samples.verifikasi(id_izin, komitmen=False)] * scenario.komitmen_first_tidak
    verifikasi.append(samples.verifikasi(id_izin))
    if scenario.siinas_first:
        for data in verifikasi:
            post(endpoints, "siinas", "verifikasi.diajukan", data)
    post(endpoints, "oss", "permohonan.diajukan", samples.permohonan(id_izin))
    if not scenario.siinas_first:
        for data in verifikasi:
            wait_for_step(endpoints, id_izin, 2, timeout)
            post(endpoints, "siinas", "verifikasi.diajukan", data)

    act(4, "done")
    act(5, "done")
    act(6, "done")
    act(7, "done")
    act(8, "yes" if scenario.field_inspection else "no")
    if scenario.field_inspection:
        act(10, "done", **WRITTEN[10]())
    signed, pages = signing(officer)
    act_uploading(11, "done", {"kesimpulan": scenario.kesimpulan, **WRITTEN[11](), **signed}, pages)
    for round_ in range(scenario.bap_returns):
        act(12, "done")
        act(13, "no", catatan=BAP_RETURN_NOTE, kembalikan_ke="bap")
        act(11, "done", tka_l=str(CORRECTED_TKA_L + round_))  # the rest as the form keeps it
    for _ in range(scenario.kepala_bidang_returns):
        act(12, "done")
        act(13, "no", catatan="Lampirkan foto lokasi pabrik pada laporan.")
    for round_ in range(scenario.kepala_dinas_returns + 1):
        act(12, "done")
        act(13, "yes")
        last = round_ == scenario.kepala_dinas_returns
        act(
            14,
            "yes" if last else "no",
            catatan="" if last else "Perbaiki nomor Surat Tugas pada BAP.",
        )

    efektif = scenario.kesimpulan == "siap" if scenario.efektif is None else scenario.efektif
    return complete(endpoints, id_izin, efektif=efektif, timeout=timeout)


def complete(
    endpoints: Endpoints, id_izin: str, *, efektif: bool = True, timeout: float = 60.0
) -> dict[str, Any]:
    """Once the Kepala Dinas has signed: SIINAS's komitmen (18), OSS's verdict (19); the
    application's final record."""
    wait_for_step(endpoints, id_izin, 18, timeout)
    post(endpoints, "siinas", "komitmen.terpenuhi", samples.komitmen(id_izin))
    wait_for_step(endpoints, id_izin, 19, timeout)
    post(endpoints, "oss", "izin.status", samples.izin_status(id_izin, efektif=efektif))
    return wait_until(
        lambda: a if (a := application(endpoints, id_izin)).get("status") in FINISHED else None,
        timeout=timeout,
        what=f"{id_izin} finished",
    )


# -- the trail, as it happens --------------------------------------------------------------


SHOWN = frozenset(
    {
        "application.received",
        "event.applied",
        "task.decided",
        "document.rendered",
        "document.sealed",
        "step.recorded",
        "bap.uploaded",
        "tembusan.sent",
        "oss.status_sent",
        "sla.breached",
        "application.parked",
    }
)


class Trail:
    """Follows an application's audit trail in a thread, reporting each new entry once."""

    def __init__(
        self,
        store: Store,
        id_izin: str,
        report: Callable[[Mapping[str, Any]], None],
        *,
        shown: frozenset[str] = SHOWN,
    ) -> None:
        self.store, self.id_izin, self.report, self.shown = store, id_izin, report, shown
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trail", daemon=True)

    def __enter__(self) -> Trail:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()

    def flush(self) -> None:
        """Report what is new in the trail."""
        for entry in self.store.audit(self.id_izin):
            if entry["SK"] in self._seen:
                continue
            self._seen.add(entry["SK"])
            if entry.get("action") in self.shown:
                self.report(entry)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.flush()


def step_line(entry: Mapping[str, Any], elapsed: float) -> str:
    """`izin demo`'s line for an audit entry: elapsed, step, actor, what happened."""
    number = entry.get("step") or (
        14
        if entry.get("action") == "document.sealed"
        else {str(k): v for k, v in DOCUMENT_STEP.items()}.get(str(entry.get("jenis")))
    )
    step = sop.step(int(number)) if number else None
    code = step.code if step else "  "
    role = sop.ROLE_TITLES[step.actor] if step else ""
    actor = str(entry.get("actor", ""))
    return f"{elapsed:7.1f}s  {code}  {role:<13} {actor[:28]:<28} {describe(entry)}"
