"""What a dataset holds, counted per split, category and gold behavior.

The same tally is filled by build workers (one per chunk, merged in the parent), written to the
manifest, and recomputed by the validator to check the manifest against the shards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pydantic import BaseModel, ConfigDict

from behaviorbench.schema import SPLITS, Case
from behaviorbench.taxonomy import BEHAVIORS, CATEGORIES


class DatasetCounts(BaseModel):
    """Slot counts are over designated slots unless named ambient."""

    model_config = ConfigDict(extra="forbid")

    cases: int = 0
    utterances: int = 0
    designated_slots: int = 0
    ambient_slots: int = 0
    splits: dict[str, int] = {}
    designated_by_split: dict[str, int] = {}
    categories: dict[str, int] = {}
    gold_behaviors: dict[str, int] = {}
    category_behaviors: dict[str, dict[str, int]] = {}
    controls: dict[str, int] = {}
    difficulty: dict[str, int] = {}

    def add(self, case: Case) -> None:
        self.cases += 1
        self.utterances += len(case.utterances)
        _bump(self.splits, case.split)
        for knob, on in case.difficulty.items():
            if on:
                _bump(self.difficulty, knob)
        for slot in case.slots:
            if slot.category is None:
                self.ambient_slots += 1
                continue
            category, behavior = slot.category.value, slot.gold_behavior.value
            self.designated_slots += 1
            _bump(self.designated_by_split, case.split)
            _bump(self.categories, category)
            _bump(self.gold_behaviors, behavior)
            _bump(self.category_behaviors.setdefault(category, {}), behavior)
            if slot.control_of is not None:
                _bump(self.controls, category)

    def merge(self, other: DatasetCounts) -> None:
        self.cases += other.cases
        self.utterances += other.utterances
        self.designated_slots += other.designated_slots
        self.ambient_slots += other.ambient_slots
        for mine, theirs in (
            (self.splits, other.splits),
            (self.designated_by_split, other.designated_by_split),
            (self.categories, other.categories),
            (self.gold_behaviors, other.gold_behaviors),
            (self.controls, other.controls),
            (self.difficulty, other.difficulty),
        ):
            for key, value in theirs.items():
                mine[key] = mine.get(key, 0) + value
        for category, behaviors in other.category_behaviors.items():
            mine = self.category_behaviors.setdefault(category, {})
            for behavior, value in behaviors.items():
                mine[behavior] = mine.get(behavior, 0) + value

    def canonical(self) -> DatasetCounts:
        """The same counts with keys in taxonomy order, so manifests are byte-stable."""
        splits = _order(SPLITS)
        categories = _order(c.value for c in CATEGORIES)
        behaviors = _order(b.value for b in BEHAVIORS)
        return DatasetCounts(
            cases=self.cases,
            utterances=self.utterances,
            designated_slots=self.designated_slots,
            ambient_slots=self.ambient_slots,
            splits=splits(self.splits),
            designated_by_split=splits(self.designated_by_split),
            categories=categories(self.categories),
            gold_behaviors=behaviors(self.gold_behaviors),
            category_behaviors={
                c: behaviors(self.category_behaviors[c]) for c in categories(self.category_behaviors)
            },
            controls=categories(self.controls),
            difficulty=dict(sorted(self.difficulty.items())),
        )

    def share_of_designated(self, category: str) -> float:
        return self.categories.get(category, 0) / self.designated_slots if self.designated_slots else 0.0


def _bump(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


def _order(known: Iterable[str]) -> Callable[[dict], dict]:
    """Sort a dict's keys by a known order, unknown keys last (alphabetically)."""
    rank = {key: i for i, key in enumerate(known)}

    def ordered(mapping: dict) -> dict:
        return dict(sorted(mapping.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))

    return ordered
