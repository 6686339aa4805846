"""Forget what a warm Lambda container keeps: cached settings, clients and loaded data.

The local runtime calls reset() when it starts, as a fresh container would begin.
"""

from __future__ import annotations


def reset() -> None:
    """Drop every cache that outlives one invocation."""
    from izin import aws, roster, settings

    settings.settings.cache_clear()
    aws.client.cache_clear()
    roster.forget()
    from aws_lambda_powertools.utilities.parameters import base

    base.DEFAULT_PROVIDERS.clear()  # its clients point at the old endpoint
