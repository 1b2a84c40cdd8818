"""Selection is stratified and favours disagreement; pairs and rater loads are balanced."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.review.design import Candidate, assign_raters, select_items

SILENT = (True, "")


def candidate(index: int, category: str, *responses: tuple[bool, str]) -> Candidate:
    return Candidate(f"case-{index}", 1, category, "proactive", tuple(responses))


def test_selection_takes_categories_in_turn_and_disagreements_first():
    agree = [candidate(i, "common", SILENT, SILENT) for i in range(20)]
    differ = [candidate(100 + i, "common", (False, "Check the dose."), SILENT) for i in range(3)]
    rare = [candidate(200 + i, "rare", (False, "Allergy!"), SILENT) for i in range(2)]
    items = select_items(agree + differ + rare, systems=2, count=6, rng=random.Random(0))
    categories = Counter(item.candidate.category for item in items)
    assert categories == {"rare": 2, "common": 4}
    common = [item.candidate for item in items if item.candidate.category == "common"]
    assert sum(c.distinct > 1 for c in common) == 3, "the three disagreeing slots come before agreeing ones"


def test_pairs_are_balanced_and_prefer_differing_responses():
    text = (False, "Flag it.")
    # Systems 0 and 1 always agree; system 2 differs from both.
    pool = [candidate(i, f"c{i % 3}", SILENT, SILENT, text) for i in range(30)]
    items = select_items(pool, systems=3, count=12, rng=random.Random(1))
    uses = Counter(item.pair for item in items)
    assert set(uses) == {(0, 1), (0, 2), (1, 2)}
    assert max(uses.values()) - min(uses.values()) <= 1
    assert all(item.candidate.differs(*item.pair) for item in items if item.pair != (0, 1))


def test_selection_refuses_more_items_than_slots():
    with pytest.raises(BehaviorBenchError, match="--items: asked for 5"):
        select_items([candidate(0, "c", SILENT, SILENT)], systems=2, count=5, rng=random.Random(0))


@pytest.mark.parametrize(("items", "raters", "overlap"), [(10, 3, 2), (7, 4, 3), (25, 6, 1), (5, 5, 5)])
def test_assignment_gives_each_item_k_distinct_raters_and_balanced_loads(items, raters, overlap):
    plan = assign_raters(items, raters, overlap, random.Random(3))
    per_item = Counter(a.item for a in plan)
    assert set(per_item.values()) == {overlap} and len(per_item) == items
    assert len({(a.item, a.rater) for a in plan}) == len(plan)
    loads = Counter(a.rater for a in plan)
    assert max(loads.values()) - min(loads.values()) <= 1
    for rater in range(raters):
        positions = sorted(a.position for a in plan if a.rater == rater)
        assert positions == list(range(1, len(positions) + 1))


def test_assignment_randomises_sides_and_is_deterministic_per_seed():
    first = assign_raters(200, 4, 2, random.Random(9))
    assert first == assign_raters(200, 4, 2, random.Random(9))
    assert first != assign_raters(200, 4, 2, random.Random(10))
    swaps = sum(a.swap for a in first)
    assert 150 < swaps < 250, "about half of 400 assignments show the first system on the right"


def test_overlap_larger_than_the_rater_pool_is_refused():
    with pytest.raises(BehaviorBenchError, match="--overlap: 3 raters per item"):
        assign_raters(4, 2, 3, random.Random(0))
