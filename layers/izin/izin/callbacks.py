"""Completing a waiting state: SendTaskSuccess, with the answers that mean "too late" named."""

from __future__ import annotations

from typing import Any, Protocol

# The errors that mean the waiting state is gone: the ticket's own record decides what the
# officer sees, these only confirm it (moto and AWS name them differently).
GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken", "ExecutionDoesNotExist"})


class TaskGone(Exception):
    """The state that waited on this token no longer waits (timed out, superseded, ended)."""


class Callbacks(Protocol):
    """Completes a waiting state."""

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        """Hand the output to the state waiting on the token, or raise TaskGone."""


class Handovers(Callbacks, Protocol):
    """Completes a state waiting for an event, and confirms a hand-over afterwards."""

    def received(self, execution: str, event_id: str) -> bool:
        """Whether a waiting state of the execution (its ARN) was handed this event: what
        its history says, once TaskGone left it open (a token spent, or its state gone)."""


class Decisions(Callbacks, Protocol):
    """Completes an officer's waiting step, and tells afterwards whether it was completed."""

    def succeeded(self, execution: str, token: str) -> bool:
        """Whether the execution's state that waited on this token succeeded: what its
        history says, when SendTaskSuccess's answer was lost."""
