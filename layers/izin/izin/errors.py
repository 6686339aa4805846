"""Errors the state machine retries by name (its Retry lists them; see the ASL)."""


class TransientError(Exception):
    """A passing failure of something the step needs: the state machine tries the step again."""
