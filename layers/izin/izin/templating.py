"""The jinja2 environment of emails and pages: strict, with Indonesian formats; HTML
templates autoescaped, plain-text ones (an email's text/plain part) not: "&" stays "&"."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from izin import formats
from izin.mail import Attachment, Email
from izin.template_cache import SourceCheckedCache


@functools.cache
def environment() -> Environment:
    """The shared environment: a missing variable is an error, never a blank."""
    env = Environment(
        loader=PackageLoader("izin", "templates"),
        # Escaped unless plain text: a template of another kind is escaped too.
        autoescape=select_autoescape(
            disabled_extensions=("txt", "txt.j2"), default=True, default_for_string=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=SourceCheckedCache(),
    )
    env.filters.update(
        tanggal=lambda v: formats.tanggal(_moment(v)),
        hari_tanggal=lambda v: formats.hari_tanggal(_moment(v)),
        tanggal_waktu=lambda v: formats.tanggal_waktu(_moment(v)),
        rupiah=formats.rupiah,
        angka=formats.angka,
    )
    return env


def _moment(value: Any) -> Any:
    """Stored times and dates are ISO text; the formats take date and datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return value


def render(template: str, **context: object) -> str:
    """One template rendered with its context."""
    return environment().get_template(template).render(**context)


def render_email(
    template: str,
    context: Mapping[str, Any],
    *,
    to: tuple[str, ...],
    subject: str,
    id_izin: str,
    attachments: tuple[Attachment, ...] = (),
) -> Email:
    """An email whose two bodies, email/{template}.txt.j2 and .html.j2, are rendered from one
    context: the plain text and the HTML cannot be handed different values."""
    return Email(
        to=to,
        subject=subject,
        text=render(f"email/{template}.txt.j2", **context),
        html=render(f"email/{template}.html.j2", **context),
        attachments=attachments,
        id_izin=id_izin,
    )
