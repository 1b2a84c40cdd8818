"""The plan of a case: which tasks, of which kind, grouped into scenes, in what order.

The plan is drawn before the patient because some tasks need something of the patient (a drug
allergy, a home medication, a pregnancy); those needs are collected here and the patient is then
drawn to meet them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from behaviorbench.generation import proactive, reactive, restraint
from behaviorbench.generation.patient import Needs
from behaviorbench.generation.pools import ConditionView, Pools
from behaviorbench.knowledge.models import PATIENT_STATES
from behaviorbench.taxonomy import GROUP_OF, Category, Group

TASKS_PER_CASE = (20, 24)
"""Inclusive range of designated tasks in a full case (13 categories once, the rest repeats)."""

EXTRA_WEIGHTS: dict[Category, float] = {
    Category.error_correction: 1.5,
    Category.consistency_check: 1.5,
    Category.omission_detection: 1.5,
    Category.ambiguity_clarification: 1.5,
    Category.safety_alert: 1.5,
    Category.lab_interpretation: 1.0,
    Category.dose_calculation: 1.0,
    Category.temporal_ordering: 0.6,
    Category.image_reasoning: 0.5,
    Category.ddx_reasoning: 0.5,
    Category.treatment_recommendation: 0.5,
    Category.non_actionable: 0.5,
}
MAX_PER_CASE = {
    Category.ddx_reasoning: 2,
    Category.image_reasoning: 2,
    Category.treatment_recommendation: 2,
    Category.temporal_ordering: 2,
    Category.lab_interpretation: 2,
    Category.dose_calculation: 3,
    Category.non_actionable: 3,
}

SUBTYPES: dict[Category, tuple[str, ...]] = {
    Category.error_correction: ("dose", "unit", "frequency", "weight", "lab"),
    Category.consistency_check: ("allergy", "weight", "medlist", "laterality", "exam_imaging"),
    Category.omission_detection: ("precheck",),
    Category.ambiguity_clarification: ("units", "home_meds", "abbreviation", "patient"),
    Category.safety_alert: ("allergy", "interaction", "contraindication", "critical"),
    Category.already_addressed: ("dose", "allergy", "check", "interaction", "units", "weight"),
    Category.non_actionable: ("chronic", "borderline", "expected", "small_talk"),
}
EXCLUSIVE: tuple[frozenset[tuple[Category, str]], ...] = (
    frozenset(
        {
            (Category.error_correction, "weight"),
            (Category.consistency_check, "weight"),
            (Category.already_addressed, "weight"),
        }
    ),
    frozenset({(Category.consistency_check, "medlist"), (Category.ambiguity_clarification, "home_meds")}),
)
"""Subtypes that would contradict each other's facts if one case held both."""

SECOND_TASK_SHARE = 0.4
"""Chance that a scene also carries a second, non-proactive task."""


@dataclass
class TaskSpec:
    category: Category
    build: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    coin: int | None = None
    """Proactive tasks only: the twin (index parity) that gets the positive."""


@dataclass
class Plan:
    scenes: list[list[TaskSpec]]
    needs: Needs


def _categories(rng: random.Random, knobs: dict[str, bool]) -> list[Category]:
    chosen = list(Category)
    if knobs["already_addressed"]:
        chosen += [Category.already_addressed] * 2
    total = rng.randint(*TASKS_PER_CASE)
    weights = dict(EXTRA_WEIGHTS)
    while len(chosen) < total:
        options = [c for c in weights if chosen.count(c) < MAX_PER_CASE.get(c, 99)]
        chosen.append(rng.choices(options, [weights[c] for c in options])[0])
    return chosen


def _subtypes(rng: random.Random, categories: list[Category]) -> list[str]:
    """A subtype per task, cycling through each category's subtypes and honouring EXCLUSIVE."""
    decks: dict[Category, list[str]] = {}
    taken: set[tuple[Category, str]] = set()
    result = []
    for category in categories:
        if category not in SUBTYPES:
            result.append("")
            continue
        for _ in range(3):
            deck = decks.get(category)
            if not deck:
                deck = decks[category] = rng.sample(SUBTYPES[category], len(SUBTYPES[category]))
            banned = {s for group in EXCLUSIVE if group & taken for (c, s) in group if (c, s) not in taken}
            usable = [s for s in deck if (category, s) not in banned]
            if usable:
                break
            decks[category] = []
        subtype = (
            usable[0]
            if usable
            else rng.choice([s for s in SUBTYPES[category] if (category, s) not in banned])
        )
        deck.remove(subtype) if subtype in deck else None
        taken.add((category, subtype))
        result.append(subtype)
    return result


class _Needs:
    """Collects patient needs while specs pick their problem drugs. The patient is never allergic to
    a class that treats their main condition (its first-line drugs, or words like "opioid" in its
    first-line options), so a correct treatment answer never conflicts with an allergy."""

    def __init__(
        self, rng: random.Random, pools: Pools, condition: ConditionView, allergy_words: dict[str, str]
    ):
        self.rng, self.pools, self.needs = rng, pools, Needs()
        kb = pools.kb
        treats = {kb.drugs[d].allergy_class for d in condition.source.first_line_drugs}
        treats |= {
            c for c, word in allergy_words.items() if any(word in o.lower() for o in condition.first_line)
        }
        every = {kb.drugs[d].allergy_class for d in pools.drugs if kb.drugs[d].allergy_class}
        self.allergy_classes = sorted(every - treats)

    def pick(self, options: list[Any]) -> Any:
        return self.rng.choice(options) if options else None

    def new_allergy(self) -> str | None:
        free = [
            a for a in self.allergy_classes if a not in self.needs.allergies and not self._hits_home_med(a)
        ]
        allergen = self.pick(free)
        if allergen:
            self.needs.allergies.append(allergen)
        return allergen

    def _hits_home_med(self, allergy_class: str) -> bool:
        return any(self.pools.kb.drugs[d].allergy_class == allergy_class for d in self.needs.home_meds)

    def interaction_pair(self) -> tuple[str, str] | None:
        kb = self.pools.kb
        allowed = set(self.pools.drugs)
        pairs = [
            (d, i.drug)
            for d in self.pools.featured(list(self.pools.drugs))
            for i in kb.drugs[d].interactions
            if i.severity == "major"
            and i.drug in allowed
            and kb.drugs[i.drug].dose.route == "PO"
            and kb.drugs[i.drug].allergy_class not in self.needs.allergies
            and i.drug not in self.needs.home_meds
        ]
        pair = self.pick(sorted(pairs))
        if pair:
            self.needs.home_meds.append(pair[1])
        return pair

    def allergy_drug(self) -> str | None:
        kb = self.pools.kb
        options = [
            d
            for d in self.pools.drugs
            if kb.drugs[d].allergy_class and not self._hits_home_med(kb.drugs[d].allergy_class)
        ]
        drug = self.pick(sorted(self.pools.featured(options))) if options else None
        if drug and kb.drugs[drug].allergy_class not in self.needs.allergies:
            self.needs.allergies.append(kb.drugs[drug].allergy_class)
        return drug

    def contraindicated(self) -> tuple[str, str] | None:
        kb = self.pools.kb
        options = []
        for d in self.pools.featured(list(self.pools.drugs)):
            for c in kb.drugs[d].contraindications:
                if c.condition in PATIENT_STATES or c.condition in self.pools.chronic:
                    options.append((d, c.condition))
        options = [
            o
            for o in options
            if o[1] not in ("severe_renal_impairment",) or "hyperkalemia" not in self.needs.states
        ]
        pair = self.pick(sorted(options))
        if pair is None:
            return None
        drug, state = pair
        if state in PATIENT_STATES:
            if state not in self.needs.states:
                self.needs.states.append(state)
            self.needs.female_of_childbearing_age |= state == "pregnancy"
        elif state not in self.needs.chronic:
            self.needs.chronic.append(state)
        return pair


def _spec(category: Category, subtype: str, needs: _Needs) -> TaskSpec | None:
    """The builder and fixed arguments of one task, or None when the knowledge base cannot supply it."""
    C = Category
    simple: dict[tuple[Category, str], Callable[..., Any]] = {
        (C.error_correction, "dose"): proactive.error_dose,
        (C.error_correction, "unit"): proactive.error_unit,
        (C.error_correction, "frequency"): proactive.error_frequency,
        (C.error_correction, "weight"): proactive.error_weight,
        (C.error_correction, "lab"): proactive.error_lab,
        (C.consistency_check, "weight"): proactive.consistency_weight,
        (C.consistency_check, "medlist"): proactive.consistency_medlist,
        (C.consistency_check, "laterality"): proactive.consistency_laterality,
        (C.consistency_check, "exam_imaging"): proactive.consistency_exam_imaging,
        (C.omission_detection, "precheck"): proactive.omission,
        (C.ambiguity_clarification, "units"): proactive.ambiguity_units,
        (C.ambiguity_clarification, "home_meds"): proactive.ambiguity_home_meds,
        (C.ambiguity_clarification, "abbreviation"): proactive.ambiguity_abbreviation,
        (C.ambiguity_clarification, "patient"): proactive.ambiguity_patient,
        (C.safety_alert, "critical"): proactive.safety_critical,
    }
    if (category, subtype) in simple:
        return TaskSpec(category, simple[(category, subtype)])
    if category is C.consistency_check:  # allergy
        allergen = needs.new_allergy()
        return TaskSpec(category, proactive.consistency_allergy, {"allergen": allergen}) if allergen else None
    if category is C.safety_alert:
        if subtype == "allergy":
            drug = needs.allergy_drug()
            return TaskSpec(category, proactive.safety_allergy, {"drug_id": drug}) if drug else None
        if subtype == "interaction":
            pair = needs.interaction_pair()
            return (
                TaskSpec(category, proactive.safety_interaction, {"drug_id": pair[0], "other_id": pair[1]})
                if pair
                else None
            )
        pair = needs.contraindicated()
        return (
            TaskSpec(category, proactive.safety_contraindication, {"drug_id": pair[0], "state": pair[1]})
            if pair
            else None
        )
    if category is C.already_addressed:
        if subtype == "allergy":
            allergen = needs.new_allergy()
            return (
                TaskSpec(category, restraint.addressed, {"kind": "allergy", "allergen": allergen})
                if allergen
                else None
            )
        if subtype == "interaction":
            pair = needs.interaction_pair()
            kwargs = {"kind": "interaction", "drug_id": pair[0], "other_id": pair[1]} if pair else None
            return TaskSpec(category, restraint.addressed, kwargs) if kwargs else None
        return TaskSpec(category, restraint.addressed, {"kind": subtype})
    if category is C.non_actionable:
        return TaskSpec(category, restraint.non_actionable, {"kind": subtype})
    raise AssertionError(f"no builder for {category.value}/{subtype}")


REACTIVE_BUILDERS: dict[Category, Callable[..., Any]] = {
    Category.ddx_reasoning: reactive.ddx,
    Category.lab_interpretation: reactive.lab_table,
    Category.temporal_ordering: reactive.timeline,
    Category.dose_calculation: reactive.dose_question,
    Category.treatment_recommendation: reactive.treatment,
    Category.image_reasoning: reactive.image,
}
FALLBACK_SUBTYPE = {
    Category.consistency_check: "laterality",
    Category.safety_alert: "critical",
    Category.already_addressed: "dose",
}


def make_plan(
    rng: random.Random,
    pools: Pools,
    knobs: dict[str, bool],
    condition: ConditionView,
    allergy_words: dict[str, str],
) -> Plan:
    """Tasks for a full case grouped into scenes; a short case uses the first scenes."""
    categories = _categories(rng, knobs)
    rng.shuffle(categories)
    subtypes = _subtypes(rng, categories)
    needs = _Needs(rng, pools, condition, allergy_words)
    seen: dict[Category, int] = {}
    specs = []
    for category, subtype in zip(categories, subtypes, strict=True):
        nth = seen[category] = seen.get(category, 0) + 1
        if category in REACTIVE_BUILDERS:
            spec = TaskSpec(category, REACTIVE_BUILDERS[category], _reactive_kwargs(category, nth))
        else:
            spec = _spec(category, subtype, needs) or _spec(category, FALLBACK_SUBTYPE[category], needs)
        if GROUP_OF[category] is Group.proactive:
            spec.coin = rng.randrange(2)
        specs.append(spec)
    _diagnosis_first(specs)
    scenes: list[list[TaskSpec]] = []
    for spec in specs:
        joinable = scenes and len(scenes[-1]) == 1 and spec.coin is None and rng.random() < SECOND_TASK_SHARE
        if joinable:
            scenes[-1].append(spec)
        else:
            scenes.append([spec])
    return Plan(scenes, needs.needs)


def _reactive_kwargs(category: Category, nth: int) -> dict[str, Any]:
    if nth == 1:
        return {}
    return {
        Category.ddx_reasoning: {"alternatives": True},
        Category.lab_interpretation: {"second": True},
        Category.image_reasoning: {"repeat": True},
        Category.treatment_recommendation: {"comorbidity": True},
    }.get(category, {})


def _diagnosis_first(specs: list[TaskSpec]) -> None:
    """The first diagnosis question must precede anything that names the diagnosis."""
    names_dx = [
        i
        for i, s in enumerate(specs)
        if s.category in (Category.treatment_recommendation,) or s.kwargs.get("alternatives")
    ]
    first_dx = next(
        (i for i, s in enumerate(specs) if s.category is Category.ddx_reasoning and not s.kwargs), None
    )
    if first_dx is not None and names_dx and names_dx[0] < first_dx:
        specs.insert(names_dx[0], specs.pop(first_dx))
