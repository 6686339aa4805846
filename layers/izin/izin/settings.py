"""The functions' configuration: environment variables validated once, on first use.

`Settings` holds what any function may read: the four every function needs are required,
the rest default to "off" ("" or a number). What one function cannot run without, it says
at its door: `@needs_settings("state_machine_arn")` on its handler checks, at the
container's first call, that those variables are set (and that a base URL set comes with
its secret), and fails naming the variables otherwise, before any work. A unit test reads
template.yaml and checks that each function's environment gives its handler what it needs.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

_Model = TypeVar("_Model", bound=BaseModel)
_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")


class SettingsError(RuntimeError):
    """The function's environment is not configured as the template says."""


class Settings(BaseModel):
    """What every function may read from its environment."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")

    table_name: str = Field(alias="TABLE_NAME")
    bucket_name: str = Field(alias="BUCKET_NAME")
    public_base_url: str = Field(alias="PUBLIC_BASE_URL")
    mail_from: str = Field(alias="MAIL_FROM")
    # SES's configuration set: bounces and complaints come back (empty: not tracked).
    mail_configuration_set: str = Field("", alias="MAIL_CONFIGURATION_SET")
    state_machine_arn: str = Field("", alias="STATE_MACHINE_ARN")
    inbound_queue_url: str = Field("", alias="INBOUND_QUEUE_URL")
    siinas_queue_url: str = Field("", alias="SIINAS_QUEUE_URL")
    oss_queue_url: str = Field("", alias="OSS_QUEUE_URL")
    # The console's incidents (izin.incidents): the last dead-letter queue of each integration.
    inbound_dlq_url: str = Field("", alias="INBOUND_DLQ_URL")
    siinas_dlq_url: str = Field("", alias="SIINAS_DLQ_URL")
    oss_dlq_url: str = Field("", alias="OSS_DLQ_URL")
    siinas_base_url: str = Field("", alias="SIINAS_BASE_URL")
    siinas_token_secret_arn: str = Field("", alias="SIINAS_TOKEN_SECRET_ARN")
    oss_base_url: str = Field("", alias="OSS_BASE_URL")
    oss_user_key_secret_arn: str = Field("", alias="OSS_USER_KEY_SECRET_ARN")
    oss_webhook_secret_arn: str = Field("", alias="OSS_WEBHOOK_SECRET_ARN")
    siinas_webhook_secret_arn: str = Field("", alias="SIINAS_WEBHOOK_SECRET_ARN")
    kd_instansi: str = Field("", alias="KD_INSTANSI")
    # BSrE's esign-client API (#16): the Kepala Dinas signs step 14 through it, with the
    # Dinas's client credentials from this secret ({"client_id", "client_secret"}). An
    # empty URL: no BSrE, the documents are sealed by the system alone.
    bsre_base_url: str = Field("", alias="BSRE_BASE_URL")
    bsre_credentials_secret_arn: str = Field("", alias="BSRE_CREDENTIALS_SECRET_ARN")
    # The Dinas's e-seal on the tembusan copy (BSrE `seal/pdf`), optional: with it on, the
    # secret also holds the seal account, {"seal_id_subscriber", "seal_totp_secret"}.
    bsre_seal_tembusan: bool = Field(False, alias="BSRE_SEAL_TEMBUSAN")
    # BSrE's root certificates (a PEM file): the verify page checks a PDF's signatures
    # against them itself when BSrE's verify API cannot be reached. Empty: it does not.
    bsre_trust_roots_file: str = Field("", alias="BSRE_TRUST_ROOTS_FILE")
    roster_file: str = Field("", alias="IZIN_ROSTER_FILE")
    # Officers' second factor: the KMS key their TOTP secrets are encrypted under, the
    # secret that signs session cookies, and a session's longest life (8 hours at most).
    totp_key_id: str = Field("", alias="IZIN_TOTP_KEY_ID")
    session_key_secret_arn: str = Field("", alias="IZIN_SESSION_KEY_SECRET_ARN")
    session_seconds: int = Field(8 * 3600, alias="IZIN_SESSION_SECONDS", ge=1, le=8 * 3600)
    # Set by the local runtime only (never by template.yaml): a roster may carry
    # `totp_secret`s. A deployed function refuses such a roster (wiring.roster).
    local_roster_secrets: bool = Field(False, alias="IZIN_LOCAL_ROSTER_SECRETS")
    dinas_file: str = Field("", alias="IZIN_DINAS_FILE")
    # The SSM parameter holding the Dinas's own days off (JSON list of calendar.DinasEntry).
    calendar_parameter: str = Field("", alias="IZIN_CALENDAR_PARAMETER")
    # Time: seconds one hari kerja lasts for the SLA timers. Unset: real working days.
    workday_seconds: float | None = Field(None, alias="IZIN_WORKDAY_SECONDS")
    default_sla_days: int = Field(2, alias="IZIN_DEFAULT_SLA_DAYS", ge=1)
    sla_days: dict[int, int] = Field(default_factory=dict, alias="IZIN_SLA_DAYS")
    # The service level the Dinas holds itself to for a whole application, in hari kerja
    # (OSS approves by default, fiktif positif, when it is passed), and how many hari kerja
    # before it the console flags the application (izin.risk).
    service_level_days: int = Field(20, alias="IZIN_SERVICE_LEVEL_DAYS", ge=1)
    fiktif_warn_days: int = Field(3, alias="IZIN_FIKTIF_WARN_DAYS", ge=0)
    max_reminders: int = Field(3, alias="IZIN_MAX_REMINDERS", ge=0)
    webhook_max_skew_seconds: int = Field(300, alias="IZIN_WEBHOOK_MAX_SKEW")
    # From an execution's start, how long it may wait on OSS or SIINAS before the
    # application continues in a new execution (Step Functions ends one after a year).
    execution_budget_seconds: int = Field(
        335 * 24 * 3600, alias="IZIN_EXECUTION_BUDGET_SECONDS", ge=1
    )
    # Hari kerja after which a wait on OSS or SIINAS is late, by step: then the alarm, and
    # the Operator's link to record the event by hand.
    event_late_days: dict[int, float] = Field(
        default_factory=lambda: {2: 5.0, 18: 60.0, 19: 5.0}, alias="IZIN_EVENT_LATE_DAYS"
    )

    # Hari kerja a wait at step 19 lasts before OSS is asked with checkLicenseStatus.
    reconcile_after_days: float = Field(5.0, alias="IZIN_RECONCILE_AFTER_DAYS", gt=0)

    @field_validator("sla_days", "event_late_days", mode="before")
    @classmethod
    def _json_object(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @field_validator("workday_seconds", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    def roster_path(self) -> Path:
        """The roster file: IZIN_ROSTER_FILE, or the one shipped in the layer."""
        if self.roster_file:
            return Path(self.roster_file)
        return Path(__file__).parent / "data" / "roster.json"

    def dinas_path(self) -> Path:
        """The Dinas's letterhead data: IZIN_DINAS_FILE, or the one shipped in the layer."""
        return dinas_path(self.dinas_file)


def dinas_path(dinas_file: str = "") -> Path:
    """The Dinas's letterhead data: the file named, or the one shipped in the layer."""
    return Path(dinas_file) if dinas_file else Path(__file__).parent / "data" / "dinas.json"


class PiaSettings(BaseModel):
    """The PIA function's own settings (CONTRACT §5): every one required."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")

    credentials_secret_arn: str = Field(alias="PIA_CREDENTIALS_SECRET_ARN", min_length=1)
    inbound_queue_url: str = Field(alias="INBOUND_QUEUE_URL", min_length=1)
    # The checklist's kd_izin values that are this Dinas's permit, comma-separated.
    kd_izin: frozenset[str] = Field(alias="PIA_KD_IZIN", min_length=1)
    kewenangan: str = Field(alias="PIA_KEWENANGAN", pattern=r"^0[0-2]$")

    @field_validator("kd_izin", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(v.strip() for v in value.split(",") if v.strip())
        return value


@functools.cache
def pia_settings() -> PiaSettings:
    """The PIA function's settings, validated on first use."""
    return _validated(PiaSettings)


@functools.cache
def settings() -> Settings:
    """The settings of this function's environment, validated on first use."""
    return _validated(Settings)


def _validated(model: type[_Model]) -> _Model:
    try:
        return model.model_validate(dict(os.environ))
    except ValidationError as error:
        names = ", ".join(str(e["loc"][0]) for e in error.errors())
        raise SettingsError(f"environment not configured: {names}") from error


# A base URL set (the integration is on) needs the secret its calls carry; the tembusan's
# e-seal needs BSrE itself.
NEEDED_WITH = {
    "siinas_base_url": "siinas_token_secret_arn",
    "oss_base_url": "oss_user_key_secret_arn",
    "bsre_base_url": "bsre_credentials_secret_arn",
    "bsre_seal_tembusan": "bsre_base_url",
}


def variable(field: str) -> str:
    """The environment variable a field of Settings is read from."""
    alias = Settings.model_fields[field].alias
    assert alias is not None  # every field has one
    return alias


def required_variables(model: type[BaseModel]) -> set[str]:
    """The variables a model cannot be built without."""
    return {info.alias or name for name, info in model.model_fields.items() if info.is_required()}


def needs_settings(
    *fields: str, model: type[BaseModel] | None = None
) -> Callable[[Callable[_Params, _Result]], Callable[_Params, _Result]]:
    """A handler's settings: Settings' required ones, these string `fields` of Settings set
    and not empty, and `model` (a function's own settings) valid, all checked at the
    container's first call; a SettingsError names every variable missing.

    The decorated handler's `needed_settings` lists the variables, for template.yaml's test.
    """
    unknown = [f for f in fields if f not in Settings.model_fields]
    not_text = [
        f for f in fields if f not in unknown and Settings.model_fields[f].annotation is not str
    ]
    if unknown or not_text:
        raise ValueError(f"not string fields of Settings: {', '.join(unknown + not_text)}")
    needed = required_variables(Settings) | {variable(f) for f in fields}
    if model is not None:
        needed |= required_variables(model)

    def check() -> None:
        config = settings()
        missing = [variable(f) for f in fields if not getattr(config, f)]
        missing += [
            f"{variable(then)} (with {variable(given)})"
            for given, then in NEEDED_WITH.items()
            if getattr(config, given) and not getattr(config, then)
        ]
        if missing:
            raise SettingsError(f"environment not configured: {', '.join(missing)}")
        if model is not None:
            _validated(model)

    def decorate(handler: Callable[_Params, _Result]) -> Callable[_Params, _Result]:
        checked = False

        @functools.wraps(handler)
        def checked_first(*args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
            nonlocal checked
            if not checked:  # once per container: a failed check fails every call again
                check()
                checked = True
            return handler(*args, **kwargs)

        checked_first.needed_settings = frozenset(needed)  # type: ignore[attr-defined]
        return checked_first

    return decorate
