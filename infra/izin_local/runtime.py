"""The local runtime: the whole system of template.yaml on one machine, no Docker, no AWS.

`LocalRuntime.start()` starts moto in server mode, applies the patches that make it
faithful, builds every resource of the template in it, and routes every Lambda invocation
to the real handler in this process. Around it: SQS pollers for the functions' SQS
events, an HTTP gateway for their HttpApi events, an SES outbox on disk and simulators of
SIINAS, OSS and BSrE (its esign API: the Kepala Dinas signs step 14 through it).

State: moto keeps everything in memory, so each start begins from a clean world; the
state dir holds only what a person reads (the outbox), and the outbox folder is emptied
at start so it never shows mail of a world that no longer exists.

Functions run as on Lambda, each in worker processes of its own (`lambda_runner`), with
its own environment: the template's variables, Lambda's, the credentials of its own
execution role (built from the template's policies and enforced by moto, `iam`), the AWS
endpoint and the caller's `env` (like `sam local --env-vars`, for every function).

This process's environment: start() sets the AWS endpoint, region, an administrator's
credentials, the variables the functions share (TABLE_NAME...) and the caller's `env`,
for the tests and tools that run here; stop() puts `os.environ` back as it was. One
runtime at a time per process.
"""

from __future__ import annotations

import compileall
import contextlib
import gc
import importlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from izin_local import moto_patches, sdk_data
from izin_local.config import BSRE_SWITCH
from izin_local.gateway import HttpGateway
from izin_local.lambda_runner import FunctionSpec, LambdaRunner, lambda_environment
from izin_local.moto_server import MotoServer
from izin_local.officer import forget_sessions
from izin_local.outbox import Outbox, capture_ses_mail
from izin_local.provisioner import (
    Provisioned,
    Provisioner,
    email_addresses,
    shared_environment,
)
from izin_local.simulators import OssSimulator, SiinasSimulator
from izin_local.sqs_pollers import SqsPollers
from izin_local.template import DEFAULT_REGION, DEFAULT_STACK_NAME, Resolver, Template

if TYPE_CHECKING:
    from izin_local.bsre_simulator import BsreSimulator

logger = logging.getLogger(__name__)

_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}
_STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
_TABLE_TYPES = ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")


def settle_heap() -> None:
    """Tune the cyclic garbage collector for a long-lived process whose heap, as it is now,
    lives as long as it does: a process that holds a started runtime, a test process once
    its tests are collected (tests/conftest.py).

    A runtime's start builds what stays (moto's backends and the provisioned world,
    botocore's models, the template); the items, documents and executions the applications
    add pile up beside it. At CPython's default thresholds every full collection walks all
    of it: with 30 applications in a burst, four walks took 1.1 s of the runtime's 32 s of
    CPU. Garbage is collected once, what remains is frozen (never walked again), and the
    youngest generation is ten times larger, so the full walks are rarer: none in that
    burst. Frozen objects that become cyclic garbage later are never freed (those freed
    by their reference count are): only for a process whose heap is its own."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(7000, 10, 10)


class LocalRuntime:
    """The system of one template.yaml, running locally; a context manager."""

    def __init__(
        self,
        template_path: Path,
        state_dir: Path,
        *,
        http_port: int = 0,
        aws_port: int = 0,
        parameter_overrides: dict[str, str] | None = None,
        secret_values: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = DEFAULT_REGION,
        function_log: Path | None = None,
        whole_process: bool = False,
    ) -> None:
        self.template_path = Path(template_path)
        self.state_dir = Path(state_dir)
        self._http_port = http_port
        self._aws_port = aws_port
        self._parameter_overrides = dict(parameter_overrides or {})
        self._secret_values = dict(secret_values or {})
        # A local roster may carry officers' TOTP secrets (CONTRACT §4): only here is that
        # allowed; the template never sets it, so a deployed function refuses such a roster.
        self._env = {"IZIN_LOCAL_ROSTER_SECRETS": "true", **dict(env or {})}
        self.stack_name = stack_name
        self.region = region
        # Where the functions' log lines go (CloudWatch Logs, on AWS): this file, started
        # afresh, or else this process's stdout.
        self.function_log = function_log
        # The process lives for this runtime (`izin local serve`, `bench`, `demo`): its heap
        # is settled once the runtime is up (settle_heap).
        self.whole_process = whole_process
        self.outbox = Outbox(self.state_dir / "outbox")
        self.siinas: SiinasSimulator | None = None
        self.oss: OssSimulator | None = None
        self.bsre: BsreSimulator | None = None  # kept off /_local/simulators: it holds passphrases
        self.provisioned = Provisioned()
        self._moto = MotoServer(aws_port)
        self._gateway: HttpGateway | None = None
        self._runner: LambdaRunner | None = None
        self._stack: contextlib.ExitStack | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Build the world and start serving; on any failure, undo what was started."""
        if self._stack is not None:
            raise RuntimeError("this runtime is already started")
        with contextlib.ExitStack() as stack:
            self._start(stack)
            self._stack = stack.pop_all()
        if self.whole_process:
            settle_heap()
        logger.info("local runtime up: HTTP %s, AWS %s", self.http_url, self.aws_endpoint)

    def stop(self) -> None:
        """Stop everything start() started, in reverse order; restore os.environ. The
        officers' sessions this process's helpers held on it are forgotten: a runtime
        started next on the same port would refuse them (its table is another)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            url = self._gateway.url if self._gateway is not None else ""
            stack.close()
            if url:
                forget_sessions(url)
            logger.info("local runtime stopped")

    def _start(self, stack: contextlib.ExitStack) -> None:
        saved_environ = dict(os.environ)
        stack.callback(_restore_environ, saved_environ)
        self._clear_outbox()
        # This process's sessions (the provisioner's, the roles', moto's interpreter's)
        # share one parse of botocore's data files, as the zygote's workers do.
        sdk_data.share_parsed_files()

        # Patched before moto starts and unpatched after it stops, so no request or
        # execution ever sees moto half patched. Functions register once provisioned.
        log = None
        if self.function_log is not None:
            self.function_log.parent.mkdir(parents=True, exist_ok=True)
            log = stack.enter_context(self.function_log.open("w", encoding="utf-8"))
        self._runner = LambdaRunner(log=log)
        stack.callback(self._runner.close)
        # The zygote's imports go on beside moto's start and the provisioning: an
        # application's first invocation no longer waits for them (nor pays their CPU).
        self._runner.start_zygote()
        # Who is held to a role: the functions' sessions, and the interpreter as the
        # state machine's role; both known once the roles are built.
        sessions = moto_patches.RoleSessions()
        interpreter = moto_patches.InterpreterIdentity()
        stack.callback(
            moto_patches.apply_all(
                self._runner.invoke_by_name, sessions=sessions, identity=interpreter
            )
        )
        stack.callback(capture_ses_mail(self.outbox.directory))

        self._moto.start()
        stack.callback(self._moto.stop)
        os.environ.update(self._aws_environment())
        os.environ.update(self._env)

        template = Template.load(self.template_path)
        compile_code(template)
        resolver = Resolver(
            template,
            parameter_values=self._start_endpoints(stack, template.parameters),
            stack_name=self.stack_name,
            region=self.region,
        )
        secret_values = dict(self._secret_values)
        if self.bsre is not None:  # the simulator's own client, unless this shell gave one
            from izin_local.bsre_simulator import (
                CLIENT_ID,
                CLIENT_SECRET,
                SEAL_ID_SUBSCRIBER,
                SEAL_TOTP_SECRET,
            )

            credentials = {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "seal_id_subscriber": SEAL_ID_SUBSCRIBER,
                "seal_totp_secret": SEAL_TOTP_SECRET,
            }
            secret_values.setdefault("BsreCredentialsSecret", json.dumps(credentials))
        provisioner = Provisioner(resolver, self.aws_endpoint, secret_values=secret_values)
        self.provisioned = provisioner.provision()
        environment = shared_environment(self.provisioned.functions)
        os.environ.update(environment)
        _forget_layer_caches()
        _seed_officer_secrets()
        self.enroll_bsre()
        provisioner.verify_sender_domains(email_addresses(environment) | email_addresses(self._env))
        for credentials in self.provisioned.credentials.values():
            sessions.add(credentials["AWS_ACCESS_KEY_ID"])
        machines = [m for m in self.state_machine_arns if m in self.provisioned.credentials]
        if len(self.state_machine_arns) == 1 and machines:
            interpreter.credentials = self.provisioned.credentials[machines[0]]
        self._runner.register(
            self.provisioned.functions,
            environments={
                logical_id: lambda_environment(
                    spec,
                    credentials=self.provisioned.credentials.get(logical_id),
                    local={**self._aws_environment(endpoint_only=True), **self._env},
                )
                for logical_id, spec in self.provisioned.functions.items()
            },
        )

        pollers = SqsPollers(
            self._runner, self.provisioned, endpoint=self.aws_endpoint, region=self.region
        )
        pollers.start()
        stack.callback(pollers.stop)
        assert self._gateway is not None
        self._gateway.serve(self._runner)

    def _start_endpoints(
        self, stack: contextlib.ExitStack, declared: Mapping[str, Any]
    ) -> dict[str, str]:
        """Bind the gateway, start the simulators; the parameters that name them.

        The conventions (PublicBaseUrl, SiinasBaseUrl, OssBaseUrl) come first, the
        caller's overrides last. The gateway binds now, serving later: its URL must be
        known before any function's environment is resolved.
        """
        values: dict[str, str] = {}
        self._gateway = HttpGateway(
            port=self._http_port, outbox=self.outbox, simulators=self._simulator_list
        )
        stack.callback(self._gateway.stop)
        if "PublicBaseUrl" in declared:
            values["PublicBaseUrl"] = self.http_url

        for parameter, variable, simulator_type in (
            ("SiinasBaseUrl", "SIINAS_BASE_URL", SiinasSimulator),
            ("OssBaseUrl", "OSS_BASE_URL", OssSimulator),
        ):
            url = self._env.get(variable)
            if url is None:
                simulator = simulator_type()
                simulator.start()
                stack.callback(simulator.stop)
                url = simulator.url
                if isinstance(simulator, SiinasSimulator):
                    self.siinas = simulator
                else:
                    self.oss = simulator
            if parameter in declared:
                values[parameter] = url
        # BSrE: the one BSRE_BASE_URL names; the simulator when IZIN_BSRE=simulator; else
        # none, and step 14 is decided as CONTRACT §3 says (the documents sealed without it).
        if "BsreBaseUrl" in declared:
            url = self._env.get("BSRE_BASE_URL", "")
            if not url and self._env.get(BSRE_SWITCH) == "simulator":
                from izin_local.bsre_simulator import BsreSimulator

                self.bsre = BsreSimulator()
                self.bsre.start()
                stack.callback(self.bsre.stop)
                url = self.bsre.url
            values["BsreBaseUrl"] = url
        if "BsreTrustRootsFile" in declared and self.bsre is not None:
            # The verify page's offline check trusts the simulator's test CA, as it would BSrE's.
            roots = self.state_dir / "bsre-trust-roots.pem"
            roots.write_bytes(self.bsre.root_certificate_pem)
            values["BsreTrustRootsFile"] = str(roots)
        if "BsreSealTembusan" in declared:  # the Dinas's e-seal on the copy: off unless asked
            asked = self._env.get("BSRE_SEAL_TEMBUSAN") == "true"
            values["BsreSealTembusan"] = "true" if asked else "false"
        values.update(self._parameter_overrides)
        return values

    def _simulator_list(self) -> list[Any]:
        return [simulator for simulator in (self.siinas, self.oss) if simulator is not None]

    def _aws_environment(self, *, endpoint_only: bool = False) -> dict[str, str]:
        """Where AWS is (moto), and, unless `endpoint_only`, an administrator's keys."""
        no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
        endpoint = {
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }
        if endpoint_only:
            return endpoint
        return {
            **endpoint,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            **_FAKE_CREDENTIALS,
        }

    def _clear_outbox(self) -> None:
        directory = self.outbox.directory
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)

    # --- what tests and tools read -----------------------------------------------------

    @property
    def aws_endpoint(self) -> str:
        return self._moto.endpoint

    @property
    def http_url(self) -> str:
        if self._gateway is None:
            raise RuntimeError("the runtime is not started")
        return self._gateway.url

    @property
    def state_machine_arns(self) -> dict[str, str]:
        return self.provisioned.refs(*_STATE_MACHINE_TYPES)

    @property
    def queue_urls(self) -> dict[str, str]:
        return self.provisioned.refs("AWS::SQS::Queue")

    @property
    def table_names(self) -> dict[str, str]:
        return self.provisioned.refs(*_TABLE_TYPES)

    @property
    def bucket_names(self) -> dict[str, str]:
        return self.provisioned.refs("AWS::S3::Bucket")

    @property
    def function_names(self) -> dict[str, str]:
        return self.provisioned.refs("AWS::Serverless::Function")

    @property
    def functions(self) -> dict[str, FunctionSpec]:
        return dict(self.provisioned.functions)

    def seed_officer_secrets(self) -> None:
        """Enroll, from the roster as it is now, officers who have no authenticator secret
        yet (an officer put back on the roster while the runtime runs), and give the BSrE
        simulator their certificates."""
        _seed_officer_secrets()
        self.enroll_bsre()

    def enroll_bsre(self) -> None:
        """Give the BSrE simulator a certificate for each officer of the roster with a NIK,
        unlocked by their local `bsre_passphrase` or a code of their `bsre_totp_secret` (the
        roster as it is now)."""
        if self.bsre is None or not os.environ.get("TABLE_NAME"):
            return
        from izin import wiring

        enrolled = 0
        for officer in wiring.roster().officers:
            if officer.nik and officer.bsre_passphrase:
                self.bsre.enroll(
                    officer.nik, officer.nama, officer.bsre_passphrase, officer.bsre_totp_secret
                )
                enrolled += 1
        logger.info("officers enrolled in the BSrE simulator: %d", enrolled)

    def resource(self, logical_id: str) -> Mapping[str, Any]:
        """Ref and attributes of one resource, as the template's resolver saw them."""
        built = self.provisioned.resources[logical_id]
        return {"Ref": built.ref, **built.attributes}

    def invoke(self, function_logical_id: str, event: Any) -> Any:
        """Invoke a function in its worker; its result as Lambda would return it.

        A handler's exception is raised as a LambdaError whose class bears its name.
        """
        if self._runner is None:
            raise RuntimeError("the runtime is not started")
        invocation = self._runner.invoke(function_logical_id, event)
        if invocation.error is not None:
            raise invocation.error
        return invocation.result

    @property
    def runner(self) -> LambdaRunner:
        """The functions' workers (for tests and the bench)."""
        if self._runner is None:
            raise RuntimeError("the runtime is not started")
        return self._runner


def _forget_layer_caches() -> None:
    """Drop the layer's cached settings and clients in this process (tests, tools).

    They may have been made for a previous runtime's endpoint and tables.
    """
    try:
        lifecycle = importlib.import_module("izin.lifecycle")
    except ModuleNotFoundError as missing:
        if missing.name not in ("izin.lifecycle", "izin"):
            raise
        return
    lifecycle.reset()


def _seed_officer_secrets() -> None:
    """The local roster's `totp_secret`s kept, encrypted, as the officers' enrollments."""
    if not os.environ.get("IZIN_TOTP_KEY_ID"):  # a template without officers' second factor
        return
    from izin import auth, wiring
    from izin.settings import settings

    cipher = auth.KmsCipher(settings().totp_key_id)
    seeded = auth.seed_from_roster(wiring.store(), cipher, wiring.roster(), wiring.now())
    logger.info("officers' authenticator secrets seeded from the roster: %d", len(seeded))


def _restore_environ(saved: Mapping[str, str]) -> None:
    os.environ.clear()
    os.environ.update(saved)


def compile_code(template: Template) -> None:
    """Compile the functions' and layers' Python once, where an import finds it.

    Each worker's cold start imports its function and the layer; without bytecode on disk
    (a fresh clone, or a shell with PYTHONDONTWRITEBYTECODE) every import compiles the
    source again, about 0.2 s of a core per worker. pip compiles what it installs; this
    does the same for the template's own folders (a file already compiled is skipped).
    """
    for resource in template.resources.values():
        properties = resource.get("Properties") or {}
        folder = properties.get("CodeUri") or properties.get("ContentUri")
        if isinstance(folder, str) and (template.directory / folder).is_dir():
            compileall.compile_dir(template.directory / folder, quiet=2)
