"""What the task page works with: the request, the page it answers, the adapters."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from izin.callbacks import Callbacks
from izin.events import InboundEvent
from izin.mail import Mailer
from izin.roster import Roster
from izin.store import Store

# -- the page ------------------------------------------------------------------------------


@dataclass
class Page:
    """What the task page answers: an HTTP status and an HTML page."""

    status: int
    html: str


@dataclass
class Request:
    """An officer's HTTP request on a task link."""

    ticket: str
    form: Mapping[str, Sequence[str]] = field(default_factory=dict)
    source_ip: str = ""
    user_agent: str = ""
    origin: str = ""  # the Origin header a browser sends with a POST


@dataclass
class TaskContext:
    """What the task page needs beside the request."""

    store: Store
    roster: Roster
    callbacks: Callbacks
    mailer: Mailer
    now: datetime
    public_base_url: str = ""
    documents: Callable[[str], list[dict[str, Any]]] = lambda _id: []
    record_event: Callable[[InboundEvent], str] = lambda _event: "kept"
