"""The local HTTP gateway's server: a reader gone before its answer is a line in the log,
not a traceback on the console (`izin local serve`, `izin bench`)."""

import logging
from collections.abc import Iterator

import pytest
from izin_local.gateway import _Handler, _Server


@pytest.fixture
def server() -> Iterator[_Server]:
    made = _Server(("127.0.0.1", 0), _Handler)
    yield made
    made.server_close()


@pytest.mark.parametrize("gone", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError()])
def test_a_reader_gone_before_its_answer_is_one_log_line(
    server: _Server,
    gone: ConnectionError,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with caplog.at_level(logging.WARNING, logger="izin_local.gateway"):
        try:
            raise gone
        except ConnectionError:
            server.handle_error(None, ("127.0.0.1", 40000))
    assert capsys.readouterr().err == ""
    assert [r.getMessage() for r in caplog.records] == [f"127.0.0.1 left before its answer: {gone}"]


def test_any_other_error_keeps_its_traceback(
    server: _Server, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        raise ValueError("a bug of the gateway's own")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 40000))
    printed = capsys.readouterr().err
    assert "Traceback" in printed and "ValueError: a bug of the gateway's own" in printed
