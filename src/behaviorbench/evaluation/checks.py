"""Checks that an evaluation's numbers and its protocol can mean something before it runs."""

from __future__ import annotations

import math

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models.base import Backend
from behaviorbench.taxonomy import BEHAVIOR_TOKENS


def check_numbers(max_tokens: int, timeout: float, retries: int, proactive_bias: float) -> None:
    """Refuse values that would make every sample fail or every score meaningless."""
    if max_tokens < 1:
        raise BehaviorBenchError(f"--max-tokens {max_tokens}: must be at least 1")
    if not (math.isfinite(timeout) and timeout > 0):
        raise BehaviorBenchError(f"--timeout {timeout}: must be a positive number of seconds")
    if retries < 0:
        raise BehaviorBenchError(f"--retries {retries}: must be 0 or more")
    if not math.isfinite(proactive_bias):
        raise BehaviorBenchError(f"--proactive-bias {proactive_bias}: must be a finite number")


def check_marks(backend: Backend, protocol: str) -> None:
    """Protocol 'token' reads the probabilities of the behavior tokens: the model must have them.

    Without them the tokenizer splits `<|proactive|>` into ordinary pieces, and the scores would be
    read from tokens that carry no decision.
    """
    from behaviorbench.models.hf import HFBackend

    if protocol != "token" or not isinstance(backend, HFBackend):
        return
    missing = [token for token in BEHAVIOR_TOKENS.values() if token not in backend.tokenizer.get_vocab()]
    if missing:
        raise BehaviorBenchError(
            f"--protocol token: {backend.model_id} has no behavior tokens ({', '.join(missing)}); "
            "use a BehaviorSFT model, or --protocol tagged"
        )
