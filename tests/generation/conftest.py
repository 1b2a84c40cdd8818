"""Cases shared by the generator tests: generating them once keeps the suite fast."""

from __future__ import annotations

import pytest

from behaviorbench.generation import generate_case
from behaviorbench.schema import Case
from behaviorbench.taxonomy import Behavior

SEED = 20251
SAMPLE_CASES = 400


@pytest.fixture(scope="session")
def sample_cases() -> list[Case]:
    """Full-length cases 0..399 of one seed (200 twin pairs)."""
    return [generate_case(SEED, index) for index in range(SAMPLE_CASES)]


def without_reactions(case: Case) -> Case:
    """The case as its twin sees it: the team's reaction after each flag (only the twin holding the
    problem has one) removed, and slot indices and evidence renumbered to match."""
    reactions = {
        s.index + 1 for s in case.slots if s.control_of is None and s.gold_behavior is Behavior.proactive
    }
    kept = [i for i in range(len(case.utterances)) if i not in reactions]
    new = {old: position for position, old in enumerate(kept)}
    slots = [
        case.slots[i].model_copy(
            update={"index": new[i], "evidence": [new[e] for e in case.slots[i].evidence]}
        )
        for i in kept
    ]
    return case.model_copy(update={"utterances": [case.utterances[i] for i in kept], "slots": slots})


@pytest.fixture(scope="session")
def sample_twins(sample_cases: list[Case]) -> list[tuple[Case, Case]]:
    """The sample's twin pairs, each case without its reactions, so the twins line up slot by slot."""
    aligned = [without_reactions(case) for case in sample_cases]
    return list(zip(aligned[0::2], aligned[1::2], strict=True))
