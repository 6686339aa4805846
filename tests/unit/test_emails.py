"""What the emails say and how: a text part read as text, an HTML part escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from izin import tasks
from izin.mail import MemoryMailer
from izin.memory_store import MemoryStore
from izin.models import StepRequest
from izin.roster import load_roster
from izin_local import samples
from izin_local.testing import ROSTER as ROSTER_FILE

ID = "IP-MAIL-0001"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
ROSTER = load_roster(ROSTER_FILE)
NAMA = 'PT "Maju" & Jaya\'s <Sejahtera>'


def seeded(nama: str = NAMA, current_step: int = 10) -> MemoryStore:
    """An application at `current_step`, started by the inbound function."""
    store = MemoryStore.seeded(
        {
            "id_izin": ID,
            "status": "PROSES",
            "current_step": current_step,
            "created_at": NOW.isoformat(),
            "data": samples.permohonan(ID, nama=nama),
        },
        {},
    )
    store.append_audit(
        ID, {"action": "execution.started", "actor": "sistem", "execution": ID}, now=NOW
    )
    return store


# -- text parts are text, HTML parts are escaped --------------------------------------------


def test_a_task_email_says_the_company_name_verbatim_in_text_and_escaped_in_html() -> None:
    mailer = MemoryMailer()
    request = StepRequest(
        id_izin=ID,
        step=4,
        task_token="token-1",
        timeout_seconds=3600,
        deadline=NOW + timedelta(days=1),
    )
    tasks.issue_task(
        request,
        store=seeded(current_step=3),
        mailer=mailer,
        roster=ROSTER,
        public_base_url="https://izin.example",
        now=NOW,
    )
    (email,) = mailer.sent
    assert NAMA in email.text
    assert "&amp;" not in email.text and "&#39;" not in email.text and "&#34;" not in email.text
    assert "PT &#34;Maju&#34; &amp; Jaya&#39;s &lt;Sejahtera&gt;" in email.html
    assert NAMA not in email.html
