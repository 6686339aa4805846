"""Forget what a warm Lambda container keeps: cached settings, clients and loaded data.

The local runtime calls reset() in its own process when it starts: the tests and tools
that run there may hold clients made for a previous runtime's endpoint. (Its functions
run in fresh worker processes, which begin without any of these caches.)
"""

from __future__ import annotations


def reset() -> None:
    """Drop every cache that outlives one invocation."""
    from izin import aws, roster, settings, wiring

    settings.settings.cache_clear()
    aws.client.cache_clear()
    aws.presign_client.cache_clear()
    aws.session.cache_clear()  # it holds the previous runtime's credentials
    roster.forget()
    from aws_lambda_powertools.utilities.parameters import base

    base.DEFAULT_PROVIDERS.clear()  # its clients point at the old endpoint
    wiring.forget_parameters()
    wiring.forget_kept_roster()
