"""An officer as a person: reads the email, opens the link, fills the form, presses a button.

Used by `izin demo`, `izin bench` and the integration tests, so they all take the path
officers take: the outbox, GET /tasks/{ticket}, POST the form's own fields over HTTP.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TypeVar

from izin.roster import Roster

from izin_local.outbox import Outbox, OutboxMessage

T = TypeVar("T")


@dataclass
class TaskForm:
    """The form of a task page, as a browser would submit it."""

    step: int
    fields: dict[str, list[str]] = field(default_factory=dict)
    buttons: list[str] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form: TaskForm | None = None
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "data-sop-step" in a:
            self.form = TaskForm(step=int(a["data-sop-step"]))
        if self.form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                self.form.fields.setdefault(name, [])
                if "checked" in a:
                    self.form.fields[name].append(a.get("value", "on"))
            elif kind != "submit":
                self.form.fields[name] = [a.get("value", "")]
        elif tag == "select" and name:
            self._select = name
            self.form.fields[name] = []
        elif tag == "option" and self._select and "selected" in a:
            self.form.fields[self._select] = [a.get("value", "")]
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
        elif tag == "button" and name == "decision":
            self.form.buttons.append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "textarea" and self.form is not None and self._textarea:
            self.form.fields[self._textarea] = ["".join(self._text)]
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)


class _UploadParser(HTMLParser):
    """The page's upload form (izin.evidence): where it posts, and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("enctype") == "multipart/form-data":
            self.action, self._inside = a.get("action", ""), True
        elif tag == "input" and self._inside and a.get("type") == "hidden":
            self.fields[a.get("name", "")] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def upload_file(page: str, name: str, content: bytes) -> tuple[int, str]:
    """Upload a file through a task page's upload form, as a browser does: a multipart POST
    to the bucket, then S3's redirect to the page that records it, followed."""
    parser = _UploadParser()
    parser.feed(page)
    if not parser.action:
        raise RuntimeError("the page has no upload form")
    boundary = "izin" + uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in parser.fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(  # noqa: S310 - local URLs
        parser.action,
        data=b"".join(parts),
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def parse_task_page(html: str) -> TaskForm | None:
    """The task form of a page, or None when the page has none."""
    parser = _FormParser()
    parser.feed(html)
    return parser.form


def http_get(url: str) -> tuple[int, str]:
    """GET a page: its status and text."""
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - local URLs
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def http_post_form(url: str, fields: Mapping[str, Sequence[str]]) -> tuple[int, str]:
    """POST a form as a browser does (application/x-www-form-urlencoded)."""
    body = urllib.parse.urlencode([(k, v) for k, values in fields.items() for v in values])
    request = urllib.request.Request(  # noqa: S310 - local URLs
        url,
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "izin-demo"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def is_task_email(message: OutboxMessage, id_izin: str, step: int) -> bool:
    """Whether an email asks for this application's step."""
    return f"Langkah {step:02d} " in message.subject and f"ID Izin    : {id_izin}" in (
        message.text or ""
    )


@dataclass
class Decided:
    """What happened when an officer acted."""

    step: int
    decision: str
    status: int
    officer: str
    page: str


class Officer:
    """Acts on one application's task emails, as the addressee would."""

    def __init__(self, outbox: Outbox, id_izin: str, roster: Roster) -> None:
        self.outbox = outbox
        self.id_izin = id_izin
        self.roster = roster
        # email address → NIP: what each officer types
        self.nips = {str(o.email): o.nip for o in roster.officers}
        self.used: set[str] = set()

    def task_email(self, step: int, *, timeout: float = 60.0) -> OutboxMessage:
        """The newest unread email asking for this step."""
        message = self.outbox.wait_for(
            lambda m: m.name not in self.used and is_task_email(m, self.id_izin, step),
            timeout=timeout,
        )
        self.used.add(message.name)
        return message

    def act(
        self,
        step: int,
        decision: str,
        *,
        fields: Mapping[str, str | list[str]] | None = None,
        uploads: Mapping[str, bytes] | None = None,
        timeout: float = 60.0,
    ) -> Decided:
        """Open the step's email link, upload the files (name -> bytes) through the page's
        upload form, fill the form, press the decision's button."""
        message = self.task_email(step, timeout=timeout)
        link = next(link for link in message.links if "/tasks/" in link)
        status, html = http_get(link)
        for name, content in (uploads or {}).items():
            status, html = upload_file(html, name, content)
            if status != 200:
                raise RuntimeError(f"step {step}: uploading {name} answered {status}")
        form = parse_task_page(html)
        if status != 200 or form is None:
            raise RuntimeError(f"step {step}: the task page answered {status}")
        if form.step != step or decision not in form.buttons:
            raise RuntimeError(f"step {step}: the page offers {form.buttons} for step {form.step}")
        values = dict(form.fields)
        for name, value in (fields or {}).items():
            values[name] = [value] if isinstance(value, str) else list(value)
        values["nip"] = [self.nips[message.to[0]]]
        values["decision"] = [decision]
        status, page = http_post_form(link, values)
        return Decided(step, decision, status, message.to[0], page)


def wait_until(
    predicate: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.1
) -> T:
    """Poll `predicate()` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not after {timeout} s")
        time.sleep(every)
