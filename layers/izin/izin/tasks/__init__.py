"""Officers' tasks: the ticket behind each email link, the page it shows, the decision it takes.

The flow of a task (SOP steps 4–14, the manual fallbacks, a reassignment):
  issue_*      — a ticket whose random secret goes into the email link; the store keeps
                 its hash, with the waiting state's task token, the step and the assignee.
  show_task    — GET: the step's page. It changes nothing but the audit trail's record that
                 the page was seen (mail scanners open links).
  decide_task  — POST: the page's CSRF token, the second factor (the assignee's session, or
                 their NIP and current code: izin.auth, izin.sessions), the form, then
                 one conditional write takes the ticket, and only then is the decision
                 handed on, once.
  record_upload — GET /tasks/{ticket}/lampiran, where S3 sends the browser after a file
                 posted from the page's upload form: the file is checked and listed.
  issue_repair — a parked (TERHENTI) application's step data, corrected on its form, audited;
                 `izin resume` then starts again from the state that failed.

The task token never leaves AWS: not in an email, a URL, a page or a log line.
"""

from __future__ import annotations

from izin.tasks.complete import COMPLETE
from izin.tasks.context import (
    Page,
    Request,
    TaskContext,
)
from izin.tasks.issue import (
    MAX_WRONG_NIPS,
    ApplicationNotFound,
    Issuer,
    NotRepairable,
    TicketNotOpen,
    assignee_for,
    form_of,
    issue_manual_task,
    issue_repair,
    issue_task,
    reassign_task,
    reassigner_for,
    send_back_note,
    task_email,
    task_url,
)
from izin.tasks.page import (
    HISTORY_ACTIONS,
    decide_own_task,
    decide_task,
    record_upload,
    show_own_task,
    show_task,
)
from izin.tickets import Kind, Status, ticket_hash

__all__ = [
    "COMPLETE",
    "HISTORY_ACTIONS",
    "MAX_WRONG_NIPS",
    "ApplicationNotFound",
    "Issuer",
    "Kind",
    "NotRepairable",
    "Page",
    "Request",
    "Status",
    "TaskContext",
    "TicketNotOpen",
    "assignee_for",
    "decide_own_task",
    "decide_task",
    "form_of",
    "issue_manual_task",
    "issue_repair",
    "issue_task",
    "reassign_task",
    "reassigner_for",
    "record_upload",
    "send_back_note",
    "show_own_task",
    "show_task",
    "task_email",
    "task_url",
    "ticket_hash",
]
