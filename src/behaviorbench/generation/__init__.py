"""The BehaviorBench case generator: simulated clinical conversations with exact gold behaviors."""

from __future__ import annotations

from behaviorbench.generation.banks import load_phrase_bank
from behaviorbench.generation.case import GENERATOR_VERSION, build_case
from behaviorbench.generation.splits import split_of
from behaviorbench.schema import Case


def generate_case(seed: int, index: int, scenes: int | None = None) -> Case:
    """The case at (seed, index): the same inputs always give the same case.

    Indices 2k and 2k+1 are twins (minimal pairs); `scenes=None` gives a full-length case and a
    small number (2-3) a short one for demos and CPU training.
    """
    from behaviorbench.knowledge import load_knowledge_base

    return build_case(load_knowledge_base(), load_phrase_bank(), seed, index, scenes)


__all__ = ["GENERATOR_VERSION", "generate_case", "split_of"]
