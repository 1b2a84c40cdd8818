"""Cases shared by the generator tests: generating them once keeps the suite fast."""

from __future__ import annotations

import pytest

from behaviorbench.generation import generate_case
from behaviorbench.schema import Case

SEED = 20251
SAMPLE_CASES = 400


@pytest.fixture(scope="session")
def sample_cases() -> list[Case]:
    """Full-length cases 0..399 of one seed (200 twin pairs)."""
    return [generate_case(SEED, index) for index in range(SAMPLE_CASES)]
