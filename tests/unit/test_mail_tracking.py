"""Every email goes under SES's configuration set, tagged with its application, so a bounce
or a complaint comes back for it (izin.mail_events); the request is checked by botocore's
own model and moto's SES v2."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from izin.mail import Email, SesMailer
from moto import mock_aws

FROM = "izin@disperindag.kalbar.example"


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, object]]]:
    from izin.aws import client

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    sent: list[dict[str, object]] = []
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


def test_an_email_about_an_application_is_tracked_and_tagged(ses: list[dict[str, object]]) -> None:
    email = Email(to=("kasi@x.example",), subject="s", text="t", html="<p>t</p>", id_izin="COL.1")
    SesMailer(FROM, "izin-izin").send(email)
    [params] = ses
    assert params["ConfigurationSetName"] == "izin-izin"
    assert params["EmailTags"] == [{"Name": "id_izin", "Value": "COL.1"}]


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
