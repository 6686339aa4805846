"""The ticket behind an email link: its secret, its stored hash, its lifecycle.

A ticket is 256 random bits; the link carries it, the table keeps only its SHA-256, so
neither a leaked table nor a log line gives anyone a usable link.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Any

from izin.store import ConditionFailed, Item, Store


class Status:
    """A ticket's lifecycle: open until decided, superseded, expired or locked."""

    OPEN = "open"
    DECIDED = "decided"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    LOCKED = "locked"


class Kind:
    """What a ticket asks for."""

    STEP = "langkah"  # an officer's step of the SOP
    UPLOAD = "unggah_siinas"  # step 17 by hand: SIINAS could not be reached
    RECORD = "catat"  # an OSS/SIINAS event recorded by an officer
    REASSIGN = "alihkan"  # move an open task to another officer of the same role
    REPAIR = "perbaiki"  # correct a parked (TERHENTI) application's stored data of one step
    ENROLL = "daftar_kode"  # an officer enrolls an authenticator app (izin.enrollment)


def ticket_hash(ticket: str) -> str:
    """The stored form of a ticket."""
    return hashlib.sha256(ticket.encode()).hexdigest()


# A ticket as a link carries it (token_urlsafe): any other text is no ticket, never looked up.
LINK_TICKET = re.compile(r"[A-Za-z0-9_-]{32,64}")


def link_ticket_hash(ticket: str) -> str:
    """The stored form of a link's ticket, or "" when the link's text is no ticket."""
    return ticket_hash(ticket) if LINK_TICKET.fullmatch(ticket) else ""


def open_ticket(store: Store, fields: dict[str, Any]) -> tuple[str, str]:
    """Store a new open ticket; returns (the secret for the link, its hash)."""
    ticket = secrets.token_urlsafe(32)
    digest = ticket_hash(ticket)
    store.put_ticket(
        digest,
        {"status": Status.OPEN, "wrong_nips": 0, "csrf": secrets.token_urlsafe(24), **fields},
    )
    return ticket, digest


def count_wrong_answer(store: Store, digest: str, *, limit: int, now: datetime) -> Item | None:
    """Count one wrong NIP (or code) on an open ticket; the `limit`-th locks it in that write.

    Returns the ticket as written (its status LOCKED when this answer locked it), or None
    when it was no longer open. Each write is conditional on the count it changes, so no
    number of concurrent answers counts past the limit or leaves the ticket open at it.
    """
    try:
        return store.update_ticket(
            digest,
            {},
            add={"wrong_nips": 1},
            expect={"status": Status.OPEN},
            below={"wrong_nips": limit - 1},
        )
    except ConditionFailed:
        pass  # the limit is reached with this answer, or the ticket is no longer open
    try:
        return store.update_ticket(
            digest,
            {"status": Status.LOCKED, "locked_at": now.isoformat()},
            add={"wrong_nips": 1},
            expect={"status": Status.OPEN},
            at_least={"wrong_nips": limit - 1},
        )
    except ConditionFailed:
        return None


def supersede(
    store: Store,
    digest: str | None,
    *,
    now: datetime,
    by: str = "",
    from_status: tuple[str, ...] = (Status.OPEN,),
) -> bool:
    """A ticket stops working (its link answers 410); False if it was in none of `from_status`."""
    if not digest:
        return False
    for status in from_status:
        try:
            store.update_ticket(
                digest,
                {
                    "status": Status.SUPERSEDED,
                    "superseded_at": now.isoformat(),
                    "superseded_by": by,
                },
                expect={"status": status},
            )
        except ConditionFailed:
            continue
        return True
    return False
