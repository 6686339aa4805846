"""What the task page works with: the request, the page it answers, the adapters."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from izin.auth import Auth
from izin.callbacks import Decisions
from izin.events import InboundEvent
from izin.evidence import EvidenceBucket
from izin.mail import Mailer
from izin.models import HttpRequest
from izin.roster import Roster
from izin.store import Store
from izin.tasks.tte import Tte

# -- the page ------------------------------------------------------------------------------


@dataclass
class Page:
    """What a page answers: an HTTP status, an HTML page, headers and cookies to set."""

    status: int
    html: str
    headers: dict[str, str] = field(default_factory=dict)  # beside pages.PAGE_HEADERS
    cookies: list[str] = field(default_factory=list)


@dataclass
class Request:
    """An officer's HTTP request on a task link."""

    ticket: str
    form: Mapping[str, Sequence[str]] = field(default_factory=dict)
    source_ip: str = ""
    user_agent: str = ""
    origin: str = ""  # the Origin header a browser sends with a POST
    unreadable: int = 0  # 400 or 413 when the body was no form this page reads (form empty)
    query: Mapping[str, str] = field(default_factory=dict)  # S3's redirect: bucket, key, etag
    cookies: tuple[str, ...] = ()  # "name=value" each, as API Gateway passes them

    @property
    def typed_nip(self) -> str:
        """The NIP the form's field `nip` carries, as typed ("" if none)."""
        return (self.form.get("nip") or [""])[-1].strip()

    @classmethod
    def of(cls, http: HttpRequest) -> Request:
        """The request as the task page reads it: a POST's body becomes its form's fields."""
        form, unreadable = (
            read_form(http.body, is_base64=http.is_base64_encoded)
            if http.method == "POST"
            else ({}, 0)
        )
        return cls(
            ticket=http.path_parameters.get("ticket", ""),
            form=form,
            source_ip=http.request_context.http.source_ip,
            user_agent=http.request_context.http.user_agent,
            origin=http.headers.get("origin", ""),
            unreadable=unreadable,
            query=http.query,
            cookies=tuple(http.cookies),
        )


# The largest form a page sends: a handful of text fields of forms.MAX_TEXT characters each,
# percent-encoded (up to 9 bytes a character). Anything larger was not sent by the page.
MAX_FORM_BYTES = 1024 * 1024
MAX_FORM_FIELDS = 200


def read_form(body: str, *, is_base64: bool) -> tuple[dict[str, list[str]], int]:
    """A POSTed urlencoded body as its fields and 0, or ({}, 400 or 413) when it is none."""
    if len(body) > (MAX_FORM_BYTES * 4) // 3 + 4:  # base64 is 4 characters for 3 bytes
        return {}, 413
    try:
        raw = base64.b64decode(body, validate=True) if is_base64 else body.encode()
        fields = parse_qs(
            raw.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (binascii.Error, ValueError):  # not base64, not UTF-8 (even %-encoded), > 200 fields
        return {}, 400
    return fields, 0


@dataclass
class TaskContext:
    """What the task page needs beside the request."""

    store: Store
    roster: Roster
    callbacks: Decisions
    mailer: Mailer
    now: datetime
    auth: Auth  # the officers' codes and sessions (a decision needs one or the other)
    public_base_url: str = ""
    documents: Callable[[str], list[dict[str, Any]]] = lambda _id: []
    record_event: Callable[[InboundEvent], str] = lambda _event: "kept"
    evidence: EvidenceBucket | None = None  # None: the page takes no uploads
    tte: Tte | None = None  # BSrE's TTE at step 14; None: the Seal state seals alone
    # Reads what the page presumed unread (a session, the roster) before an act outside the
    # table; PresumptionRefused when it does not hold (izin.store.InvocationStore.presume).
    confirm_presumed: Callable[[], None] = lambda: None
