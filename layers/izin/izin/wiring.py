"""The adapters a handler hands to the domain code, built from the settings on first use."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from izin.calendar import DinasEntry, HolidayCalendar
from izin.documents import Dinas, load_dinas
from izin.events import InboundEvent
from izin.mail import SesMailer, sender
from izin.observability import logger
from izin.roster import Roster, RosterError, in_force, load_roster
from izin.settings import settings
from izin.stepfunctions import StepFunctionsCallbacks
from izin.store import (
    ConditionFailed,
    DynamoStore,
    InvocationStore,
    Records,
    RosterAt,
    roster_checks,
)

if TYPE_CHECKING:  # the workers that issue manual tasks import integrations themselves
    from collections.abc import Callable

    from izin.audit_export import Read
    from izin.auth import Auth
    from izin.bsre import BsreClient, Verification
    from izin.console import Incidents
    from izin.integrations import ManualTasks
    from izin.tasks.tte import Tte


def now() -> datetime:
    """The clock every handler reads once and passes on."""
    return datetime.now(UTC)


def store() -> Records:
    """The table (its primitives too: a handler may wrap it in an InvocationStore)."""
    return DynamoStore(settings().table_name)


def dinas() -> Dinas:
    """The Dinas's letterhead data: IZIN_DINAS_FILE, or the dinas.json shipped in the layer."""
    return load_dinas(settings().dinas_path())


def mailer() -> SesMailer:
    """SES, sending as MAIL_FROM under the Dinas's name (dinas.json nama_pengirim_email)."""
    config = settings()
    name = dinas().nama_pengirim_email
    return SesMailer(sender(name, config.mail_from), config.mail_configuration_set)


def roster_file() -> Roster:
    """The configured roster file: the table's seed, and each officer's fields the table
    never keeps (izin.roster); one carrying secrets only where the runtime is local."""
    config = settings()
    loaded = load_roster(config.roster_path())
    if loaded.carries_secrets() and not config.local_roster_secrets:
        raise RosterError(
            f"the roster {config.roster_path().name} carries totp_secret or a BSrE secret: "
            "a local roster; "
            "deploy the Dinas's own (RosterFile) and enroll officers with `izin petugas enroll`"
        )
    return loaded


def roster(table: Records | None = None) -> Roster:
    """Who holds each role now: the table's roster (one GetItem; call once per invocation),
    or the file's while the table holds none; inactive officers left out. `table`: the
    invocation's view of the table, when the handler has one (default: the table)."""
    return _read_roster(table if table is not None else store()).roster


def _read_roster(table: Records) -> KeptRoster:
    """The roster in force as `table` holds it now (one GetItem), with its version."""
    seed = roster_file()  # refused before any call when it carries secrets where it may not
    record = table.roster_record()
    version = int(record["version"]) if record and "version" in record else None
    return KeptRoster(in_force(record, seed), RosterAt(version), seed)


@dataclass(frozen=True)
class KeptRoster:
    """The roster a container keeps across invocations, the version of the table's record
    it was read at, and the roster file it was joined with."""

    roster: Roster
    at: RosterAt
    seed: Roster


# The container's kept roster, by table (a process may serve more than one, in tests).
_KEPT: dict[str, KeptRoster] = {}
T = TypeVar("T")


def kept_roster(*, fresh: bool = False) -> KeptRoster:
    """The roster this container read at an earlier invocation (once; again with `fresh`,
    or when the roster file changed, a local runtime's). What is made of it is written only
    while it is in force: the functions that authorize nobody by an InvocationStore's
    `roster_at` (see `with_kept_roster`), the task page by presuming it (`auth`)."""
    table = settings().table_name
    kept = _KEPT.get(table)
    if fresh or kept is None or kept.seed is not roster_file():
        kept = _KEPT[table] = _read_roster(store())
    return kept


def with_kept_roster(work: Callable[[KeptRoster], T]) -> T:
    """`work` done with the kept roster, and done again, once, with the roster read afresh
    when a write of it was refused (ConditionFailed, or an error it caused) and the roster
    had changed since it was kept: nothing was written from the stale one. A letter never
    names an official the roster replaced; no roster read in the common case. Any other
    failure is the work's own, raised as it is."""
    kept = kept_roster()
    try:
        return work(kept)
    except Exception as error:
        if not _refused(error):
            raise
        try:
            fresh: KeptRoster | None = kept_roster(fresh=True)
        except Exception:
            fresh = None  # unread: the work's failure is the one to raise, as it was
        if fresh is None or fresh.at == kept.at:
            raise
    logger.info("the roster changed since this container read it: done again")
    return work(fresh)


def _refused(error: BaseException | None) -> bool:
    """Whether a conditional write's refusal is the error, or what caused it."""
    while error is not None:
        if isinstance(error, ConditionFailed):
            return True
        error = error.__cause__
    return False


def presume_roster(view: Records, kept: KeptRoster) -> Roster:
    """The roster the container kept, presumed in force on the invocation's `view`: each of
    its writes checks the version, and an answer no write proved reads it first."""
    assert isinstance(view, InvocationStore), "a roster is presumed in an invocation's view"
    view.presume(
        roster_checks(kept.at.version), confirm=lambda: kept_roster(fresh=True).at == kept.at
    )
    return kept.roster


def forget_kept_roster() -> None:
    """Drop the kept roster (izin.lifecycle)."""
    _KEPT.clear()


def auth(
    now: datetime, table: Records | None = None, *, presumed: KeptRoster | None = None
) -> Auth:
    """What checking officers' codes and sessions needs, at `now`, with the roster in force
    (a handler that has an Auth takes the roster from it: one read per invocation), reading
    through `table` when the handler has a view of its own (default: the table). With a
    roster the container kept, `presumed` in force on the view `table` (each write checks
    its version; read before an answer no write proved), sessions are presumed too
    (izin.sessions.signed_in)."""
    from izin.auth import Auth, KmsCipher

    config = settings()
    table = table if table is not None else store()
    return Auth(
        store=table,
        roster=presume_roster(table, presumed) if presumed is not None else roster(table),
        presumes=presumed is not None,
        cipher=KmsCipher(config.totp_key_id),
        now=now,
        session_key=lambda: secret(config.session_key_secret_arn).encode(),
        secure_cookies=not config.public_base_url.startswith("http://127.0.0.1"),
        session_seconds=config.session_seconds,
        public_base_url=config.public_base_url,
    )


# One BSrE call's longest wait: with the retries, the signing fits the task page's timeout.
BSRE_TIMEOUT_SECONDS = 6.0


def tte() -> Tte | None:
    """BSrE's TTE for step 14 when BSRE_BASE_URL is set; None: the Seal state seals alone."""
    from izin.tasks.tte import ManualTte, Tte

    if not settings().bsre_base_url:
        return None
    manual = ManualTte(
        read_object=read_object,
        verify=lambda pdf: bsre_client().verify_pdf(pdf),
        link=presigned_url,
    )
    return Tte(
        client=bsre_client,
        bucket=settings().bucket_name,
        put_object=put_object,
        dinas=dinas(),
        manual=manual,
    )


def bsre_client() -> BsreClient:
    """BSrE's esign client, with the Dinas's client credentials from Secrets Manager."""
    import json

    from izin.bsre import BsreClient
    from izin.integrations import StdlibHttp

    config = settings()
    credentials = json.loads(secret(config.bsre_credentials_secret_arn))
    return BsreClient(
        config.bsre_base_url,
        str(credentials["client_id"]),
        str(credentials["client_secret"]),
        StdlibHttp(BSRE_TIMEOUT_SECONDS),
    )


def tembusan_seal() -> Callable[[bytes], bytes] | None:
    """The Dinas's e-seal for the tembusan copy when BSRE_SEAL_TEMBUSAN is on; else None.
    A seal account missing from the secret is a BsreError, as BSrE refusing would be."""
    config = settings()
    if not config.bsre_seal_tembusan:  # on, it has BSRE_BASE_URL (settings.NEEDED_WITH)
        return None
    import json  # only a Dinas that seals its copies pays for these at a cold start

    import pyotp

    from izin.bsre import BsreError, SealKey

    def seal(pdf: bytes) -> bytes:
        credentials = json.loads(secret(config.bsre_credentials_secret_arn))
        account, totp_secret = (
            credentials.get(k) for k in ("seal_id_subscriber", "seal_totp_secret")
        )
        if not account or not totp_secret:
            raise BsreError("the BSrE secret holds no seal account (seal_id_subscriber)")
        key = SealKey(str(account), pyotp.TOTP(str(totp_secret)).now())
        return bsre_client().seal_pdf(
            pdf, key, location="Pontianak", reason="Tembusan BAP kepada DPMPTSP"
        )

    return seal


def bsre_verify() -> Callable[[bytes], Verification] | None:
    """BSrE's verify API for the verify page when BSRE_BASE_URL is set; else None."""
    if not settings().bsre_base_url:
        return None
    return lambda pdf: bsre_client().verify_pdf(pdf)


def offline_verify() -> Callable[[bytes], Verification] | None:
    """The verify page's own check of a PDF's signatures against BSrE's roots (when BSrE
    cannot be reached), where BSRE_TRUST_ROOTS_FILE names them; else None."""
    path = settings().bsre_trust_roots_file
    if not path:
        return None
    from pathlib import Path

    from izin.bsre import Verification
    from izin.pdf_signatures import verify_with

    roots = Path(path).read_bytes()

    def check(pdf: bytes) -> Verification:
        names = verify_with(pdf, roots)
        if names is None:
            return Verification(False, "INVALID")
        return Verification(True, "VALID", tuple(names))

    return check


def callbacks() -> StepFunctionsCallbacks:
    """Step Functions' task callbacks."""
    return StepFunctionsCallbacks()


def calendar() -> HolidayCalendar:
    """The hari kerja calendar of last year to three years on, with the Dinas's own days.

    The Dinas's entries are an SSM parameter (read at most every five minutes), so a day
    off added or cancelled by decree needs no deploy.
    """
    year = now().year
    return _calendar(tuple(range(year - 1, year + 3)), tuple(dinas_calendar_entries()))


@functools.lru_cache(maxsize=4)
def _calendar(years: tuple[int, ...], entries: tuple[DinasEntry, ...]) -> HolidayCalendar:
    return HolidayCalendar.indonesia(years, entries)


def dinas_calendar_entries() -> list[DinasEntry]:
    """The Dinas's days off added or cancelled, from its SSM parameter (none when unset)."""
    name = settings().calendar_parameter
    if not name:
        return []
    from pydantic import TypeAdapter

    text = str(_ssm_parameters().get(name, max_age=300))
    return TypeAdapter(list[DinasEntry]).validate_json(text or "[]")


def secret(arn: str) -> str:
    """A secret's value from Secrets Manager (cached for five minutes by Powertools)."""
    value: Any = _secrets().get(arn, max_age=300)
    return str(value)


# Powertools' providers on the container's own clients: its default providers would each
# make a boto3 session of their own.
@functools.cache
def _ssm_parameters() -> Any:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    from izin.aws import client

    return SSMProvider(boto3_client=client("ssm"))


@functools.cache
def _secrets() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from izin.aws import client

    return SecretsProvider(boto3_client=client("secretsmanager"))


def forget_parameters() -> None:
    """Drop the providers (and their caches) made for a previous runtime's endpoint."""
    _ssm_parameters.cache_clear()
    _secrets.cache_clear()


def read_object(key: str) -> bytes:
    """A document's bytes from the bucket."""
    from izin.aws import client

    body: bytes = client("s3").get_object(Bucket=settings().bucket_name, Key=key)["Body"].read()
    return body


def put_object(key: str, content: bytes, content_type: str) -> None:
    """Store a document in the bucket."""
    from izin.aws import client

    client("s3").put_object(
        Bucket=settings().bucket_name, Key=key, Body=content, ContentType=content_type
    )


def presigned_url(key: str, seconds: int = 900) -> str:
    """A short-lived link to a document for a task page."""
    from izin.aws import presign_client

    url: str = presign_client().generate_presigned_url(
        "get_object", Params={"Bucket": settings().bucket_name, "Key": key}, ExpiresIn=seconds
    )
    return url


class _NoNewApplications:
    """An officer records an awaited event, never OSS's permohonan: no execution starts."""

    def start(self, name: str, state: dict[str, Any]) -> bool:
        raise ValueError("an application starts only from OSS, never by hand")


def record_event(event: InboundEvent) -> str:
    """Apply an event an officer recorded by hand, as the inbound function applies webhooks."""
    from izin.events import apply_event

    return apply_event(
        event,
        store=store(),
        executions=_NoNewApplications(),
        callbacks=callbacks(),
        now=now(),
    )


def manual_tasks(now: datetime) -> ManualTasks:
    """The Operator's manual tasks (izin.tasks.issue_manual_task) with this function's adapters."""
    from izin.tasks import issue_manual_task

    issue: ManualTasks = functools.partial(
        issue_manual_task,
        store=store(),
        mailer=mailer(),
        roster=roster(),
        public_base_url=settings().public_base_url,
        now=now,
    )
    return issue


def incidents(now: datetime) -> Incidents:
    """The console's incidents: the stack's DLQs on SQS, the Operator's record-by-hand mail."""
    from izin.aws import client
    from izin.console import Incidents
    from izin.incidents import SqsDeadLetters, dead_letter_queues
    from izin.tasks import Kind, issue_manual_task

    config = settings()

    def issue_link(id_izin: str, event_key: str) -> str:
        return issue_manual_task(
            Kind.RECORD,
            id_izin,
            None,
            store=store(),
            mailer=mailer(),
            roster=roster(),
            public_base_url=config.public_base_url,
            now=now,
            event=event_key,
        )

    return Incidents(
        dead_letters=SqsDeadLetters(client("sqs")),
        queues=dead_letter_queues(config),
        issue_link=issue_link,
        calendar=calendar(),
        config=config,
    )


def document_reader() -> Read:
    """The documents' bucket, read by (bucket, key): the audit export's source."""
    from izin.audit_export import s3_reader
    from izin.aws import client

    return s3_reader(client("s3"))


class S3Evidence:
    """The bucket as izin.evidence uses it: presigned POST forms, HeadObject, reads."""

    def upload_form(
        self, prefix: str, redirect: str, max_bytes: int, seconds: int
    ) -> tuple[str, dict[str, str]]:
        """A presigned POST (SigV4, the bucket's regional host) for keys under `prefix`."""
        from izin.aws import presign_client

        post: dict[str, Any] = presign_client().generate_presigned_post(
            settings().bucket_name,
            prefix + "${filename}",
            Fields={"success_action_redirect": redirect},
            Conditions=[
                ["starts-with", "$key", prefix],
                ["content-length-range", 1, max_bytes],
                {"success_action_redirect": redirect},
            ],
            ExpiresIn=seconds,
        )
        return str(post["url"]), {str(k): str(v) for k, v in post["fields"].items()}

    def head(self, key: str) -> int | None:
        """The object's size, or None when there is none."""
        from botocore.exceptions import ClientError

        from izin.aws import client

        try:
            answer = client("s3").head_object(Bucket=settings().bucket_name, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(answer["ContentLength"])

    def read(self, key: str) -> bytes:
        """The object's bytes."""
        return read_object(key)

    def delete(self, key: str) -> None:
        """Remove a refused upload."""
        from izin.aws import client

        client("s3").delete_object(Bucket=settings().bucket_name, Key=key)

    def link(self, key: str, content_type: str) -> str:
        """A short-lived link that serves the object as the type it was found to be."""
        from izin.aws import presign_client

        url: str = presign_client().generate_presigned_url(
            "get_object",
            Params={
                "Bucket": settings().bucket_name,
                "Key": key,
                "ResponseContentType": content_type,
            },
            ExpiresIn=900,
        )
        return url


def evidence() -> S3Evidence:
    """The evidence uploads' bucket adapter."""
    return S3Evidence()
