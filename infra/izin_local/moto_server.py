"""moto in server mode on 127.0.0.1: the AWS endpoint of the local runtime.

Handlers, the AWS CLI and any boto3 script reach it through `AWS_ENDPOINT_URL`. moto keeps
its state in this process's memory, so every start resets it: a runtime always begins from
an empty world. Step Functions executions are turned on (`execute_state_machine`): moto's
interpreter then calls the other services back through `localhost:$MOTO_PORT`.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

from moto.server import ThreadedMotoServer

logger = logging.getLogger(__name__)

# moto's interpreter logs every failure a Catch handles at ERROR; werkzeug logs each request.
_NOISY_LOGGERS = {"moto.stepfunctions.parser": logging.CRITICAL, "werkzeug": logging.WARNING}


def quiet_moto_logs() -> None:
    """Silence the loggers that report expected events as errors or log every request."""
    for name, level in _NOISY_LOGGERS.items():
        logging.getLogger(name).setLevel(level)


class MotoServer:
    """One moto server thread on 127.0.0.1 with Step Functions executions turned on."""

    def __init__(self, port: int = 0) -> None:
        self._requested_port = port
        self._server: ThreadedMotoServer | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        quiet_moto_logs()
        server = ThreadedMotoServer(
            ip_address="127.0.0.1", port=self._requested_port, verbose=False
        )
        server.start()
        self._server = server
        self.port = server.get_host_and_port()[1]
        # The interpreter reaches Lambda, SQS... at localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        self._post("/moto-api/reset", None)
        self._post("/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
        logger.info("moto server listening on %s", self.endpoint)

    def stop(self) -> None:
        if self._server is None:
            return
        stop_running_executions()
        self._server.stop()
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
