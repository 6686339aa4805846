"""The local runtime's configuration as this shell gives it (CONTRACT §4).

Where the template is, the webhook secrets (IZIN_{OSS,SIINAS}_WEBHOOK_SECRET or the
documented defaults), which variables of this shell reach the functions, and the
runtime options the `izin` commands and the tests start a runtime with.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from izin_local.webhook_client import DEFAULT_SECRETS

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"


def webhook_secrets() -> dict[str, str]:
    """The local webhook secrets: IZIN_{OSS,SIINAS}_WEBHOOK_SECRET, or the documented defaults."""
    return {
        source: os.environ.get(f"IZIN_{source.upper()}_WEBHOOK_SECRET", default)
        for source, default in DEFAULT_SECRETS.items()
    }


# What this shell may set for the functions: the simulators' stand-ins (CONTRACT §4) and
# how much the functions log (`quiet`).
_FUNCTION_SETTINGS = (
    "SIINAS_BASE_URL",
    "OSS_BASE_URL",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_METRICS_DISABLED",
)


def runtime_options(workday_seconds: float | None) -> dict[str, Any]:
    """The local runtime's settings from this environment (CONTRACT §4)."""
    env = {k: os.environ[k] for k in _FUNCTION_SETTINGS if k in os.environ}
    parameters = {"RosterFile": os.environ.get("IZIN_ROSTER_FILE", "")}
    if workday_seconds:
        parameters["WorkdaySeconds"] = str(workday_seconds)
    secrets = webhook_secrets()
    return {
        "env": env,
        "parameter_overrides": parameters,
        "secret_values": {
            "OssWebhookSecret": secrets["oss"],
            "SiinasWebhookSecret": secrets["siinas"],
        },
    }


def quiet() -> None:
    """Keep the functions' JSON logs and metrics off a person's terminal (before izin loads)."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
