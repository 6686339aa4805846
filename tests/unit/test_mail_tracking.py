"""Every email goes under SES's configuration set, tagged with its application, so a bounce
or a complaint comes back for it (izin.mail_events); the request is checked by botocore's
own model and moto's SES v2."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st
from izin.mail import Email, SesMailer, id_from_tag, tag_value
from izin.mail_events import MailEvent
from izin_local.moto_patches import enforce_ses_tags
from moto import mock_aws

FROM = "izin@disperindag.kalbar.example"


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, object]]]:
    from izin.aws import client

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    sent: list[dict[str, object]] = []
    undo = enforce_ses_tags()  # SES's own check of a tag, which moto lacks
    with mock_aws():
        client.cache_clear()
        sesv2 = client("sesv2")
        sesv2.create_email_identity(EmailIdentity=FROM)
        sesv2.create_configuration_set(ConfigurationSetName="izin-izin")
        sesv2.meta.events.register(
            "provide-client-params.sesv2.SendEmail", lambda params, **_: sent.append(params)
        )
        yield sent
        client.cache_clear()
    undo()


def test_an_email_about_an_application_is_tracked_and_tagged(ses: list[dict[str, object]]) -> None:
    email = Email(to=("kasi@x.example",), subject="s", text="t", html="<p>t</p>", id_izin="COL.1")
    SesMailer(FROM, "izin-izin").send(email)
    [params] = ses
    assert params["ConfigurationSetName"] == "izin-izin"
    # SES takes only letters, digits, "_" and "-" in a tag: the "." is escaped.
    assert params["EmailTags"] == [{"Name": "id_izin", "Value": "_COL_d1"}]


def test_an_id_ses_can_hold_is_its_own_tag() -> None:
    assert tag_value("I-202611260930001234567") == "I-202611260930001234567"
    assert tag_value("OSS_2026-01") == "OSS_2026-01"


# IdIzin's own pattern (izin.models): what OSS may send as an application's id.
ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}\Z")


@given(ids)
def test_every_id_becomes_a_tag_ses_takes_and_comes_back_whole(id_izin: str) -> None:
    value = tag_value(id_izin)
    assert all(c.isascii() and (c.isalnum() or c in "_-") for c in value) and len(value) <= 256
    assert id_from_tag(value) == id_izin


def test_a_bounce_of_an_escaped_tag_names_its_application() -> None:
    event = MailEvent.model_validate(
        {
            "eventType": "Bounce",
            "mail": {"messageId": "m", "destination": ["a@x"], "tags": {"id_izin": ["_COL_d1"]}},
        }
    )
    assert event.id_izin == "COL.1"


def test_a_tag_ses_refuses_is_refused_locally(ses: list[dict[str, object]]) -> None:
    sesv2 = boto3.client("sesv2", region_name="ap-southeast-3")
    with pytest.raises(ClientError, match="BadRequestException"):
        sesv2.send_email(
            FromEmailAddress=FROM,
            Destination={"ToAddresses": ["kasi@x.example"]},
            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}},
            EmailTags=[{"Name": "id_izin", "Value": "COL.1"}],
        )


def test_an_email_with_attachments_is_tracked_too(ses: list[dict[str, object]]) -> None:
    from izin.mail import Attachment

    email = Email(
        to=("dpmptsp@x.example",),
        subject="s",
        text="t",
        html="<p>t</p>",
        attachments=(Attachment("bap.pdf", "application/pdf", b"%PDF-"),),
        id_izin="IP-1",
    )
    SesMailer(FROM, "izin-izin").send(email)
    assert ses[0]["EmailTags"] == [{"Name": "id_izin", "Value": "IP-1"}]


def test_without_a_configuration_set_nothing_is_tracked(ses: list[dict[str, object]]) -> None:
    SesMailer(FROM).send(Email(to=("a@x.example",), subject="s", text="t", html="", id_izin="I"))
    assert "ConfigurationSetName" not in ses[0] and "EmailTags" not in ses[0]


def test_every_email_the_layer_builds_names_its_application() -> None:
    import ast
    from pathlib import Path

    layer = Path(__file__).resolve().parents[2] / "layers" / "izin" / "izin"
    built = [
        (path.name, node.lineno)
        for path in layer.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "Email"
        and not any(k.arg == "id_izin" for k in node.keywords)
    ]
    assert built == [], "an email without id_izin: its bounce would reach no application"
