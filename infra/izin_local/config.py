"""The local runtime's configuration as this shell gives it (CONTRACT §4, §5).

Where the template is, the webhook secrets (IZIN_{OSS,SIINAS}_WEBHOOK_SECRET or the
documented defaults), PIA's credentials (IZIN_PIA_USERNAME / IZIN_PIA_PASSWORD or the
documented defaults), which variables of this shell reach the functions, and the runtime
options the `izin` commands and the tests start a runtime with.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from izin.pia import Credentials

from izin_local.webhook_client import DEFAULT_SECRETS

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
# `izin bench`: seconds between two applications' first POST, unless --arrival-gap says.
ARRIVAL_GAP = 0.1


def webhook_secrets() -> dict[str, str]:
    """The local webhook secrets: IZIN_{OSS,SIINAS}_WEBHOOK_SECRET, or the documented defaults."""
    return {
        source: os.environ.get(f"IZIN_{source.upper()}_WEBHOOK_SECRET", default)
        for source, default in DEFAULT_SECRETS.items()
    }


DEFAULT_PIA = Credentials("local-pia-user", "local-pia-password")


def pia_credentials() -> Credentials:
    """PIA's local username and password: IZIN_PIA_USERNAME / IZIN_PIA_PASSWORD, or defaults."""
    return Credentials(
        os.environ.get("IZIN_PIA_USERNAME", DEFAULT_PIA.username),
        os.environ.get("IZIN_PIA_PASSWORD", DEFAULT_PIA.password),
    )


def secret_values() -> dict[str, str]:
    """The value of each of the template's secrets that this shell gives, by logical id."""
    secrets = webhook_secrets()
    pia = pia_credentials()
    return {
        "OssWebhookSecret": secrets["oss"],
        "SiinasWebhookSecret": secrets["siinas"],
        "PiaCredentialsSecret": json.dumps({"username": pia.username, "password": pia.password}),
        **bsre_credentials(),
    }


def bsre_credentials() -> dict[str, str]:
    """A real BSrE's client credentials, when this shell gives IZIN_BSRE_CLIENT_ID and
    IZIN_BSRE_CLIENT_SECRET; else none (the runtime gives the simulator's own)."""
    client_id = os.environ.get("IZIN_BSRE_CLIENT_ID", "")
    client_secret = os.environ.get("IZIN_BSRE_CLIENT_SECRET", "")
    if not (client_id and client_secret):
        return {}
    credentials = {"client_id": client_id, "client_secret": client_secret}
    return {"BsreCredentialsSecret": json.dumps(credentials)}


# `IZIN_BSRE=simulator`: step 14 signs through the built-in BSrE simulator (the demo does).
BSRE_SWITCH = "IZIN_BSRE"
# What this shell may set for the functions: the simulators' stand-ins (CONTRACT §4) and
# how much the functions log (`quiet`).
_FUNCTION_SETTINGS = (
    "SIINAS_BASE_URL",
    "OSS_BASE_URL",
    "BSRE_BASE_URL",
    "BSRE_SEAL_TEMBUSAN",  # the template's BsreSealTembusan (the runtime reads it there)
    BSRE_SWITCH,
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_METRICS_DISABLED",
)


def runtime_options(workday_seconds: float | None) -> dict[str, Any]:
    """The local runtime's settings from this environment (CONTRACT §4)."""
    env = {k: os.environ[k] for k in _FUNCTION_SETTINGS if k in os.environ}
    parameters = {"RosterFile": os.environ.get("IZIN_ROSTER_FILE", "")}
    if workday_seconds:
        parameters["WorkdaySeconds"] = str(workday_seconds)
    return {"env": env, "parameter_overrides": parameters, "secret_values": secret_values()}


def quiet() -> None:
    """Keep the functions' JSON logs and metrics off a person's terminal (before izin loads)."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
