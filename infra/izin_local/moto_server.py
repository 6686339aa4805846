"""moto in server mode on 127.0.0.1: the AWS endpoint of the local runtime.

Handlers, the AWS CLI and any boto3 script reach it through `AWS_ENDPOINT_URL`. moto keeps
its state in this process's memory, so every start resets it: a runtime always begins from
an empty world. Step Functions executions are turned on (`execute_state_machine`): moto's
interpreter then calls the other services back through `localhost:$MOTO_PORT`.

The server keeps HTTP/1.1 connections open, as AWS's endpoints do: werkzeug's development
server closes every connection after one answer, so each SDK call paid a new TCP
connection and a new server thread (about a quarter of a call's CPU, both sides counted).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import select
import socket
import struct
import threading
import urllib.request
from collections.abc import Callable
from typing import IO, Any, cast

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import DechunkedInput, ThreadedWSGIServer

logger = logging.getLogger(__name__)

# moto's interpreter logs every failure a Catch handles at ERROR; werkzeug logs each request.
_NOISY_LOGGERS = {"moto.stepfunctions.parser": logging.CRITICAL, "werkzeug": logging.WARNING}


def quiet_moto_logs() -> None:
    """Silence the loggers that report expected events as errors or log every request."""
    for name, level in _NOISY_LOGGERS.items():
        logging.getLogger(name).setLevel(level)


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler, answering each request on a connection that stays open.

    werkzeug closes every connection because http.server cannot find where an unread
    request body ends. Here the body is read whole before moto sees it, and the answer is
    sent whole with its length, so the next request on the connection starts where it
    should. A connection idle for `timeout` seconds is closed, as AWS closes idle ones.
    """

    protocol_version = "HTTP/1.1"
    timeout = 120
    # Writes gather until the answer is whole (http.server flushes after each request): one
    # packet for headers and body, where each write on loopback costs both sides a wakeup.
    wbufsize = 256 * 1024

    def setup(self) -> None:
        super().setup()
        # An answer larger than the buffer leaves in several writes: without it, the last
        # waits for the peer's delayed ACK of the one before, 40 ms a call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
        self.environ = environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(self._read_body(environ))
        try:
            status, headers, body = self._call_moto(environ)
        except Exception:
            logger.exception("moto failed on %s %s", self.command, self.path)
            status, headers, body = "500 Internal Server Error", [], b""
            self.close_connection = True
        self._send(status, headers, body)

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        if environ.pop("wsgi.input_terminated", False):  # Transfer-Encoding: chunked
            body = DechunkedInput(cast(IO[bytes], self.rfile)).read()
            del environ["HTTP_TRANSFER_ENCODING"]  # moto now reads a body of known length
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        environ["CONTENT_LENGTH"] = str(len(body))
        return body

    def _call_moto(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        answer: dict[str, Any] = {"written": []}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            answer["status"], answer["headers"] = status, headers
            return answer["written"].append

        chunks = self.server.app(environ, start_response)
        try:
            body = b"".join([*answer["written"], *chunks])
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return answer["status"], answer["headers"], body

    def _send(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        framing = {"content-length", "transfer-encoding", "connection"}
        for name, value in headers:
            # A HEAD answer keeps moto's Content-Length: the size of what GET would send.
            if name.lower() not in framing or (
                self.command == "HEAD" and name.lower() == "content-length"
            ):
                self.send_header(name, value)
        if self.command != "HEAD" and int(code) not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Quiet, as `quiet_moto_logs` makes werkzeug's request log."""

    def log_error(self, format: str, *args: Any) -> None:
        if format.startswith("Request timed out"):
            return  # http.server's words for an idle connection closed: nothing went wrong
        super().log_error(format, *args)


class KeepAliveServer(ThreadedWSGIServer):
    """werkzeug's threaded server, knowing the connections it holds open, to close them."""

    def __init__(self, port: int, app: Any) -> None:
        super().__init__("127.0.0.1", port, app, handler=KeepAliveRequestHandler)
        self._open: set[socket.socket] = set()
        self._open_changed = threading.Condition()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_changed:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        # A client told to close (Connection: close) closes first, as werkzeug waits for it
        # too: the side that closes first holds the port in TIME_WAIT.
        with contextlib.suppress(OSError, ValueError):
            select.select([request], [], [], _CLIENT_CLOSES_WITHIN)
        super().shutdown_request(request)
        with self._open_changed:
            self._open.discard(request)
            self._open_changed.notify_all()

    def close_connections(self, wait: float = 5.0) -> None:
        """Close the connections clients keep open, once no request is being answered.

        Each is reset rather than closed: a connection this side closes first would hold
        the port in TIME_WAIT, and a runtime started next on the same port could not bind
        it. The handler waiting for its next request is woken by the end of its reading.
        """
        with self._open_changed:
            for connection in self._open:
                # One its handler closed meanwhile (EBADF) is gone already: nothing to reset.
                with contextlib.suppress(OSError):
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
                    connection.shutdown(socket.SHUT_RD)
            self._open_changed.wait_for(lambda: not self._open, timeout=wait)


_RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST
_CLIENT_CLOSES_WITHIN = 1.0  # seconds


class MotoServer:
    """One moto server thread on 127.0.0.1 with Step Functions executions turned on."""

    def __init__(self, port: int = 0) -> None:
        self._requested_port = port
        self._server: KeepAliveServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        quiet_moto_logs()
        server = KeepAliveServer(
            self._requested_port, DomainDispatcherApplication(create_backend_app)
        )
        # Polled every 0.1 s for a stop, as the gateway and the simulators are (the default
        # 0.5 s was a third of every runtime's stop).
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="moto-server",
            daemon=True,
        )
        self._thread.start()
        self._server = server
        self.port = server.server_address[1]
        # The interpreter reaches Lambda, SQS... at localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        self._post("/moto-api/reset", None)
        self._post("/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
        logger.info("moto server listening on %s", self.endpoint)

    def stop(self) -> None:
        if self._server is None:
            return
        stop_running_executions()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        # The next runtime begins empty even if it never reaches its own reset.
        reset_moto_state()
        logger.info("moto server stopped")

    def _post(self, path: str, body: dict[str, Any] | None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(  # noqa: S310 (our own http://127.0.0.1 endpoint)
            self.endpoint + path, data=data, method="POST"
        )
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()


def stop_running_executions() -> None:
    """Stop every running execution, so no interpreter thread outlives its runtime.

    An execution left running would later call `localhost:$MOTO_PORT`, which by then may
    be the next runtime's server, and run that runtime's handlers.
    """
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    for _account, regions in list(stepfunctions_parser_backends.items()):
        for _region, backend in list(regions.items()):
            for execution in backend._get_executions(ExecutionStatus.RUNNING):
                try:
                    backend.stop_execution(execution.exec_arn)
                except Exception:  # a stop must not fail on one execution that ends now
                    logger.debug("could not stop %s", execution.exec_arn, exc_info=True)


def reset_moto_state() -> None:
    """Forget every resource of every moto backend in this process."""
    from moto.core.base_backend import BackendDict
    from moto.core.model_instances import reset_model_data

    BackendDict.reset()
    reset_model_data()
