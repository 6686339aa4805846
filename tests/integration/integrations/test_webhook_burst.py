"""A burst of webhooks on a fresh runtime: every one answered 202, every application started.

Fifty signed `permohonan.diajukan` posted at once, as OSS may send them after an outage.
Each is answered by a WebhookFunction worker within its Lambda Timeout (past it the
gateway would answer 500), and each becomes one execution.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
from izin_local import samples
from izin_local.lambda_runner import DEFAULT_CONCURRENCY
from izin_local.officer import wait_until
from izin_local.testing import endpoints_of
from izin_local.webhook_client import envelope, post_event

BURST = 50


def test_fifty_concurrent_webhooks_are_all_accepted_and_all_start(start_system):
    with start_system() as runtime:
        endpoints = endpoints_of(runtime)
        ready = threading.Barrier(BURST)

        def post(n: int) -> int:
            body = envelope("permohonan.diajukan", samples.permohonan(f"IP-BURST-{n:03d}"))
            ready.wait()
            status, _answer = post_event(
                endpoints.http_url, "oss", body, secret=endpoints.secrets["oss"]
            )
            return status

        with ThreadPoolExecutor(BURST) as pool:
            statuses = list(pool.map(post, range(BURST)))
        assert statuses == [202] * BURST

        sfn = boto3.client("stepfunctions")
        machine = runtime.state_machine_arns["IzinStateMachine"]

        def started() -> bool:
            pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
            names = {e["name"] for page in pages for e in page["executions"]}
            return {f"IP-BURST-{n:03d}" for n in range(BURST)} <= names

        wait_until(started, timeout=120, what=f"{BURST} executions started")
        assert 1 <= runtime.runner.cold_starts()["WebhookFunction"] <= DEFAULT_CONCURRENCY
