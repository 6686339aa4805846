"""The jinja2 environment of emails and pages: autoescaped, strict, with Indonesian formats."""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from izin import formats


@functools.cache
def environment() -> Environment:
    """The shared environment: a missing variable is an error, never a blank."""
    env = Environment(
        loader=PackageLoader("izin", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        tanggal=formats.tanggal,
        hari_tanggal=formats.hari_tanggal,
        tanggal_waktu=formats.tanggal_waktu,
        rupiah=formats.rupiah,
        angka=formats.angka,
    )
    return env


def render(template: str, **context: object) -> str:
    """One template rendered with its context."""
    return environment().get_template(template).render(**context)
