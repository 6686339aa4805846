"""The zygote: a process that has imported the heavy libraries once and forks workers.

A Lambda cold start imports boto3, Powertools, pydantic and jinja2 anew (about 0.8 s of a
core). Locally, every worker of every function would pay that again; instead the runtime
starts this process once, it imports those libraries (never the functions' own code nor
the layer: those run their module-level code in each worker, as a cold start does), and
forks a worker per request. A fork costs milliseconds and shares the imported pages.

It also parses, once, botocore's data files that the functions' clients load (endpoints,
partitions, each service's model and endpoint rules): a worker's new boto3 session then
finds them in memory instead of parsing the JSON again (about 0.1 s of a core per client).
A worker still builds its own session and clients, with its own role's credentials.

Protocol, on the Unix socket given as argv[1]: the runtime sends one byte with two file
descriptors attached (SCM_RIGHTS), a socket and the write end of a pipe; the zygote forks,
the child makes the pipe its stdout and stderr (the function's log) and serves the socket
as a worker (`lambda_worker.serve`), and the zygote answers the child's pid as 4 bytes. Children
are reaped by the kernel (SIGCHLD ignored), so a killed worker never lingers as a zombie.
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import struct
import sys
import traceback

from izin_local import sdk_data
from izin_local.lambda_worker import serve

# What the functions import; each is imported once here and shared by every fork.
PRELOAD = (
    "boto3",
    "botocore.client",
    "botocore.session",
    "pydantic",
    "jinja2",
    "fpdf",
    "segno",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.parameters",
    "aws_lambda_powertools.utilities.typing",
    "email.mime.multipart",
    "email_validator",
    "holidays",
    # What holidays.country_holidays("ID") imports on first use: every country's module
    # (its package imports them all), about 90 ms of a core in each worker that builds a
    # calendar; the computing of Indonesia's days off (2 ms) stays the worker's.
    "holidays.countries",
    "pyotp",
    "zoneinfo",
)

# The services the functions call: their clients' data files are parsed before any fork.
SDK_SERVICES = ("dynamodb", "s3", "sqs", "sesv2", "stepfunctions", "secretsmanager", "ssm", "kms")

_PID = struct.Struct(">I")


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            continue  # a template whose functions do not use it
    sdk_data.preload(SDK_SERVICES, region="ap-southeast-3")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(control, 1, 2)
        except OSError:
            return
        if not fds:
            return  # the runtime closed the control socket: stop
        pid = os.fork()
        if pid == 0:
            _become_worker(control, fds[0], fds[1])
        for fd in fds:
            os.close(fd)
        control.sendall(_PID.pack(pid))


def _become_worker(control: socket.socket, fd: int, log: int) -> None:
    control.close()
    # The function's log: what it prints goes to the runtime, as Lambda sends it to CloudWatch.
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    status = 0
    try:
        serve(socket.socket(fileno=fd))
    except BaseException:
        traceback.print_exc()
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


if __name__ == "__main__":
    main()
