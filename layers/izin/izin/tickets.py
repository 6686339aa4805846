"""The ticket behind an email link: its secret, its stored hash, its lifecycle.

A ticket is 256 random bits; the link carries it, the table keeps only its SHA-256, so
neither a leaked table nor a log line gives anyone a usable link.

An application's ticket is kept in the application's partition, so that its page reads
the ticket with the application in one Query: its link carries, after the secret, the
application's id (base64url: no character a link's ticket has not always had), and its
hash names the application, `{sha256}@{id_izin}` (izin.store). A ticket of no application
(an enrollment's), or one opened before, is the secret alone, kept under its hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from datetime import datetime
from typing import Any

from izin.store import ConditionFailed, Item, Store
from izin.values import is_id_izin


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


# The secret: token_urlsafe(32), 43 characters; an application's id follows it in the link.
_SECRET_CHARACTERS = 43


def ticket_hash(ticket: str) -> str:
    """The stored form of a link's ticket (izin.store finds the ticket by it)."""
    secret, id_izin = _parts(ticket)
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return f"{digest}@{id_izin}" if id_izin else digest


def _parts(ticket: str) -> tuple[str, str]:
    """The secret, and the id of the application whose ticket it is ("" when none)."""
    if len(ticket) <= _SECRET_CHARACTERS:
        return ticket, ""
    secret, named = ticket[:_SECRET_CHARACTERS], ticket[_SECRET_CHARACTERS:]
    try:
        id_izin = base64.urlsafe_b64decode(named + "=" * (-len(named) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ticket, ""  # names no application: the whole text, found nowhere
    if not is_id_izin(id_izin):
        return ticket, ""  # no application's id: no application's partition is read for it
    return secret, id_izin


# A ticket as a link carries it (token_urlsafe, then an id of at most 64 characters as
# base64url): any other text is no ticket, never looked up.
LINK_TICKET = re.compile(r"[A-Za-z0-9_-]{32,130}")


def link_ticket_hash(ticket: str) -> str:
    """The stored form of a link's ticket, or "" when the link's text is no ticket."""
    return ticket_hash(ticket) if LINK_TICKET.fullmatch(ticket) else ""


def open_ticket(store: Store, fields: dict[str, Any]) -> tuple[str, str]:
    """Store a new open ticket (in its application's partition when `fields` name one);
    returns (the ticket for the link, its hash)."""
    ticket = secrets.token_urlsafe(32)
    if fields.get("id_izin"):
        named = base64.urlsafe_b64encode(str(fields["id_izin"]).encode()).decode().rstrip("=")
        ticket += named
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
