"""`izin local serve`: run the local runtime until Ctrl-C (CONTRACT.md §4).

The HTTP API on 127.0.0.1:3000, the AWS endpoint (moto) on 127.0.0.1:5000, the outbox
under `{state_dir}/outbox/`. Webhook secrets: `IZIN_OSS_WEBHOOK_SECRET` and
`IZIN_SIINAS_WEBHOOK_SECRET`, defaulting to "local-oss-secret" and "local-siinas-secret",
become the values of the template's secrets OssWebhookSecret and SiinasWebhookSecret;
PIA's `IZIN_PIA_USERNAME` and `IZIN_PIA_PASSWORD` ("local-pia-user", "local-pia-password")
that of PiaCredentialsSecret.
`SIINAS_BASE_URL` and `OSS_BASE_URL`, when set, replace the built-in simulators.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Final

from izin_local.config import TEMPLATE, secret_values
from izin_local.runtime import LocalRuntime
from izin_local.template import Template

logger = logging.getLogger(__name__)

_EXTERNAL_URLS: Final = ("SIINAS_BASE_URL", "OSS_BASE_URL")


def template_secret_values(template: Path) -> dict[str, str]:
    """The local secrets, for those of the template's secrets that exist."""
    resources = Template.load(template).resources
    return {name: value for name, value in secret_values().items() if name in resources}


def serve(
    *,
    port: int = 3000,
    aws_port: int = 5000,
    state_dir: Path = Path(".local"),
    template: Path = TEMPLATE,
    env: dict[str, str] | None = None,
    parameter_overrides: dict[str, str] | None = None,
    secret_values: dict[str, str] | None = None,
) -> int:
    """Serve until SIGINT or SIGTERM, then stop cleanly; 0 on a clean stop."""
    _log_to_console()
    if env is None:
        env = {name: os.environ[name] for name in _EXTERNAL_URLS if name in os.environ}
    if secret_values is None:
        secret_values = template_secret_values(template)
    stopping = threading.Event()
    restore = _stop_on_signals(stopping)
    try:
        with LocalRuntime(
            template,
            state_dir,
            http_port=port,
            aws_port=aws_port,
            parameter_overrides=parameter_overrides,
            secret_values=secret_values,
            env=env,
            whole_process=True,
        ) as runtime:
            _print_banner(runtime)
            # A timeout, so the signal handler's flag is seen even where a wait is not woken.
            while not stopping.wait(0.5):
                pass
            print("Stopping...", flush=True)
    finally:
        restore()
    return 0


def _log_to_console() -> None:
    """The runtime's own log (every Lambda failure and timeout among it) on stderr.

    On a handler of its own, not the root logger's: Powertools' Logger, where the layer
    is imported in this process, filters the root handlers by its service name "izin",
    which would drop every `izin_local` record.
    """
    runtime_logger = logging.getLogger("izin_local")
    if any(getattr(h, "izin_console", False) for h in runtime_logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.izin_console = True  # type: ignore[attr-defined]
    runtime_logger.addHandler(handler)
    runtime_logger.setLevel(logging.INFO)
    runtime_logger.propagate = False


def _stop_on_signals(stopping: threading.Event) -> Callable[[], None]:
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach the main thread only

    def handle(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


def _print_banner(runtime: LocalRuntime) -> None:
    lines = [
        "izin local runtime is up (Ctrl-C stops it)",
        f"  HTTP API      {runtime.http_url}",
        f"  AWS endpoint  {runtime.aws_endpoint}",
        f"                e.g. aws --endpoint-url {runtime.aws_endpoint} "
        "stepfunctions list-state-machines",
        f"  Outbox        {runtime.http_url}/_local/outbox   ({runtime.outbox.directory})",
        f"  Simulators    {runtime.http_url}/_local/simulators",
    ]
    for name, simulator in (("SIINAS", runtime.siinas), ("OSS", runtime.oss)):
        where = simulator.url if simulator is not None else os.environ.get(f"{name}_BASE_URL")
        lines.append(f"  {name:<13} {where}")
    print("\n".join(lines), flush=True)
