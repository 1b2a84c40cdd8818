"""The plan of a case: which tasks, of which kind, grouped into scenes, in what order.

The plan is drawn before the patient because some tasks need something of the patient (a drug
allergy, a home medication, a pregnancy); those needs are collected here and the patient is then
drawn to meet them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from behaviorbench.generation import proactive, reactive, restraint
from behaviorbench.generation.patient import Needs
from behaviorbench.generation.pools import ConditionView, Pools
from behaviorbench.knowledge.models import PATIENT_STATES
from behaviorbench.taxonomy import GROUP_OF, Category, Group

FIRST_AND_SECOND: dict[Category, tuple[float, float]] = {
    Category.ddx_reasoning: (0.85, 0.2),
    Category.lab_interpretation: (0.85, 0.25),
    Category.treatment_recommendation: (0.8, 0.15),
    Category.dose_calculation: (0.75, 0.3),
    Category.image_reasoning: (0.65, 0.15),
    Category.temporal_ordering: (0.75, 0.0),
    Category.already_addressed: (0.6, 0.0),
    Category.non_actionable: (1.0, 0.5),
}
"""Chance that a case asks a category once, and then a second time: a story asks for a diagnosis,
a lab read or a dose when its course calls for one, not every category in every case."""
PROBLEM_TASKS = (5, 7)
"""Inclusive range of proactive tasks per case pair. A fair coin per task gives the problem to one
twin and the control to the other, so a case holds three problems on average. The coins are
independent: a flag's reaction in the context says nothing about the next task's label."""
ADDRESSED_KNOB_EXTRA = 2
"""More already-addressed tasks in a case whose `already_addressed` knob is on."""


class Phase(IntEnum):
    """Where a task falls in the course of a case; an urgent case treats before it works up."""

    presentation = 0
    resuscitation = 1
    workup = 2
    diagnosis = 3
    treatment = 4
    disposition = 5


RESUSCITATION_TASKS = 1
"""At most this many orders and dose questions (and no more than the condition has first-line drugs)
come first, before the work-up, in an urgent case."""
RESUSCITATION_CATEGORIES = frozenset({Category.dose_calculation})
"""What a resuscitation starts with: the dose of the condition's first treatment (epinephrine in
anaphylaxis, calcium gluconate in hyperkalemia); a problem task might need some other drug."""
PHASE_OF: dict[tuple[Category, str], Phase] = {
    (Category.error_correction, "weight"): Phase.presentation,
    (Category.error_correction, "lab"): Phase.workup,
    (Category.consistency_check, "allergy"): Phase.presentation,
    (Category.consistency_check, "weight"): Phase.presentation,
    (Category.consistency_check, "medlist"): Phase.disposition,
    (Category.consistency_check, "laterality"): Phase.workup,
    (Category.consistency_check, "exam_imaging"): Phase.workup,
    (Category.ambiguity_clarification, "home_meds"): Phase.disposition,
    (Category.safety_alert, "critical"): Phase.workup,
    (Category.already_addressed, "weight"): Phase.presentation,
    (Category.non_actionable, "chronic"): Phase.workup,
    (Category.non_actionable, "borderline"): Phase.workup,
    (Category.non_actionable, "expected"): Phase.disposition,
    (Category.ddx_reasoning, ""): Phase.diagnosis,
    (Category.lab_interpretation, ""): Phase.workup,
    (Category.image_reasoning, ""): Phase.workup,
    (Category.temporal_ordering, ""): Phase.disposition,
}
"""A task's phase by (category, subtype); everything else is treatment. Second asks of a reactive
category (a follow-up lab table, a repeat strip, a comorbidity's treatment) belong to disposition."""

SUBTYPES: dict[Category, tuple[str, ...]] = {
    Category.error_correction: ("dose", "unit", "frequency", "weight", "lab"),
    Category.consistency_check: ("allergy", "weight", "medlist", "laterality", "exam_imaging"),
    Category.omission_detection: ("precheck",),
    Category.ambiguity_clarification: ("units", "home_meds", "abbreviation", "patient"),
    Category.safety_alert: ("allergy", "interaction", "contraindication", "critical"),
    Category.already_addressed: ("dose", "allergy", "check", "interaction", "units", "weight"),
    Category.non_actionable: ("chronic", "borderline", "expected", "small_talk"),
}
WEIGHT_TASKS = frozenset(
    {
        (Category.error_correction, "weight"),
        (Category.consistency_check, "weight"),
        (Category.already_addressed, "weight"),
    }
)
"""Tasks that restate the patient's weight."""
EXCLUSIVE: tuple[frozenset[tuple[Category, str]], ...] = (
    WEIGHT_TASKS,
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
    subtype: str = ""
    phase: Phase = Phase.treatment


@dataclass
class Plan:
    scenes: list[list[TaskSpec]]
    needs: Needs


def _categories(rng: random.Random, knobs: dict[str, bool], outpatient: bool) -> list[Category]:
    """The categories one case asks for: a few problems, and each other category when drawn (a
    clinic visit has no timeline of a hospital stay to order)."""
    proactive_categories = [c for c in Category if GROUP_OF[c] is Group.proactive]
    count = rng.randint(*PROBLEM_TASKS)
    chosen = rng.sample(proactive_categories, min(count, len(proactive_categories)))
    chosen += rng.choices(proactive_categories, k=count - len(chosen))
    for category, (first, second) in FIRST_AND_SECOND.items():
        if rng.random() < first and not (outpatient and category is Category.temporal_ordering):
            chosen.append(category)
            if rng.random() < second:
                chosen.append(category)
    if knobs["already_addressed"]:
        chosen += [Category.already_addressed] * ADDRESSED_KNOB_EXTRA
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
            banned = {pair for group in EXCLUSIVE if group & taken for pair in group if pair not in taken}
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
        self,
        rng: random.Random,
        pools: Pools,
        condition: ConditionView,
        allergy_words: dict[str, str],
        background: list[str],
        supportive: list[str],
        own_only: frozenset[str] = frozenset(),
    ):
        self.rng, self.pools, self.needs = rng, pools, Needs()
        self.own_only = own_only
        """Drugs given only for their own indication (warfarin, lithium): never an interaction
        pair's, whose drugs are not the condition's own."""
        self.own_drugs = set(condition.first_line_drugs)
        kb = pools.kb
        self.home_options: dict[str, str | None] = {d: None for d in background}
        """Plausible home medications -> the chronic condition that explains one (None: none needed)."""
        for chronic in pools.chronic:
            for drug in kb.conditions[chronic].first_line_drugs:
                if chronic != condition.id:
                    self.home_options.setdefault(drug, chronic)
        self.plausible = proactive.story_drugs(kb, supportive, condition)
        """Drugs this condition's story could order: its own, its system's and supportive ones."""
        treats = {kb.drugs[d].allergy_class for d in condition.source.first_line_drugs}
        treats |= {
            c for c, word in allergy_words.items() if any(word in o.lower() for o in condition.first_line)
        }
        every = {kb.drugs[d].allergy_class for d in pools.drugs if kb.drugs[d].allergy_class}
        self.allergy_classes = sorted(every - treats)

    def story_first(self, options: list[Any], drug: Callable[[Any], str] = str) -> list[Any]:
        """The options whose drug the story could order, or all of them when none could."""
        return [o for o in options if drug(o) in self.plausible] or options

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

    def _interaction_pairs(self, story_first: bool = True) -> list[tuple[str, str]]:
        """Drugs and a home medication each interacts with: a home medication a patient plausibly
        takes (a background drug, or the first-line drug of a chronic condition); those whose drug
        the story could order, when there are any and `story_first`."""
        kb = self.pools.kb
        allowed = set(self.pools.drugs)
        pairs = [
            (d, i.drug)
            for d in self.pools.featured(list(self.pools.drugs))
            for i in kb.drugs[d].interactions
            if i.severity == "major"
            and i.drug in allowed
            and i.drug in self.home_options
            and kb.drugs[i.drug].dose.route == "PO"
            and kb.drugs[i.drug].allergy_class not in self.needs.allergies
            and i.drug not in self.needs.home_meds
            and d not in self.own_drugs  # no KCl withheld in hypokalemia
            and d not in self.own_only  # nor ordered without its indication
        ]
        return sorted(self.story_first(pairs, lambda p: p[0]) if story_first else pairs)

    def _takes(self, home_med: str) -> None:
        """The patient takes this home medication (and has the chronic condition it treats)."""
        self.needs.home_meds.append(home_med)
        chronic = self.home_options[home_med]
        if chronic and chronic not in self.needs.chronic:
            self.needs.chronic.append(chronic)

    def interaction_pair(self) -> tuple[str, str] | None:
        """A drug and a home medication it interacts with, which the patient then takes."""
        pair = self.pick(self._interaction_pairs())
        if pair:
            self._takes(pair[1])
        return pair

    def interaction_with_alternative(self) -> tuple[str, str, str | None] | None:
        """A drug, the home medication it interacts with, and the drug its control orders: two
        pairs drawn alike and a coin for which home medication the patient takes, so each drug is
        as often the problem's order as the control's."""
        kb = self.pools.kb
        pairs = self._interaction_pairs()
        pair = self.pick(pairs)
        if pair is None:
            return None

        usable = [
            p
            for p in self._interaction_pairs(story_first=False)
            if p[0] != pair[0]
            and p[1] != pair[1]
            # neither drug meets the other's home medication at all: the control's is checked so
            and not kb.interacts(p[0], [pair[1]], major_only=False)
            and not kb.interacts(pair[0], [p[1]], major_only=False)
        ]
        other = self.pick([p for p in usable if p in pairs] or usable)
        if other is not None and self.rng.random() < 0.5:
            pair, other = other, pair
        self._takes(pair[1])
        return pair[0], pair[1], other[0] if other else None

    def allergy_drug(self) -> tuple[str, str | None] | None:
        """The drug ordered against the patient's allergy, and the drug its control orders: two
        drawn alike from one pool, in two allergy classes, and a coin for which class is the
        patient's. Each drug is then as often the problem's order as the control's."""
        kb = self.pools.kb
        options = [
            d
            for d in self.pools.drugs
            if kb.drugs[d].allergy_class and not self._hits_home_med(kb.drugs[d].allergy_class)
        ]
        ranked = sorted(self.story_first(self.pools.featured(options)))
        drug = self.pick(ranked)
        if drug is None:
            return None
        taken = {kb.drugs[drug].allergy_class, *self.needs.allergies}
        others = [d for d in options if kb.drugs[d].allergy_class not in taken]
        other = self.pick(sorted(self.story_first(self.pools.featured(others))))
        if other is not None and self.rng.random() < 0.5:
            drug, other = other, drug
        if kb.drugs[drug].allergy_class not in self.needs.allergies:
            self.needs.allergies.append(kb.drugs[drug].allergy_class)
        return drug, other

    def contraindicated(self) -> tuple[str, str, str | None] | None:
        """A drug, the state that contraindicates it, and the drug its control orders: two pairs
        drawn alike, neither drug contraindicated by the other's state, and a coin for which state
        the patient has, so each drug is as often the problem's order as the control's."""
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
        # Neither drug may meet the story's own treatment: a control drug meeting a drug the story
        # gives (ondansetron after levofloxacin in pneumonia) could not be ordered, and only
        # drugs of patients whose state keeps such drugs away (long QT) would be controls.
        ranked = sorted(self.story_first(options, lambda o: o[0]))
        ranked = [o for o in ranked if not kb.interacts(o[0], self.own_drugs, major_only=False)] or ranked
        pair = self.pick(ranked)
        if pair is None:
            return None

        other = self.pick(
            [
                o
                for o in ranked
                if o[0] != pair[0]
                and o[1] != pair[1]
                and not kb.drugs[o[0]].barred_by(pair[1])
                and not kb.drugs[pair[0]].barred_by(o[1])
            ]
        )
        if other is not None and self.rng.random() < 0.5:
            pair, other = other, pair
        drug, state = pair
        if state in PATIENT_STATES:
            if state not in self.needs.states:
                self.needs.states.append(state)
            self.needs.female_of_childbearing_age |= state == "pregnancy"
        elif state not in self.needs.chronic:
            self.needs.chronic.append(state)
        return drug, state, other[0] if other else None


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
        # A second allergy the chart does list, so a chart lacking the first never reads "no known
        # drug allergies" (which a control, listing the first, could never say).
        needs.new_allergy()
        return TaskSpec(category, proactive.consistency_allergy, {"allergen": allergen}) if allergen else None
    if category is C.safety_alert:
        if subtype == "allergy":
            pair = needs.allergy_drug()
            return (
                TaskSpec(category, proactive.safety_allergy, {"drug_id": pair[0], "alternative_id": pair[1]})
                if pair
                else None
            )
        if subtype == "interaction":
            found = needs.interaction_with_alternative()
            if found is None:
                return None
            drug, home_med, alternative = found
            kwargs = {"drug_id": drug, "other_id": home_med, "alternative_id": alternative}
            return TaskSpec(category, proactive.safety_interaction, kwargs)
        found = needs.contraindicated()
        if found is None:
            return None
        drug, state, alternative = found
        kwargs = {"drug_id": drug, "state": state, "alternative_id": alternative}
        return TaskSpec(category, proactive.safety_contraindication, kwargs)
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
    background: list[str],
    supportive: list[str],
    own_only: frozenset[str] = frozenset(),
    urgent: bool = False,
    outpatient: bool = False,
) -> Plan:
    """Tasks for a full case in the order of its course, grouped into scenes; a short case uses
    the first scenes. An urgent case (a critical condition, a rapid response) puts its first
    orders right after the presentation."""
    categories = _categories(rng, knobs, outpatient)
    rng.shuffle(categories)
    subtypes = _subtypes(rng, categories)
    needs = _Needs(rng, pools, condition, allergy_words, background, supportive, own_only)
    seen: dict[Category, int] = {}
    specs = []
    for category, subtype in zip(categories, subtypes, strict=True):
        nth = seen[category] = seen.get(category, 0) + 1
        if category in REACTIVE_BUILDERS:
            spec = TaskSpec(category, REACTIVE_BUILDERS[category], _reactive_kwargs(category, nth))
        else:
            spec = _spec(category, subtype, needs)
            if spec is None:
                subtype = FALLBACK_SUBTYPE[category]
                spec = _spec(category, subtype, needs)
        spec.subtype = subtype
        spec.phase = _phase(spec, nth, rng)
        specs.append(spec)
    for spec in specs:
        if GROUP_OF[spec.category] is Group.proactive:
            spec.coin = rng.randrange(2)
    if urgent and condition.first_line_drugs:
        orders = [s for s in specs if s.phase is Phase.treatment and s.category in RESUSCITATION_CATEGORIES]
        if not orders:
            orders = [TaskSpec(Category.dose_calculation, reactive.dose_question)]
            specs += orders
        for spec in orders[: min(RESUSCITATION_TASKS, len(condition.first_line_drugs))]:
            spec.phase = Phase.resuscitation
    specs.sort(key=lambda s: (s.phase, s.category is not Category.omission_detection))
    _diagnosis_first(specs)
    scenes: list[list[TaskSpec]] = []
    for spec in specs:
        joinable = (
            scenes
            and len(scenes[-1]) == 1
            and scenes[-1][0].phase is spec.phase
            and spec.coin is None
            and rng.random() < SECOND_TASK_SHARE
        )
        if joinable:
            scenes[-1].append(spec)
        else:
            scenes.append([spec])
    return Plan(scenes, needs.needs)


def _phase(spec: TaskSpec, nth: int, rng: random.Random) -> Phase:
    if spec.category is Category.non_actionable and spec.subtype == "small_talk":
        return rng.choice([p for p in Phase if p is not Phase.resuscitation])
    if nth > 1 and spec.category in (
        Category.lab_interpretation,
        Category.image_reasoning,
        Category.treatment_recommendation,
    ):
        return Phase.disposition
    return PHASE_OF.get((spec.category, spec.subtype), Phase.treatment)


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
