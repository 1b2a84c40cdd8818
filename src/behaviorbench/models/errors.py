"""Failures of a model backend that the harness records per sample instead of crashing the run."""

from __future__ import annotations

from behaviorbench.errors import BehaviorBenchError


class BackendError(BehaviorBenchError):
    """A request failed for good (after bounded retries); the message is one line and holds no secret."""


class BackendUnreachable(BackendError):
    """The server refused or dropped every connection: no later request will do better."""
