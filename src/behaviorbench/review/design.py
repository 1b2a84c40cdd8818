"""The study design: which slots are reviewed, which systems each compares, who rates what.

Pure functions of their inputs and a seeded `random.Random`, so a study is reproducible per seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import combinations

from behaviorbench.errors import BehaviorBenchError


@dataclass(frozen=True)
class Candidate:
    """A slot every system answered in a way a rater can read."""

    case_id: str
    slot: int
    category: str
    gold_behavior: str
    responses: tuple[tuple[bool, str], ...]
    """(stays silent, text) per system, in system order."""

    def differs(self, x: int, y: int) -> bool:
        return self.responses[x] != self.responses[y]

    @property
    def distinct(self) -> int:
        return len(set(self.responses))


@dataclass(frozen=True)
class PlannedItem:
    candidate: Candidate
    pair: tuple[int, int]


@dataclass(frozen=True)
class PlannedAssignment:
    item: int
    rater: int
    position: int
    swap: bool


def select_items(
    candidates: list[Candidate], systems: int, count: int, rng: random.Random
) -> list[PlannedItem]:
    """`count` slots stratified by category, slots where systems disagree first, pairs balanced.

    Categories take turns (so rare categories are not crowded out); within a category slots with
    more distinct responses come first. Each slot gets the least-used pair of systems, preferring a
    pair whose two responses differ, so every pair is compared equally often (within one).
    """
    if count < 1:
        raise BehaviorBenchError(f"--items: must be at least 1, got {count}")
    if len(candidates) < count:
        raise BehaviorBenchError(
            f"--items: asked for {count} slots but the runs share only {len(candidates)} reviewable slots"
        )
    by_category: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_category.setdefault(candidate.category, []).append(candidate)
    queues = []
    for category in sorted(by_category):
        pool = by_category[category]
        rng.shuffle(pool)
        pool.sort(key=lambda c: -c.distinct)
        queues.append(pool)
    chosen: list[Candidate] = []
    while len(chosen) < count:
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    pairs = list(combinations(range(systems), 2))
    uses = dict.fromkeys(pairs, 0)
    items = []
    for candidate in chosen:
        fewest = min(uses.values())
        least_used = [pair for pair in pairs if uses[pair] == fewest]
        differing = [pair for pair in least_used if candidate.differs(*pair)]
        pair = rng.choice(differing or least_used)
        uses[pair] += 1
        items.append(PlannedItem(candidate, pair))
    return items


def assign_raters(items: int, raters: int, overlap: int, rng: random.Random) -> list[PlannedAssignment]:
    """Each item to `overlap` distinct raters, loads within one of each other, order and sides random."""
    if overlap < 1:
        raise BehaviorBenchError(f"--overlap: must be at least 1, got {overlap}")
    if overlap > raters:
        raise BehaviorBenchError(
            f"--overlap: {overlap} raters per item but the raters file lists only {raters}"
        )
    load = [0] * raters
    per_rater: list[list[int]] = [[] for _ in range(raters)]
    order = list(range(items))
    rng.shuffle(order)
    for item in order:
        ties = [rng.random() for _ in range(raters)]
        for rater in sorted(range(raters), key=lambda r: (load[r], ties[r]))[:overlap]:
            load[rater] += 1
            per_rater[rater].append(item)
    assignments = []
    for rater, rater_items in enumerate(per_rater):
        rng.shuffle(rater_items)
        for position, item in enumerate(rater_items, start=1):
            assignments.append(PlannedAssignment(item, rater, position, rng.random() < 0.5))
    return assignments
