"""Emails: what the system sends officers and DPMPTSP, and the SES adapter that sends it."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr
from typing import Any, Protocol

from izin.aws import client

TAG = "id_izin"  # the SES message tag naming the application


def tag_value(id_izin: str) -> str:
    """The application's id as an SES tag value, which holds only ASCII letters, digits,
    "_" and "-": an id with a "." (IdIzin allows it) is escaped ("_" -> "__", "." -> "_d")
    behind a leading "_", which no id starts with; any other id is its own value."""
    if "." not in id_izin:
        return id_izin
    return "_" + id_izin.replace("_", "__").replace(".", "_d")


def id_from_tag(value: str) -> str:
    """The application's id an SES tag value names (`tag_value` undone)."""
    if not value.startswith("_"):
        return value
    out, escaped = [], False
    for char in value[1:]:
        if escaped:
            out.append("." if char == "d" else char)
            escaped = False
        elif char == "_":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Email:
    """One email: addressed, with a plain-text and an HTML body."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    cc: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = field(default=())
    id_izin: str = ""  # the application it is about: SES reports a bounce against it


class Mailer(Protocol):
    """Sends an email."""

    def send(self, email: Email) -> None:
        """Send it, or raise."""


class MemoryMailer:
    """Keeps what it is given to send, in order: the fake tests and local tools read."""

    def __init__(self) -> None:
        self.sent: list[Email] = []

    def send(self, email: Email) -> None:
        """Keep it."""
        self.sent.append(email)


def sender(display_name: str, address: str) -> str:
    """The From of every email: "Disperindag Kalbar - Izin Perluasan <izin@…>", the name
    quoted where it must be and encoded (RFC 2047) where it is not ASCII."""
    name, bare = parseaddr(address)
    if not bare or "@" not in bare:
        raise ValueError(f"not an email address: {address!r}")
    return formataddr((display_name or name, bare), charset="utf-8")


class SesMailer:
    """Sends through Amazon SES (v2) as `sender` (see `sender`); with attachments as a raw
    MIME message. Under the configuration set, when there is one, tagged with the
    application: a bounce or a complaint comes back for it (izin.mail_events)."""

    def __init__(self, sender: str, configuration_set: str = "") -> None:
        self.sender = sender
        self.configuration_set = configuration_set

    def send(self, email: Email) -> None:
        """Send one email through SES."""
        destination = {"ToAddresses": list(email.to), "CcAddresses": list(email.cc)}
        tracked: dict[str, Any] = {}
        if self.configuration_set:
            tracked["ConfigurationSetName"] = self.configuration_set
            if email.id_izin:
                tracked["EmailTags"] = [{"Name": TAG, "Value": tag_value(email.id_izin)}]
        if email.attachments:
            client("sesv2").send_email(
                FromEmailAddress=self.sender,
                Destination=destination,
                Content={"Raw": {"Data": _mime(self.sender, email)}},
                **tracked,
            )
            return
        client("sesv2").send_email(
            FromEmailAddress=self.sender,
            Destination=destination,
            **tracked,
            Content={
                "Simple": {
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": email.text, "Charset": "UTF-8"},
                        "Html": {"Data": email.html, "Charset": "UTF-8"},
                    },
                }
            },
        )


def _mime(sender: str, email: Email) -> bytes:
    from email import policy
    from email.message import EmailMessage

    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = ", ".join(email.to)
    if email.cc:
        message["Cc"] = ", ".join(email.cc)
    message["Subject"] = email.subject
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message.as_bytes()
