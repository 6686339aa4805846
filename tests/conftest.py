"""Shared test setup: no test may reach real AWS, whatever the machine's configuration."""

import os

import moto  # noqa: F401 (imported before any boto3 session, so mock_aws catches them all)
import pytest
from hypothesis import HealthCheck, settings

# Property-based tests: CI runs a fixed, derandomized profile (the same cases every run, so
# a red build is a real regression, never a newly drawn seed); `IZIN_HYPOTHESIS=long` draws
# many more cases, at random, for a hunt (`make hypothesis-long`).
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    print_blob=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("IZIN_HYPOTHESIS", "ci"))

_SAFE_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-southeast-3",
    "AWS_REGION": "ap-southeast-3",
    "AWS_EC2_METADATA_DISABLED": "true",
    # A closed local port: a call that escapes moto fails at once instead of going out.
    "HTTPS_PROXY": "http://127.0.0.1:9",
}


@pytest.fixture(autouse=True, scope="session")
def _no_real_aws() -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update(_SAFE_AWS_ENVIRONMENT)
