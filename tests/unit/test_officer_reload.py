"""The simulated officer (izin_local.officer) and API Gateway's 503: a page not back within
30 s is reloaded; a decision answered with the 503 is sent again only if the reloaded page
still asks for it, so a decision taken meanwhile is taken once and counted as taken."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from izin_local import officer as officer_module
from izin_local.officer import RELOADS, Officer, remember_session

NIP = "198001012005011001"
EMAIL = "operator@dinas.example"
GAVE_UP = '{"message":"Service Unavailable"}'  # API Gateway's own 503
TAKEN = "Keputusan diterima."
FORM = (
    '<form method="post" data-sop-step="4"><input type="hidden" name="csrf" value="c">'
    '<button name="decision" value="done">Selesai</button></form>'
)


class Task:
    """One task page: `slow_gets` GETs answered API Gateway's 503 first; each POST answered
    with `posts`' next status and text, the decision taken when `takes` says so."""

    def __init__(self, *, slow_gets: int, posts: list[tuple[int, str]], takes: list[bool]) -> None:
        self.slow_gets, self.posts, self.takes = slow_gets, posts, takes
        self.decided = 0
        self.posted = 0


def serve(task: Task) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if task.slow_gets:
                task.slow_gets -= 1
                self._answer(503, GAVE_UP)
            elif task.decided:
                self._answer(409, "Tugas ini sudah diputuskan.")
            else:
                self._answer(200, FORM)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            task.posted += 1
            if task.takes.pop(0):
                task.decided += 1
            self._answer(*task.posts.pop(0))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(autouse=True)
def quick_reload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(officer_module, "RELOAD_AFTER", 0.01)


@pytest.fixture
def acting() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def act(task: Task) -> Any:
        server = serve(task)
        servers.append(server)
        link = f"http://127.0.0.1:{server.server_address[1]}/tasks/t"
        remember_session(link, NIP, "izin_sesi=s")  # signed in: no NIP nor code asked
        message = SimpleNamespace(name="m1", to=(EMAIL,), links=[link], subject="", text="")
        outbox = SimpleNamespace(wait_for=lambda predicate, timeout: message)
        roster = SimpleNamespace(officers=[SimpleNamespace(email=EMAIL, nip=NIP)])
        return Officer(outbox, "IP-1", roster).act(4, "done", timeout=30)  # type: ignore[arg-type]

    yield act
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_decision_answered_503_but_taken_is_not_sent_again(acting: Any) -> None:
    task = Task(slow_gets=1, posts=[(503, GAVE_UP)], takes=[True])
    before = RELOADS.count
    decided = acting(task)
    assert decided.taken and decided.resent and decided.status == 409
    assert (task.posted, task.decided) == (1, 1)
    assert RELOADS.count - before == 2  # the page's GET, then the decision's answer


def test_a_decision_answered_503_and_not_taken_is_sent_again_once(acting: Any) -> None:
    task = Task(slow_gets=0, posts=[(503, GAVE_UP), (200, TAKEN)], takes=[False, True])
    decided = acting(task)
    assert decided.taken and decided.status == 200
    assert (task.posted, task.decided) == (2, 1)


@pytest.mark.parametrize("status", [422, 503])
def test_a_refusal_is_no_decision_taken_nor_sent_again(acting: Any, status: int) -> None:
    """A page's own answer, its 503 (BSrE unavailable) too, is read, not reloaded."""
    task = Task(slow_gets=0, posts=[(status, "<p>BSrE tidak tersedia.</p>")], takes=[False])
    decided = acting(task)
    assert not decided.taken and (decided.status, task.posted) == (status, 1)
