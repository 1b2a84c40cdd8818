"""Which split a case lands in, and which conditions and drugs only `test_unseen` may use.

Splits are drawn per twin pair so both halves of a minimal pair always land together. The held-out
conditions and drugs are a fixed share of the knowledge base chosen by a stable hash of their ids,
so every build with the same knowledge base holds out the same ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from behaviorbench.generation.banks import stable_hash
from behaviorbench.knowledge.models import KnowledgeBase

SPLIT_SHARES: tuple[tuple[str, int], ...] = (("train", 80), ("dev", 5), ("test", 10), ("test_unseen", 5))
"""Percent of twin pairs per split."""

HELD_OUT_PERCENT = 15
"""Share of condition ids and drug ids reserved for test_unseen."""


def split_of(seed: int, index: int) -> str:
    """The split of case `index`; twins (2k, 2k+1) share it."""
    bucket = stable_hash(f"split:{seed}:{index // 2}") % 100
    for split, share in SPLIT_SHARES:
        if bucket < share:
            return split
        bucket -= share
    raise AssertionError("split shares must sum to 100")


@dataclass(frozen=True)
class HeldOut:
    """The conditions and drugs reserved for test_unseen, and a pattern matching their names."""

    conditions: frozenset[str]
    drugs: frozenset[str]
    names: re.Pattern[str]

    def mentioned_in(self, text: str) -> bool:
        return self.names.search(text) is not None


def _held(
    kind: str, names: dict[str, str], other_names: list[str], kept: frozenset[str] = frozenset()
) -> frozenset[str]:
    """A stable share of ids, skipping any whose name is part of another name (amoxicillin would
    otherwise be held out while amoxicillin-clavulanate stays seen) and any in `kept`."""
    ranked = sorted(
        (i for i in names if i not in kept), key=lambda id_: stable_hash(f"held-out:{kind}:{id_}")
    )
    wanted = max(1, round(len(names) * HELD_OUT_PERCENT / 100))
    everything = [*names.values(), *other_names]
    chosen = []
    for id_ in ranked:
        pattern = re.compile(rf"\b{re.escape(names[id_])}\b", re.IGNORECASE)
        if sum(1 for n in everything if pattern.search(n)) == 1:
            chosen.append(id_)
        if len(chosen) == wanted:
            break
    return frozenset(chosen)


def held_out(kb: KnowledgeBase) -> HeldOut:
    """The held-out sets of `kb`, and a pattern over their names (condition names, drug names and
    brand names; condition synonyms are left out because many are generic words like "AF")."""
    condition_names = {c.id: c.name for c in kb.conditions.values()}
    drug_names = {d.id: d.name for d in kb.drugs.values()}
    conditions = _held("condition", condition_names, list(drug_names.values()))
    # A seen condition keeps its only first-line drug (an opioid overdose is treated with naloxone).
    sole = frozenset(
        c.first_line_drugs[0]
        for c in kb.conditions.values()
        if len(c.first_line_drugs) == 1 and c.id not in conditions
    )
    drugs = _held("drug", drug_names, list(condition_names.values()), sole)
    names = [kb.conditions[c].name for c in conditions]
    names += [name for d in drugs for name in (kb.drugs[d].name, *kb.drugs[d].brand_names)]
    names = sorted({n for n in names if len(n) >= 3}, key=len, reverse=True)
    pattern = r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b" if names else r"(?!x)x"
    return HeldOut(conditions, drugs, re.compile(pattern, re.IGNORECASE))
