"""What SES says of an email sent: a bounce, a complaint or a rejection, recorded against
the application the email was about (its `id_izin` tag), so the trail shows that an
officer, or DPMPTSP, never got it. Events come through SNS (MailEventsTopic).

SES's event record (https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html):
`eventType`, `mail` {`messageId`, `destination`, `tags`, `commonHeaders` {`subject`}},
and `bounce` {`bounceType`, `bouncedRecipients` [{`emailAddress`, `diagnosticCode`}]},
`complaint` {`complainedRecipients`, `complaintFeedbackType`} or `reject` {`reason`}.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from izin.mail import TAG, id_from_tag
from izin.store import Store

AUDITED = {"Bounce": "email.bounced", "Complaint": "email.complained", "Reject": "email.rejected"}


class Mail(BaseModel):
    """The email an event is about."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore", populate_by_name=True)

    message_id: str = Field("", alias="messageId")
    destination: list[str] = Field(default_factory=list)
    tags: dict[str, list[str]] = Field(default_factory=dict)
    common_headers: dict[str, Any] = Field(default_factory=dict, alias="commonHeaders")


class MailEvent(BaseModel):
    """One SES event record (the SNS message's body)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore", populate_by_name=True)

    event_type: str = Field(alias="eventType")
    mail: Mail
    bounce: dict[str, Any] = Field(default_factory=dict)
    complaint: dict[str, Any] = Field(default_factory=dict)
    reject: dict[str, Any] = Field(default_factory=dict)

    @property
    def id_izin(self) -> str:
        """The application the email was about ("" when untagged)."""
        return id_from_tag((self.mail.tags.get(TAG) or [""])[0])

    def recipients(self) -> list[str]:
        """Who did not get it (or complained); everyone it was for, for a rejection."""
        listed = self.bounce.get("bouncedRecipients") or self.complaint.get("complainedRecipients")
        if listed:
            return [str(r.get("emailAddress", "")) for r in listed]
        return list(self.mail.destination)

    def reason(self) -> str:
        """SES's words for it: the bounce type and diagnostic, the feedback, the rejection."""
        if self.bounce:
            codes = [r.get("diagnosticCode", "") for r in self.bounce.get("bouncedRecipients", [])]
            kinds = f"{self.bounce.get('bounceType', '')}/{self.bounce.get('bounceSubType', '')}"
            return "; ".join(filter(None, [kinds, *codes]))
        if self.complaint:
            return str(self.complaint.get("complaintFeedbackType", "complaint"))
        return str(self.reject.get("reason", ""))


def record_mail_event(store: Store, event: MailEvent, *, now: datetime) -> str:
    """Record the event against its application; returns what became of it."""
    action = AUDITED.get(event.event_type)
    if action is None:
        return "ignored"  # the configuration set asks for no other kind
    if not event.id_izin or store.application(event.id_izin) is None:
        return "untagged"  # logged by the caller; no application to record it against
    store.append_audit(
        event.id_izin,
        {
            "action": action,
            "actor": "SES",
            "to": event.recipients(),
            "subject": str(event.mail.common_headers.get("subject", "")),
            "message_id": event.mail.message_id,
            "note": f"email tidak sampai ke {', '.join(event.recipients())}: {event.reason()}",
        },
        now=now,
    )
    return action
