"""One Lambda execution environment: a process that runs one function's handler.

A worker is forked by the zygote (`lambda_zygote`) with nothing but a socket to the
runtime. Its first message is its setup: the function's own environment (the template's
variables, the Lambda runtime's, the credentials of the function's own role), its code
folder and handler. It takes that environment as its whole `os.environ`, puts the code
folder first on `sys.path` (Lambda's /var/task), then answers one invocation at a time:
the module is imported on the first one (the cold start), the handler is called with the
event and a context, and the result goes back as JSON text, or Lambda's error payload.

Messages both ways are JSON, each framed by its length (4 bytes, big-endian).
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import struct
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

_LENGTH = struct.Struct(">I")


class ChannelClosed(Exception):
    """The other end of a worker's socket is gone."""


def _flushed_send(channel: socket.socket, message: Any) -> None:
    """Answer after the log: the runtime reads the log once it has the answer."""
    sys.stdout.flush()
    sys.stderr.flush()
    send_message(channel, message)


def send_message(channel: socket.socket, message: Any) -> None:
    """Send one JSON message, framed by its length."""
    data = json.dumps(message).encode()
    channel.sendall(_LENGTH.pack(len(data)) + data)


def receive_message(channel: socket.socket) -> Any:
    """Receive one JSON message; ChannelClosed when the peer has gone."""
    (length,) = _LENGTH.unpack(receive_exactly(channel, _LENGTH.size))
    return json.loads(receive_exactly(channel, length))


def receive_exactly(channel: socket.socket, size: int) -> bytes:
    """Exactly `size` bytes from the channel; ChannelClosed when the peer has gone first."""
    chunks = bytearray()
    while len(chunks) < size:
        chunk = channel.recv(size - len(chunks))
        if not chunk:
            raise ChannelClosed("the peer closed the channel")
        chunks.extend(chunk)
    return bytes(chunks)


def error_payload(error: BaseException) -> dict[str, Any]:
    """Lambda's answer for an unhandled exception: errorType is the class name."""
    return {
        "errorType": getattr(error, "error_type", type(error).__name__),
        "errorMessage": str(error),
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


@dataclass
class LambdaContext:
    """The context object a Python handler receives."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: float
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    _started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        today = time.strftime("%Y/%m/%d", time.gmtime())
        self.log_stream_name = self.log_stream_name or f"{today}/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


class ImportModuleError(Exception):
    """The handler's module or function cannot be loaded."""

    error_type = "Runtime.ImportModuleError"


def serve(channel: socket.socket) -> None:
    """Take the setup, then answer invocations until the runtime closes the channel."""
    setup = receive_message(channel)
    os.environ.clear()
    os.environ.update(setup["environment"])
    sys.path.insert(0, setup["code_dir"])
    handler: Any = None
    while True:
        try:
            request = receive_message(channel)
        except ChannelClosed:
            return
        context = LambdaContext(**request["context"])
        try:
            if handler is None:
                handler = _load_handler(setup["handler"])
            result = handler(request["event"], context)
        except Exception as error:
            # Lambda's runtime prints the unhandled error to the function's log.
            traceback.print_exc()
            _flushed_send(channel, {"error": error_payload(error)})
            continue
        try:
            payload = json.dumps(result)
        except (TypeError, ValueError) as error:
            marshal = {"errorType": "Runtime.MarshalError", "errorMessage": str(error)}
            _flushed_send(channel, {"error": {**marshal, "stackTrace": []}})
            continue
        _flushed_send(channel, {"result": payload})


def _load_handler(handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, function_name)
    except (ImportError, AttributeError, SyntaxError) as error:
        raise ImportModuleError(f"Unable to import module '{module_name}': {error}") from error
