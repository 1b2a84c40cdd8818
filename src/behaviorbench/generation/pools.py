"""What a split may draw from the knowledge base.

train/dev/test never touch a held-out condition or drug, not even by name inside another entry's
text (a first-line option naming a held-out drug is dropped). test_unseen draws its patients from
the held-out conditions and prefers held-out drugs for its tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

from behaviorbench.generation.splits import HeldOut, held_out
from behaviorbench.knowledge.models import Condition, Drug, KnowledgeBase


@dataclass(frozen=True)
class ConditionView:
    """A condition as a split may show it: every list filtered of held-out names."""

    id: str
    name: str
    synonyms: tuple[str, ...]
    presentation: tuple[str, ...]
    exam: tuple[str, ...]
    imaging: tuple[str, ...]
    differential: tuple[str, ...]
    """Names of the differential diagnoses."""
    first_line: tuple[str, ...]
    first_line_drugs: tuple[str, ...]
    alternatives: tuple[str, ...]
    source: Condition


@dataclass(frozen=True)
class Pools:
    kb: KnowledgeBase
    unseen: bool
    held: HeldOut
    conditions: tuple[str, ...]
    """Ids a patient's main condition is drawn from."""
    chronic: tuple[str, ...]
    """Ids of chronic comorbidities a patient may carry."""
    drugs: tuple[str, ...]
    """Ids of drugs the split may mention at all."""
    views: dict[str, ConditionView]

    def text_ok(self, text: str) -> bool:
        return self.unseen or not self.held.mentioned_in(text)

    def drug(self, drug_id: str) -> Drug:
        return self.kb.drugs[drug_id]

    def featured(self, drug_ids: list[str]) -> list[str]:
        """In test_unseen the held-out drugs among `drug_ids` (all of them if none is held out)."""
        if not self.unseen:
            return drug_ids
        held = [d for d in drug_ids if d in self.held.drugs]
        return held or drug_ids


def _view(
    condition: Condition, kb: KnowledgeBase, held: HeldOut, unseen: bool, drugs: set[str]
) -> ConditionView:
    def keep(items: list[str]) -> tuple[str, ...]:
        return tuple(items) if unseen else tuple(i for i in items if not held.mentioned_in(i))

    differential = [
        kb.conditions[c].name for c in condition.differential if unseen or c not in held.conditions
    ]
    return ConditionView(
        id=condition.id,
        name=condition.name,
        synonyms=keep(condition.synonyms),
        presentation=keep(condition.presentation),
        exam=keep(condition.exam),
        imaging=keep(condition.imaging),
        differential=keep(differential),
        first_line=keep(condition.first_line),
        first_line_drugs=tuple(d for d in condition.first_line_drugs if d in drugs),
        alternatives=keep(condition.alternatives),
        source=condition,
    )


def _build(kb: KnowledgeBase, unseen: bool) -> Pools:
    held = held_out(kb)
    drugs = sorted(kb.drugs) if unseen else sorted(d for d in kb.drugs if d not in held.drugs)
    allowed = set(drugs)
    names = sorted(kb.conditions) if unseen else sorted(c for c in kb.conditions if c not in held.conditions)
    views = {c: _view(kb.conditions[c], kb, held, unseen, allowed) for c in names}
    usable = [c for c, v in views.items() if v.presentation and v.first_line and v.exam]
    primary = ([c for c in usable if c in held.conditions] or usable) if unseen else usable
    chronic = [c for c in usable if kb.conditions[c].chronic]
    return Pools(kb, unseen, held, tuple(primary), tuple(chronic), tuple(drugs), views)


_CACHE: dict[tuple[int, bool], Pools] = {}


def pools_for(kb: KnowledgeBase, unseen: bool) -> Pools:
    """The pools of a split kind, computed once per knowledge base (it is loaded once per process)."""
    key = (id(kb), unseen)
    pools = _CACHE.get(key)
    if pools is None or pools.kb is not kb:
        pools = _CACHE[key] = _build(kb, unseen)
    return pools
