"""`serve()`: up with a banner of URLs, the documented webhook secrets, Ctrl-C stops it cleanly."""

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

FIXTURE_TEMPLATE = Path(__file__).parent / "fixture" / "template.yaml"


def test_serve_runs_until_ctrl_c_and_stops_cleanly(tmp_path: Path):
    code = (
        "import sys; from pathlib import Path; from izin_local.serve import serve; "
        f"sys.exit(serve(port=0, aws_port=0, state_dir=Path({str(tmp_path)!r}), "
        f"template=Path({str(FIXTURE_TEMPLATE)!r})))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={"IZIN_SIINAS_WEBHOOK_SECRET": "from-env", "PATH": "/usr/bin:/bin"},
    )
    try:
        assert process.stdout is not None
        banner = ""
        deadline = time.monotonic() + 60
        while "Simulators" not in banner and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            banner += line
        http_url = re.search(r"HTTP API\s+(\S+)", banner)
        aws = re.search(r"AWS endpoint\s+(\S+)", banner)
        assert http_url and aws, banner
        assert f"aws --endpoint-url {aws[1]} stepfunctions list-state-machines" in banner
        with urllib.request.urlopen(f"{http_url[1]}/_local/outbox", timeout=10) as page:
            assert page.status == 200

        secrets = boto3.client("secretsmanager", endpoint_url=aws[1])
        values = {
            secret["Name"]: secrets.get_secret_value(SecretId=secret["ARN"])["SecretString"]
            for secret in secrets.list_secrets()["SecretList"]
        }
        assert values == {
            "izin-local-OssWebhookSecret": "local-oss-secret",
            "izin-local-SiinasWebhookSecret": "from-env",
        }

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_shows_every_lambda_failure_even_beside_powertools(tmp_path: Path):
    log = tmp_path / "serve.log"
    code = (
        "import sys; from pathlib import Path; import izin.observability; "
        "from izin_local.serve import serve; "
        f"sys.exit(serve(port=0, aws_port=0, state_dir=Path({str(tmp_path)!r}), "
        f"template=Path({str(FIXTURE_TEMPLATE)!r})))"
    )
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            env={"PATH": "/usr/bin:/bin"},
        )
    try:
        deadline = time.monotonic() + 60
        while "Simulators" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        aws = re.search(r"AWS endpoint\s+(\S+)", log.read_text())
        assert aws, log.read_text()
        client = boto3.client("lambda", endpoint_url=aws[1])
        failed = client.invoke(
            FunctionName="izin-local-FlakyFunction", Payload=b'{"key": "k", "permanent": true}'
        )
        assert failed["FunctionError"] == "Unhandled"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        printed = log.read_text()
        assert "FlakyFunction failed" in printed and "PermanentError: no way for k" in printed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
