"""Simulators of the two national systems the workers call: SIINAS and OSS.

Each is a small HTTP server on a random 127.0.0.1 port that answers as CONTRACT.md §2 says
the real one does, records every request it receives, and can be told from Python to
misbehave: fail the next n requests, answer the next n slowly, or go down altogether
(stop listening, so connections are refused) and come back up on the same port.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

logger = logging.getLogger(__name__)

# (method, path, parsed JSON body) -> (status, JSON answer), or None for "no such route".
Answer = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class RecordedRequest:
    """One request a simulator received, and the status it answered."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: str
    time: datetime
    status: int

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "time": self.time.isoformat()}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 resets connections when many arrive at once
    allow_reuse_address = True
    simulator: Simulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A caller that gave up before the answer (the slow SIINAS's client timed out, as
        it should) is the simulation working: logged, not a traceback on stderr."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            logger.debug("%s: the caller left before the answer", self.simulator.name)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.simulator.handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: %s", self.server.simulator.name, format % args)


class Simulator:
    """A recording HTTP server with fault injection; subclasses say how to answer."""

    name: ClassVar[str] = "simulator"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures: list[int] = []
        self._delays: list[float] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.port = 0

    # lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._stopping.clear()
        self.up()

    def stop(self) -> None:
        self._stopping.set()  # cuts short any slow answer in progress
        self.down()

    def up(self) -> None:
        """Listen again (on the same port after the first start)."""
        with self._lock:
            if self._server is not None:
                return
            server = _Server(("127.0.0.1", self.port), _Handler)
            server.simulator = self
            self.port = server.server_address[1]
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"{self.name}-simulator",
                daemon=True,
            )
            self._thread.start()

    def down(self) -> None:
        """Stop listening: connections are refused until up()."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def is_up(self) -> bool:
        return self._server is not None

    # fault injection
    def fail_next(self, n: int, status: int = 500) -> None:
        """Answer the next `n` requests with `status` (and do nothing else)."""
        with self._lock:
            self._failures.extend([status] * n)

    def slow_next(self, n: int, seconds: float) -> None:
        """Wait `seconds` before answering each of the next `n` requests."""
        with self._lock:
            self._delays.extend([seconds] * n)

    # what it received
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._failures.clear()
            self._delays.clear()

    def answer(self, method: str, path: str, body: Any) -> Answer | None:
        raise NotImplementedError

    def answer_request(
        self, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> Answer | None:
        """The answer, where a simulator must read the headers too (credentials)."""
        return self.answer(method, path, body)

    def handle(self, request: _Handler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        try:
            parsed = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            parsed = None
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            delay = self._delays.pop(0) if self._delays else 0.0
        if delay:
            self._stopping.wait(delay)
        path = request.path.split("?", 1)[0]
        if failure is not None:
            status, payload = failure, {"message": "injected failure"}
        else:
            answered = self.answer_request(
                request.command, path, parsed, dict(request.headers.items())
            )
            status, payload = answered if answered is not None else (404, {"message": "Not Found"})
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    method=request.command,
                    path=request.path,
                    headers=dict(request.headers.items()),
                    json=parsed,
                    body=raw,
                    time=datetime.now(UTC),
                    status=status,
                )
            )
        data = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


_BAP_PATH = re.compile(r"^/verifikasi-teknis/(?P<id_izin>[^/]+)/bap$")


class SiinasSimulator(Simulator):
    """SIINAS: accepts the BAP upload of step 17."""

    name = "siinas"

    def answer(self, method: str, path: str, body: Any) -> Answer | None:
        if method == "POST" and _BAP_PATH.match(path):
            return 201, {"status": "diterima", "id_unggah": str(uuid.uuid4())}
        return None


class OssSimulator(Simulator):
    """OSS: accepts receiveLicenseStatus and answers checkLicenseStatus (PIA).

    A permit's status is the last one we sent it, unless a test decided it (`decide`), as
    OSS does when it makes a permit effective. checkLicenseStatus answers under the key
    PIA's own example uses, `responcheckStatusLicense` (its text says
    `responcheckLicenseStatus`): the client must read both.
    """

    name = "oss"

    def __init__(self) -> None:
        super().__init__()
        self._decided: dict[str, tuple[str, str]] = {}

    def decide(self, id_izin: str, kd_status: str, uraian: str) -> None:
        """OSS's own decision on a permit: what checkLicenseStatus answers from now on."""
        with self._lock:
            self._decided[id_izin] = (kd_status, uraian)

    def answer(self, method: str, path: str, body: Any) -> Answer | None:
        if method == "POST" and path == "/receiveLicenseStatus":
            return 200, {"responreceiveLicenseStatus": {"kode": 200, "keterangan": "Sukses"}}
        if method == "POST" and path == "/checkLicenseStatus":
            id_izin = str(((body or {}).get("CHECKLICENSESTATUS") or {}).get("id_izin", ""))
            kd_status, uraian = self._status(id_izin)
            if not kd_status:
                return 404, {
                    "responsecheckStatusLicense": {
                        "kode": 404,
                        "keterangan": "Data izin tidak ditemukan",
                        "dataIZIN": {"id_izin": id_izin},
                    }
                }
            data = {"id_izin": id_izin, "kd_status": kd_status, "uraian_status": uraian}
            return 200, {
                "responcheckStatusLicense": {"kode": 200, "keterangan": "Sukses", "dataIZIN": data}
            }
        return None

    def _status(self, id_izin: str) -> tuple[str, str]:
        with self._lock:
            if id_izin in self._decided:
                return self._decided[id_izin]
            sent = [
                r.json["IZINSTATUS"]
                for r in self._requests
                if r.path == "/receiveLicenseStatus"
                and r.status == 200
                and isinstance(r.json, dict)
                and (r.json.get("IZINSTATUS") or {}).get("id_izin") == id_izin
            ]
        if not sent:
            return "", ""
        return str(sent[-1].get("kd_status", "")), str(sent[-1].get("keterangan", ""))


SimulatorList = Callable[[], list[Simulator]]
