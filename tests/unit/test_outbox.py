"""The outbox read from Python: listed again only after this process wrote to it, each
message tested once by a wait; a folder another process writes is listed at every read.
And the message a simple send becomes, read back as SES's recipient would read it."""

import email
import email.policy
import shutil
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from izin_local.outbox import Outbox, OutboxMessage, OutboxWriter, raw_message, simple_message


def _message(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, "a@x.id", "b@x.id"
    message.set_content(subject)
    return message


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folders listed, one entry a listing."""
    listed: list[Path] = []
    glob = Path.glob

    def counted(self: Path, pattern: str, *args: object, **kwargs: object) -> object:
        listed.append(self)
        return glob(self, pattern, *args, **kwargs)

    monkeypatch.setattr(Path, "glob", counted)
    return listed


def test_a_folder_this_process_writes_is_listed_again_only_after_a_write(
    tmp_path: Path, listings: list[Path]
) -> None:
    writer = OutboxWriter(tmp_path)
    writer.write(_message("one"))
    outbox = Outbox(tmp_path)
    for _ in range(5):
        assert [m.subject for m in outbox.messages()] == ["one"]
    assert len(listings) == 1
    writer.write(_message("two"))
    assert [m.subject for m in outbox.messages()] == ["two", "one"]
    assert len(listings) == 2
    writer.close()


def test_a_folder_no_writer_of_this_process_holds_is_listed_at_every_read(
    tmp_path: Path, listings: list[Path]
) -> None:
    writer = OutboxWriter(tmp_path)
    sent = writer.write(_message("one"))
    outbox = Outbox(tmp_path)
    assert [m.subject for m in outbox.messages()] == ["one"]
    writer.close()  # from now on, written by another process
    shutil.copy(sent, tmp_path / "99991231T000000.000000Z-00000000.eml")
    assert len(outbox.messages()) == 2
    assert len(outbox.messages()) == 2
    assert len(listings) == 3


def test_a_wait_tests_each_message_once_and_finds_what_arrives_later(tmp_path: Path) -> None:
    writer = OutboxWriter(tmp_path)
    for subject in ("one a", "two b", "three b"):
        writer.write(_message(subject))
    outbox = Outbox(tmp_path)
    tested: list[str] = []

    def wanted(message: OutboxMessage) -> bool:
        tested.append(message.subject)
        return message.subject.endswith("c")

    later = threading.Timer(0.3, writer.write, args=(_message("four c"),))
    later.start()
    assert outbox.wait_for(wanted, timeout=30).subject == "four c"
    later.join()
    assert sorted(tested) == ["four c", "one a", "three b", "two b"]
    with pytest.raises(TimeoutError):
        outbox.wait_for(lambda m: m.subject == "five", timeout=0.2)
    writer.close()


@pytest.mark.parametrize(
    ("sender", "subject"),
    [
        ("Disperindag <izin@x.id>", "[Izin Perluasan] Langkah 04 - PT Sawit Kapuas Lestari"),
        ("Dinas Perindustrián <izin@x.id>", "[Izin Perluasan] Café — PT Ümran"),  # beyond ASCII
    ],
)
@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("Buka tautan berikut " + "panjang " * 20 + "\nhttps://izin.x.id/tasks/abc", "<p>Buka</p>"),
        ("teks saja", None),
        (None, "<b>HTML saja</b>"),
    ],
)
def test_a_simple_send_reads_back_as_it_was_sent(
    sender: str, subject: str, text: str | None, html: str | None
) -> None:
    message = simple_message(
        message_id="m-1",
        source=sender,
        destination={"ToAddresses": ["a@x.id", "b@x.id"], "CcAddresses": ["c@x.id"]},
        subject=subject,
        text=text,
        html=html,
        reply_to=["balas@x.id"],
    )
    read = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(read, EmailMessage)
    assert (read["Subject"], read["From"].addresses[0].display_name) == (
        subject,
        sender.split(" <")[0],
    )
    assert (read["To"], read["Cc"], read["Reply-To"]) == ("a@x.id, b@x.id", "c@x.id", "balas@x.id")
    assert read.get_all("MIME-Version") == ["1.0"]
    assert read["Message-ID"] == "<m-1@email.amazonses.com>" and read["Date"] is not None
    sent = {"plain": text, "html": html}
    got = {kind: read.get_body((kind,)) for kind in sent}
    for kind, body in sent.items():
        part = got[kind]
        assert (part.get_content() if part is not None else None) == (
            body + "\n" if body is not None else None
        )
    multipart = "multipart/alternative" if text is not None and html is not None else None
    assert read.get_content_type() == (multipart or ("text/plain" if html is None else "text/html"))


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_raw_send_is_kept_as_sent_with_the_date_and_id_ses_adds(newline: str) -> None:
    sent = EmailMessage()
    sent["From"], sent["To"], sent["Subject"] = "izin@x.id", "dpmptsp@x.id", "Tembusan"
    sent.set_content("Terlampir.")
    sent.add_attachment(b"%PDF-1.7 ...", maintype="application", subtype="pdf", filename="bap.pdf")
    raw = sent.as_string(policy=email.policy.default.clone(linesep=newline))

    kept = raw_message(raw, "m-2")
    head, _, rest = kept.decode("utf-8").partition(f"From: izin@x.id{newline}")
    assert rest and f"From: izin@x.id{newline}{rest}" == raw  # the sender's text, untouched
    read = email.message_from_bytes(kept, policy=email.policy.default)
    assert isinstance(read, EmailMessage)
    assert read["Message-ID"] == "<m-2@email.amazonses.com>" and read["Date"] is not None
    assert head.count(newline) == 2 and head.endswith(newline)
    attachment = next(read.iter_attachments())
    assert attachment.get_content() == b"%PDF-1.7 ..."

    dated = f"Date: Fri, 04 Dec 2026 10:00:00 +0000{newline}Message-ID: <own@x.id>{newline}{raw}"
    assert raw_message(dated, "m-3") == dated.encode("utf-8")  # nothing added when both are there
