"""The SES outbox: every email sent through moto's SES is also one .eml file on disk.

Officers act through links that arrive by email, so locally the mail must be readable:
as files (`{state_dir}/outbox/*.eml`, named so that sorting by name is sending order), on
`GET /_local/outbox`, and through `Outbox` from Python (tests, the demo).

Where mail is captured: a simple send (SES v1 `SendEmail`, SES v2 `SendEmail` with Simple
content) at moto's response layer, because moto's backend keeps only one body (the HTML
when both are given) and the outbox keeps both parts as sent; a raw send (v1
`SendRawEmail`, v2 `SendEmail` with Raw content, which moto routes to the same backend
method) at the backend, where the whole MIME text is. Templated sends are not captured.

Senders: moto refuses an unverified sender, as SES in its sandbox does. The runtime
verifies the addresses written in the functions' environment (MAIL_FROM and the like),
as a deployment verifies its own identities; any other sender is refused, as on AWS.
"""

from __future__ import annotations

import email
import email.policy
import functools
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.charset import QP, Charset
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.parser import HeaderParser
from email.utils import format_datetime, getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Final

_MESSAGE_ID_DOMAIN: Final = "email.amazonses.com"
_FILE_NAME: Final = re.compile(r"^[0-9TZ.-]+-[0-9a-f]{8}\.eml$")
_URL_IN_TEXT: Final = re.compile(r"https?://[^\s<>\"']+")


# --- writing ---------------------------------------------------------------------------


# The outboxes this process writes, each with what was written (its writer, a count): a
# reader in this process lists such a folder again only once the count moved; one written
# by another process (`izin local serve` read by `izin outbox`) it lists at every read.
_WRITTEN: dict[Path, tuple[int, int]] = {}
_WRITTEN_LOCK = threading.Lock()
_WRITERS = itertools.count(1)


def _written(directory: Path) -> tuple[int, int] | None:
    with _WRITTEN_LOCK:
        return _WRITTEN.get(directory.resolve())


class OutboxWriter:
    """Writes messages as .eml files whose names sort in sending order."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._last = datetime.min.replace(tzinfo=UTC)
        self._key = directory.resolve()
        with _WRITTEN_LOCK:
            _WRITTEN[self._key] = (next(_WRITERS), 0)

    def close(self) -> None:
        """No longer written by this process: its readers list the folder at every read."""
        with _WRITTEN_LOCK:
            _WRITTEN.pop(self._key, None)

    def write(self, message: Message | bytes) -> Path:
        with self._lock:
            # Two sends within one microsecond still get increasing names.
            now = max(datetime.now(UTC), self._last + timedelta(microseconds=1))
            self._last = now
            name = f"{now:%Y%m%dT%H%M%S.%f}Z-{uuid.uuid4().hex[:8]}.eml"
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / name
            # Written aside, then renamed: a reader never sees half an email.
            partial = self.directory / f".{name}.partial"
            partial.write_bytes(message if isinstance(message, bytes) else message.as_bytes())
            partial.rename(path)
            with _WRITTEN_LOCK:
                writer, count = _WRITTEN.get(self._key, (0, 0))
                _WRITTEN[self._key] = (writer, count + 1)
            return path


def simple_message(
    *,
    message_id: str,
    source: str,
    destination: dict[str, list[str]],
    subject: str,
    text: str | None,
    html: str | None,
    reply_to: Iterable[str] = (),
) -> Message:
    """The MIME message SES builds from a simple send: text and HTML as alternatives.

    Built with the email package's compat32 classes: a third of the CPU of an EmailMessage,
    whose every header goes through the header registry (half of what a send cost the local
    runtime). A message with a header beyond ASCII (a name, a subject) is built the modern
    way, which encodes it as SES does."""
    headers = [("From", source)]
    for header, key in (("To", "ToAddresses"), ("Cc", "CcAddresses"), ("Bcc", "BccAddresses")):
        if destination.get(key):
            headers.append((header, ", ".join(destination[key])))
    if reply_to:
        headers.append(("Reply-To", ", ".join(reply_to)))
    headers += [
        ("Subject", subject),
        ("Date", format_datetime(datetime.now(UTC))),
        ("Message-ID", f"<{message_id}@{_MESSAGE_ID_DOMAIN}>"),
    ]
    if not all(value.isascii() for _, value in headers):
        return _modern_message(headers, text, html)
    parts = [_text_part(body, subtype) for body, subtype in _bodies(text, html)]
    message: Message = parts[0] if len(parts) == 1 else MIMEMultipart("alternative", None, parts)
    del message["MIME-Version"]  # a multipart writes its own: one, after its Content-Type
    message["MIME-Version"] = "1.0"
    for name, value in headers:
        message[name] = value
    return message


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # readable as text, as the modern policy writes a long line


def _text_part(body: str, subtype: str) -> Message:
    """One text part in UTF-8, quoted-printable (the email package's own utf-8 is base64)."""
    part = MIMENonMultipart("text", subtype)
    del part["MIME-Version"]  # once, at the top, as SES writes it
    part.set_payload(body, _UTF8_QP)
    return part


def _bodies(text: str | None, html: str | None) -> list[tuple[str, str]]:
    """The parts of a simple send: the text, the HTML, or both (the text first); each ends
    its last line, as the modern policy ends it."""
    if text is None:
        parts = [(html or "", "html")]
    else:
        parts = [(text, "plain")] + ([(html, "html")] if html is not None else [])
    return [(body if body.endswith("\n") else body + "\n", kind) for body, kind in parts]


def _modern_message(headers: list[tuple[str, str]], text: str | None, html: str | None) -> Message:
    message = EmailMessage()
    for name, value in headers:
        message[name] = value
    (first, subtype), *rest = _bodies(text, html)
    message.set_content(first, subtype=subtype)
    for body, subtype in rest:
        message.add_alternative(body, subtype=subtype)
    return message


def raw_message(raw: str, message_id: str) -> bytes:
    """A raw send as SES delivers it: the sender's own MIME text, with a Date and a
    Message-ID in front when the sender left them out (its headers alone are read)."""
    headers = HeaderParser(policy=email.policy.compat32).parsestr(raw, headersonly=True)
    newline = "\r\n" if raw.partition("\n")[0].endswith("\r") else "\n"
    added = ""
    if headers["Date"] is None:
        added += f"Date: {format_datetime(datetime.now(UTC))}{newline}"
    if headers["Message-ID"] is None:
        added += f"Message-ID: <{message_id}@{_MESSAGE_ID_DOMAIN}>{newline}"
    return (added + raw).encode("utf-8")


def capture_ses_mail(directory: Path) -> Callable[[], None]:
    """Also write every email moto's SES accepts into `directory`; returns the undo."""
    from moto.ses.models import SESBackend
    from moto.ses.responses import EmailResponse
    from moto.sesv2.responses import SESV2Response

    writer = OutboxWriter(directory)
    v1_send = EmailResponse.__dict__["send_email"]
    v2_send = SESV2Response.__dict__["send_email"]
    raw_send = SESBackend.__dict__["send_raw_email"]

    @functools.wraps(v1_send)
    def send_email_v1(self: Any) -> Any:
        result = v1_send(self)  # refuses what SES refuses, before anything is written
        destination = self._get_param("Destination", {}) or {}
        writer.write(
            simple_message(
                message_id=result.result["MessageId"],
                source=self._get_param("Source"),
                destination=destination,
                subject=self._get_param("Message.Subject.Data") or "",
                text=self._get_param("Message.Body.Text.Data"),
                html=self._get_param("Message.Body.Html.Data"),
                reply_to=self._get_param("ReplyToAddresses", []) or [],
            )
        )
        return result

    @functools.wraps(v2_send)
    def send_email_v2(self: Any) -> Any:
        result = v2_send(self)
        params = json.loads(self.body)
        simple = (params.get("Content") or {}).get("Simple")
        if simple is not None:
            body = simple.get("Body") or {}
            writer.write(
                simple_message(
                    message_id=json.loads(result)["MessageId"],
                    source=params.get("FromEmailAddress", ""),
                    destination=params.get("Destination") or {},
                    subject=(simple.get("Subject") or {}).get("Data", ""),
                    text=(body.get("Text") or {}).get("Data"),
                    html=(body.get("Html") or {}).get("Data"),
                    reply_to=params.get("ReplyToAddresses") or [],
                )
            )
        return result

    @functools.wraps(raw_send)
    def send_raw_email(self: Any, source: Any, destinations: Any, raw_data: str) -> Any:
        sent = raw_send(self, source, destinations, raw_data)
        writer.write(raw_message(raw_data, sent.id))
        return sent

    EmailResponse.send_email = send_email_v1  # type: ignore[method-assign]
    SESV2Response.send_email = send_email_v2  # type: ignore[method-assign]
    SESBackend.send_raw_email = send_raw_email  # type: ignore[method-assign]

    def undo() -> None:
        EmailResponse.send_email = v1_send  # type: ignore[method-assign]
        SESV2Response.send_email = v2_send  # type: ignore[method-assign]
        SESBackend.send_raw_email = raw_send  # type: ignore[method-assign]
        writer.close()

    return undo


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxMessage:
    """One sent email, parsed."""

    path: Path
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None
    message_id: str
    text: str | None
    html: str | None
    links: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.path.name


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.extend(value for name, value in attrs if name == "href" and value)


def parse_message(path: Path) -> OutboxMessage:
    """Read one .eml file of the outbox."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else None
    html = html_part.get_content() if html_part is not None else None
    links: list[str] = []
    if html is not None:
        parser = _LinkParser()
        parser.feed(html)
        links.extend(parser.links)
    if text is not None:
        links.extend(url.rstrip(".,;:)]") for url in _URL_IN_TEXT.findall(text))
    date_header = message["Date"]
    return OutboxMessage(
        path=path,
        sender=str(message["From"] or ""),
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        subject=str(message["Subject"] or ""),
        date=parsedate_to_datetime(str(date_header)) if date_header else None,
        message_id=str(message["Message-ID"] or ""),
        text=text,
        html=html,
        links=tuple(dict.fromkeys(links)),
    )


def _addresses(message: EmailMessage, header: str) -> tuple[str, ...]:
    values = [str(value) for value in message.get_all(header, [])]
    return tuple(address for _, address in getaddresses(values) if address)


class Outbox:
    """The outbox folder, read from Python: newest message first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._parsed: dict[str, OutboxMessage] = {}  # a sent email never changes
        self._lock = threading.Lock()
        self._listed: tuple[tuple[int, int] | None, list[OutboxMessage]] = (None, [])

    def messages(self) -> list[OutboxMessage]:
        """Every message, newest first. A folder this process writes is listed again only
        after a write (a wait polls it twenty times a second, each listing 0.3 ms for 200
        messages)."""
        written = _written(self.directory)
        with self._lock:
            if written is not None and self._listed[0] == written:
                return list(self._listed[1])
        if not self.directory.exists():
            return []
        paths = sorted(self.directory.glob("*.eml"), key=lambda path: path.name, reverse=True)
        with self._lock:
            for path in paths:
                if path.name not in self._parsed:
                    self._parsed[path.name] = parse_message(path)
            listed = [self._parsed[path.name] for path in paths]
            self._listed = (written, listed)  # what was written before the listing began
            return list(listed)

    def read(self, name: str) -> OutboxMessage:
        """One message by file name (only names the outbox itself gives)."""
        if not _FILE_NAME.match(name) or not (self.directory / name).is_file():
            raise KeyError(name)
        return parse_message(self.directory / name)

    def wait_for(
        self,
        predicate: Callable[[OutboxMessage], bool] = lambda message: True,
        *,
        timeout: float = 10.0,
    ) -> OutboxMessage:
        """The newest message that satisfies `predicate`, polling until `timeout` seconds."""
        deadline = time.monotonic() + timeout
        tried: set[str] = set()  # a sent email never changes: asked once
        while True:
            for message in self.messages():
                if message.name not in tried:
                    if predicate(message):
                        return message
                    tried.add(message.name)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no matching email in {self.directory} after {timeout} s")
            time.sleep(0.05)
