"""The outbox read from Python: listed again only after this process wrote to it, each
message tested once by a wait; a folder another process writes is listed at every read."""

import shutil
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from izin_local.outbox import Outbox, OutboxMessage, OutboxWriter


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
