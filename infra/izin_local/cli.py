"""The `izin` command (CONTRACT §4): serve locally, demo, status, benchmark, simulate events.

Run `izin --help`. Every subcommand that starts the system starts the local runtime of
template.yaml; `izin status` and `izin simulate` talk to one that is already running.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from izin_local.config import ARRIVAL_GAP, TEMPLATE, quiet, runtime_options, webhook_secrets

if TYPE_CHECKING:  # the layer is imported by each command, after its endpoint is set
    from izin.roster import Roster
    from izin.store import Store


def cmd_serve(args: argparse.Namespace) -> int:
    from izin_local.serve import serve

    return serve(
        port=args.port,
        aws_port=args.aws_port,
        state_dir=Path(args.state_dir),
        template=TEMPLATE,
        **runtime_options(args.workday_seconds),
    )


def cmd_demo(args: argparse.Namespace) -> int:
    quiet()
    from izin_local.demo import run_demo

    return run_demo(
        state_dir=Path(args.state_dir),
        template=TEMPLATE,
        options={**runtime_options(args.workday_seconds), "whole_process": True},
    )


def cmd_bench(args: argparse.Namespace) -> int:
    quiet()
    from izin_local.bench import run_bench

    return run_bench(
        applications=args.applications,
        state_dir=Path(args.state_dir),
        template=TEMPLATE,
        options={**runtime_options(args.workday_seconds), "whole_process": True},
        arrival_gap=args.arrival_gap,
    )


def cmd_status(args: argparse.Namespace) -> int:
    from izin_local.status import print_status

    return print_status(
        args.id_izin, as_json=args.json, endpoint_url=args.endpoint_url, table=args.table
    )


def cmd_laporan(args: argparse.Namespace) -> int:
    from izin_local.status import find_table, use_endpoint

    use_endpoint(args.endpoint_url)
    from izin.calendar import HolidayCalendar
    from izin.reports import SUMMARY_HEADERS, as_csv, gather, report
    from izin.store import DynamoStore

    store = DynamoStore(find_table(args.table))
    figures = report(args.bulan, gather(store, bulan=args.bulan), calendar=HolidayCalendar.load())
    if args.csv:
        sys.stdout.write(as_csv(figures))
        return 0
    for title, value in zip(SUMMARY_HEADERS, figures.summary_row(), strict=True):
        print(f"{title:<34} {value}")
    print()
    headers = ("Diputuskan", "Median", "P90", "Dikembalikan", "SLA %")
    print(f"{'Langkah':<8} {headers[0]:>10} {headers[1]:>8} {headers[2]:>8} ", end="")
    print(f"{headers[3]:>12} {headers[4]:>7}")
    for row in figures.step_rows():
        print(f"{row[1]:<8} {row[3]:>10} {row[4]!s:>8} {row[5]!s:>8} {row[6]:>12} {row[9]!s:>7}")
    if figures.officer_rows():
        print()
        print(f"{'Petugas':<36} {'Bertenggat':>10} {'Tepat':>6} {'SLA %':>7}")
    for row in figures.officer_rows():
        print(f"{row[2][:36]:<36} {row[3]:>10} {row[4]:>6} {row[5]!s:>7}")
    return 0


def cmd_backfill_open(args: argparse.Namespace) -> int:
    from izin_local.status import find_table, use_endpoint

    use_endpoint(args.endpoint_url)
    from izin.events import mark_events_seen
    from izin.store import DynamoStore
    from izin.workspace import mark_open_applications

    table = DynamoStore(find_table(args.table))
    marked = mark_open_applications(table)
    print(
        f"{len(marked)} open application(s) marked" + (f": {', '.join(marked)}" if marked else "")
    )
    print(f"{mark_events_seen(table)} event id(s) of open applications marked")
    return 0


def cmd_audit_export(args: argparse.Namespace) -> int:
    from izin_local.status import find_table, use_endpoint

    if bool(args.id_izin) == bool(args.dari or args.sampai):
        print("izin audit-export: give an ID, or --dari and/or --sampai", file=sys.stderr)
        return 2
    use_endpoint(args.endpoint_url)
    import boto3
    from izin.audit_export import NoSuchApplication, export, export_range, s3_reader
    from izin.console import Filters, received_range
    from izin.store import DynamoStore

    store, read, now = (
        DynamoStore(find_table(args.table)),
        s3_reader(boto3.client("s3")),
        datetime.now(UTC),
    )
    if not args.id_izin:
        since, until = received_range(Filters(dari=args.dari, sampai=args.sampai))
        body = export_range(store, since, until, read, now=now)
        name = f"audit-{args.dari or ''}_{args.sampai or ''}.zip"
    else:
        try:
            body = export(store, args.id_izin, read, now=now)
        except NoSuchApplication:
            print(f"izin audit-export: no application {args.id_izin}", file=sys.stderr)
            return 1
        name = f"audit-{re.sub(r'[^A-Za-z0-9._-]', '_', args.id_izin)}.zip"
    out = Path(args.out or name)
    out.write_bytes(body)
    print(out)
    return 0


def cmd_calendar(args: argparse.Namespace) -> int:
    from izin.calendar import DinasEntry, HolidayCalendar
    from pydantic import TypeAdapter, ValidationError

    entries: list[DinasEntry] = []
    if args.dinas:
        try:
            entries = TypeAdapter(list[DinasEntry]).validate_json(Path(args.dinas).read_bytes())
        except (OSError, ValidationError) as error:
            print(f"izin calendar: {args.dinas}: {error}", file=sys.stderr)
            return 2
    days = HolidayCalendar.indonesia([args.year], entries).days_off(args.year)
    if args.json:
        listed = [{"date": d.date.isoformat(), "name": d.name, "source": d.source} for d in days]
        print(json.dumps({"year": args.year, "days_off": listed}, ensure_ascii=False, indent=2))
        return 0
    print(f"Hari libur nasional dan cuti bersama {args.year} (sumber: library, estimate, dinas)")
    for day in days:
        print(f"  {day.date.isoformat()}  {day.source:<8}  {day.name}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from izin_local.status import find_table, use_endpoint

    use_endpoint(args.endpoint_url)
    from izin.resume import NotResumable

    from izin_local.resume import resume, state_machine_arn

    try:
        arn = resume(
            args.id_izin,
            table=find_table(args.table),
            state_machine_arn=args.state_machine_arn or state_machine_arn(None),
            by=args.by,
        )
    except NotResumable as error:
        print(f"izin resume: {error}", file=sys.stderr)
        return 1
    print(f"{args.id_izin}: dilanjutkan ({arn})")
    return 0


def _roster_in_force(store: Store) -> tuple[Roster, Path]:
    """The roster the functions use now (the table's, else the file's), and the file."""
    from izin.roster import in_force, load_roster

    roster_file = Path(
        os.environ.get("IZIN_ROSTER_FILE")
        or Path(__file__).resolve().parents[2] / "layers/izin/izin/data/roster.json"
    )
    return in_force(store.roster_record(), load_roster(roster_file)), roster_file


def cmd_repair(args: argparse.Namespace) -> int:
    from izin_local.status import find_table, use_endpoint

    use_endpoint(args.endpoint_url)
    from datetime import UTC, datetime

    from izin.store import DynamoStore
    from izin.tasks import NotRepairable, issue_repair

    store = DynamoStore(find_table(args.table))
    try:
        link = issue_repair(
            args.id_izin,
            args.step,
            store=store,
            roster=_roster_in_force(store)[0],
            public_base_url=args.base_url,
            now=datetime.now(UTC),
        )
    except NotRepairable as error:
        print(f"izin repair: {error}", file=sys.stderr)
        return 1
    print(f"{args.id_izin}: perbaiki data langkah {args.step:02d} di {link}")
    print(f"lalu: izin resume {args.id_izin}")
    return 0


def cmd_petugas(args: argparse.Namespace) -> int:
    """An admin's acts on an officer's second factor: enroll (email a link), end sessions."""
    from izin_local.status import find_table, use_endpoint

    use_endpoint(args.endpoint_url)
    from datetime import UTC, datetime

    from izin import enrollment, sessions
    from izin.auth import KmsCipher, officer_by_nip
    from izin.documents import load_dinas
    from izin.mail import SesMailer, sender
    from izin.settings import dinas_path
    from izin.store import DynamoStore

    store = DynamoStore(find_table(args.table))
    roster, roster_file = _roster_in_force(store)
    officer = officer_by_nip(roster, args.nip)
    if officer is None:
        print(
            f"izin petugas: NIP {args.nip} tidak aktif di roster (tabel, atau {roster_file})",
            file=sys.stderr,
        )
        return 1
    if args.action == "keluar":
        sessions.end_all_sessions(store, officer.nip)
        print(f"{officer.nama} ({officer.nip}): semua sesi diakhiri")
        return 0
    # Sent as the functions send: the Dinas's name from dinas.json, MAIL_FROM, and the
    # stack's configuration set (bounces reach the trail; SES authorizes on it too).
    name = load_dinas(dinas_path(os.environ.get("IZIN_DINAS_FILE", ""))).nama_pengirim_email
    configuration_set = args.configuration_set
    if configuration_set is None:
        configuration_set = _mail_configuration_set()
    enrollment.start_enrollment(
        store,
        KmsCipher(args.key_id or _officer_secrets_key()),
        SesMailer(sender(name, args.mail_from), configuration_set),
        officer,
        public_base_url=args.base_url,
        now=datetime.now(UTC),
    )
    # The link goes to the officer alone: printed here, the admin could enroll in their place.
    print(f"{officer.nama} ({officer.nip}): tautan pendaftaran dikirim ke {officer.email}")
    return 0


class KeyNotFound(LookupError):
    """Not exactly one KMS key at the endpoint is the officers' secrets'."""


class ConfigurationSetNotFound(LookupError):
    """More than one SES configuration set at the endpoint is a stack's (`<stack>-izin`)."""


def _mail_configuration_set() -> str:
    """The stack's SES configuration set: the one named `<stack>-izin`; "" where none is."""
    import boto3

    names = [
        str(name)
        for name in boto3.client("sesv2").list_configuration_sets().get("ConfigurationSets", [])
        if str(name).endswith("-izin")
    ]
    if len(names) > 1:
        raise ConfigurationSetNotFound(f"{len(names)} SES configuration sets ending in -izin")
    return names[0] if names else ""


def _officer_secrets_key() -> str:
    """The one KMS key at the endpoint that encrypts officers' TOTP secrets."""
    import boto3

    kms = boto3.client("kms")
    keys = [
        k["KeyId"]
        for k in kms.list_keys()["Keys"]
        if "TOTP" in str(kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"].get("Description"))
    ]
    if len(keys) != 1:
        raise KeyNotFound(f"{len(keys)} KMS keys for officers' TOTP secrets, not one")
    return str(keys[0])


def cmd_simulate(args: argparse.Namespace) -> int:
    from izin_local import samples
    from izin_local.webhook_client import envelope, post_event

    if args.event == "receive-nib":
        return _receive_nib(args)

    events: dict[str, tuple[str, str, Callable[[str], dict[str, Any]]]] = {
        "permohonan": ("oss", "permohonan.diajukan", samples.permohonan),
        "verifikasi": ("siinas", "verifikasi.diajukan", samples.verifikasi),
        "komitmen": ("siinas", "komitmen.terpenuhi", samples.komitmen),
        "izin-status": ("oss", "izin.status", samples.izin_status),
    }
    source, event_type, make = events[args.event]
    data: dict[str, Any] = make(args.id_izin)
    if args.data:
        data.update(args.data)
    status, answer = post_event(
        args.url,
        source,
        envelope(event_type, data, event_id=args.event_id),
        secret=webhook_secrets()[source],
    )
    print(f"{source} {event_type} {args.id_izin}: {status} {json.dumps(answer)}")
    return 0 if status in (200, 202) else 1


def _receive_nib(args: argparse.Namespace) -> int:
    """`izin simulate receive-nib ID`: OSS's PIA push of a NIB whose checklist holds ID."""
    from izin_local import samples
    from izin_local.config import pia_credentials
    from izin_local.pia_client import post_receive_nib

    data = samples.data_nib(args.id_izin)
    if args.data:
        data.update(args.data)
    status, answer = post_receive_nib(args.url, data, credentials=pia_credentials())
    print(f"oss receiveNIB {args.id_izin}: {status} {json.dumps(answer, ensure_ascii=False)}")
    return 0 if status == 200 else 1


def cmd_fault(args: argparse.Namespace) -> int:
    import urllib.error
    import urllib.request

    if args.fail_next is not None:
        fault: dict[str, Any] = {"fail_next": args.fail_next, "status": args.status}
    elif args.slow_next is not None:
        fault = {"slow_next": args.slow_next, "seconds": args.seconds}
    else:
        fault = {"down": True} if args.down else {"up": True}
    request = urllib.request.Request(  # noqa: S310 - the local runtime's own URL
        f"{args.url.rstrip('/')}/_local/simulators/{args.simulator}/faults",
        data=json.dumps(fault).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            print(f"{args.simulator}: {answer.read().decode()}")
            return 0
    except urllib.error.HTTPError as error:
        print(f"{args.simulator}: {error.code} {error.read().decode()}")
        return 1


# -- the arguments' types: a bad value is refused by argparse, in one line ------------------


def _whole(low: int, high: int) -> Callable[[str], int]:
    def whole(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{number} is not between {low} and {high}")
        return number

    return whole


def _month(text: str) -> str:
    import re

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a month TTTT-BB (e.g. 2026-12)")
    return text


def _positive(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return number


def _url(text: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is not one
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s)://host[:port] URL")
    return text


def _endpoint(text: str) -> str:
    return text and _url(text)  # empty: AWS itself


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("not a JSON object ({...})")
    return value


_PORT = _whole(1, 65535)


def _aws_arguments(command: argparse.ArgumentParser) -> None:
    """--endpoint-url and --table, for a command that reads the runtime's table."""
    command.add_argument(
        "--endpoint-url",
        type=_endpoint,
        default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
    )
    command.add_argument("--table", default=os.environ.get("TABLE_NAME"))


class _Parser(argparse.ArgumentParser):
    """A bad argument is one line on stderr and exit 2, not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = _Parser(prog="izin", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    local = sub.add_parser("local", help="the local runtime").add_subparsers(
        dest="local_command", required=True
    )
    serve = local.add_parser("serve", help="serve the HTTP API and the AWS endpoint locally")
    serve.add_argument("--port", type=_PORT, default=3000)
    serve.add_argument("--aws-port", type=_PORT, default=5000)
    serve.add_argument("--state-dir", default=".local")
    serve.add_argument(
        "--workday-seconds",
        type=_positive,
        default=None,
        help="make one hari kerja last this many seconds (default: real time)",
    )
    serve.set_defaults(run=cmd_serve)

    demo = sub.add_parser("demo", help="one application through all 20 steps, every link followed")
    demo.add_argument("--state-dir", default=".local/demo")
    demo.add_argument("--workday-seconds", type=_positive, default=600)
    demo.set_defaults(run=cmd_demo)

    bench = sub.add_parser(
        "bench", help="N applications through the SOP concurrently; prints figures"
    )
    bench.add_argument("--applications", type=_whole(1, 10_000), default=10)
    bench.add_argument("--state-dir", default=".local/bench")
    bench.add_argument("--workday-seconds", type=_positive, default=3600)
    bench.add_argument(
        "--arrival-gap", type=_positive, default=ARRIVAL_GAP, help="seconds between arrivals"
    )
    bench.set_defaults(run=cmd_bench)

    status = sub.add_parser(
        "status", help="applications, their step, who holds it, time against the SLA"
    )
    status.add_argument("id_izin", nargs="?")
    status.add_argument("--json", action="store_true")
    _aws_arguments(status)
    status.set_defaults(run=cmd_status)

    laporan = sub.add_parser(
        "laporan", help="a month's figures: received, completed, per step times and send-backs"
    )
    laporan.add_argument("--bulan", type=_month, required=True, help="TTTT-BB, e.g. 2026-12")
    laporan.add_argument("--csv", action="store_true", help="CSV with Indonesian headers")
    _aws_arguments(laporan)
    laporan.set_defaults(run=cmd_laporan)

    backfill = sub.add_parser(
        "backfill-open",
        help="once, after upgrading: mark the open applications received before the workspace's "
        "open index, so /meja lists them however old, and their events' ids, so an event sent "
        "again with another time is a duplicate",
    )
    _aws_arguments(backfill)
    backfill.set_defaults(run=cmd_backfill_open)

    audit = sub.add_parser(
        "audit-export",
        help="one application's audit ZIP: every document version, the trail, SHA-256 manifest",
    )
    audit.add_argument("id_izin", nargs="?", default="")
    audit.add_argument(
        "--dari", type=date.fromisoformat, help="received on or after (TTTT-BB-HH, WIB)"
    )
    audit.add_argument("--sampai", type=date.fromisoformat, help="received on or before")
    audit.add_argument("--out", help="the ZIP to write (default audit-ID.zip here)")
    _aws_arguments(audit)
    audit.set_defaults(run=cmd_audit_export)

    calendar = sub.add_parser(
        "calendar", help="a year's days off as the SLA counts them (CONTRACT §4)"
    )
    calendar.add_argument("year", type=_whole(1900, 2200))
    calendar.add_argument("--json", action="store_true")
    calendar.add_argument(
        "--dinas", help="a JSON file of the Dinas's entries (as its SSM parameter holds them)"
    )
    calendar.set_defaults(run=cmd_calendar)

    resume = sub.add_parser(
        "resume", help="start a TERHENTI application again from the state that failed"
    )
    resume.add_argument("id_izin")
    resume.add_argument(
        "--by",
        default=os.environ.get("USER", "administrator"),
        help="who resumes it (kept in the audit trail)",
    )
    _aws_arguments(resume)
    resume.add_argument("--state-machine-arn", default=os.environ.get("STATE_MACHINE_ARN"))
    resume.set_defaults(run=cmd_resume)

    repair = sub.add_parser(
        "repair",
        help="a link on which the Operator corrects a TERHENTI application's data of one step",
    )
    repair.add_argument("id_izin")
    repair.add_argument("--step", type=_whole(1, 20), required=True)
    repair.add_argument(
        "--base-url",
        type=_url,
        default=os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:3000"),
        help="where the task pages are served (PUBLIC_BASE_URL)",
    )
    _aws_arguments(repair)
    repair.set_defaults(run=cmd_repair)

    petugas = sub.add_parser(
        "petugas",
        help="an officer's second factor: `enroll` emails an enrollment link (a new secret), "
        "`keluar` ends all their sessions",
    )
    petugas.add_argument("action", choices=["enroll", "keluar"])
    petugas.add_argument("nip")
    petugas.add_argument(
        "--base-url",
        type=_url,
        default=os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:3000"),
        help="where the pages are served (PUBLIC_BASE_URL)",
    )
    petugas.add_argument(
        "--mail-from",
        default=os.environ.get("MAIL_FROM", "izin@disperindag.kalbar.example"),
        help="the SES sender, as the stack's MailFrom (MAIL_FROM)",
    )
    petugas.add_argument(
        "--configuration-set",
        default=os.environ.get("MAIL_CONFIGURATION_SET"),
        help="the stack's SES configuration set (MAIL_CONFIGURATION_SET; default: the one "
        "named <stack>-izin)",
    )
    petugas.add_argument(
        "--key-id",
        default=os.environ.get("IZIN_TOTP_KEY_ID", ""),
        help="the KMS key of officers' secrets (default: the one whose description says TOTP)",
    )
    _aws_arguments(petugas)
    petugas.set_defaults(run=cmd_petugas)

    simulate = sub.add_parser(
        "simulate",
        help="post a correctly signed OSS or SIINAS event, or OSS PIA's receiveNIB (receive-nib)",
    )
    simulate.add_argument(
        "event", choices=["permohonan", "verifikasi", "komitmen", "izin-status", "receive-nib"]
    )
    simulate.add_argument("id_izin")
    simulate.add_argument("--url", type=_url, default="http://127.0.0.1:3000")
    simulate.add_argument("--event-id", default=None)
    simulate.add_argument(
        "--data", type=_json_object, help="a JSON object merged into the event's data"
    )
    simulate.set_defaults(run=cmd_simulate)

    fault = sub.add_parser(
        "fault", help="make a built-in simulator of `izin local serve` misbehave on purpose"
    )
    fault.add_argument("simulator", choices=["siinas", "oss"])
    what = fault.add_mutually_exclusive_group(required=True)
    calls = _whole(0, 1000)
    what.add_argument(
        "--fail-next", type=calls, metavar="N", help="answer the next N calls with --status"
    )
    what.add_argument(
        "--slow-next", type=calls, metavar="N", help="answer the next N calls --seconds late"
    )
    what.add_argument("--down", action="store_true", help="stop listening: connections are refused")
    what.add_argument("--up", action="store_true", help="listen again")
    fault.add_argument("--status", type=_whole(100, 599), default=500)
    fault.add_argument("--seconds", type=_positive, default=30.0)
    fault.add_argument("--url", type=_url, default="http://127.0.0.1:3000")
    fault.set_defaults(run=cmd_fault)
    return top


_START = "start the local runtime with `izin local serve` (or `make serve`)"


def trouble(error: Exception, args: argparse.Namespace) -> str | None:
    """One line that says what went wrong outside the command and what to do; None: a bug."""
    import urllib.error

    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    from izin_local.resume import StateMachineNotFound
    from izin_local.status import TableNotFound

    endpoint = getattr(args, "endpoint_url", "") or "AWS"
    if isinstance(error, KeyNotFound):
        return f"{endpoint}: {error}: name it with --key-id (or IZIN_TOTP_KEY_ID), or {_START}"
    if isinstance(error, ConfigurationSetNotFound):
        return f"{endpoint}: {error}: name the stack's with --configuration-set"
    if isinstance(error, StateMachineNotFound):
        found = f"{len(error.arns)} ({', '.join(error.arns)})" if error.arns else "no"
        return (
            f"{endpoint} has {found} Izin Perluasan state machines, not one: name it with "
            f"--state-machine-arn (or STATE_MACHINE_ARN), or {_START}"
        )
    if isinstance(error, TableNotFound):
        found = f" (it has {', '.join(error.names)})" if error.names else ""
        return (
            f"{endpoint} has no single table ending in IzinTable{found}: name the table "
            f"with --table (or TABLE_NAME), or {_START}"
        )
    if isinstance(error, EndpointConnectionError):
        return (
            f"nothing answers at the AWS endpoint {endpoint}: {_START}, or point at a "
            "running one with --endpoint-url (or AWS_ENDPOINT_URL)"
        )
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException" and getattr(args, "table", None):
            return (
                f"{endpoint} has no table {args.table}: name the runtime's table with "
                f"--table (or TABLE_NAME), or {_START} and leave --table out"
            )
        return f"{endpoint} refused the request ({code}): {error}"
    if isinstance(error, NoCredentialsError | NoRegionError):
        missing = "region" if isinstance(error, NoRegionError) else "credentials"
        return (
            f"no AWS {missing} configured for {endpoint}: configure the {missing}, or "
            f"{_START} and leave --endpoint-url at its default"
        )
    if isinstance(error, urllib.error.URLError | ConnectionError):
        url = getattr(args, "url", "")
        return f"nothing answers at {url}: {_START}, or point at a running one with --url"
    if isinstance(error, OSError) and args.command == "local":
        return (
            f"cannot serve on ports {args.port} and {args.aws_port} ({error.strerror}): stop "
            "what holds them, or choose others with --port and --aws-port"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; what fails outside it is one line on stderr and exit 1."""
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except Exception as error:
        line = trouble(error, args)
        if line is None:
            raise
        print(f"izin {args.command}: {line}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
