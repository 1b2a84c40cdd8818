"""Cross-entry checks of the knowledge base: what one entry's schema cannot see on its own.

Each problem names the data file, the entry and the field, so the loader can report it in one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from behaviorbench.knowledge.models import ECG_RHYTHMS, PATIENT_STATES, KnowledgeBase


class Inconsistency(NamedTuple):
    file: str
    entry: str
    field: str
    problem: str


def find_inconsistencies(kb: KnowledgeBase) -> list[Inconsistency]:
    """Every broken reference, misplaced lab band, unknown unit or one-sided interaction in `kb`."""
    return [
        *_analyte_problems(kb),
        *_condition_problems(kb),
        *_drug_problems(kb),
        *_class_problems(kb),
        *_precheck_problems(kb),
        *_clip_problems(kb),
    ]


def _analyte_problems(kb: KnowledgeBase) -> Iterator[Inconsistency]:
    for analyte in kb.analytes.values():
        if analyte.unit not in kb.units:
            yield Inconsistency("analytes.yaml", analyte.id, "unit", f"unknown unit {analyte.unit!r}")
        if analyte.follows is not None and analyte.follows not in kb.analytes:
            yield Inconsistency(
                "analytes.yaml", analyte.id, "follows", f"unknown analyte {analyte.follows!r}"
            )
        for drug, (low, high) in analyte.targets.items():
            if drug not in kb.drugs:
                yield Inconsistency("analytes.yaml", analyte.id, "targets", f"unknown drug {drug!r}")
            if not low <= high:
                yield Inconsistency("analytes.yaml", analyte.id, "targets", f"{drug}: low above high")


def _condition_problems(kb: KnowledgeBase) -> Iterator[Inconsistency]:
    for condition in kb.conditions.values():

        def problem(field: str, text: str, entry: str = condition.id) -> Inconsistency:
            return Inconsistency("conditions.yaml", entry, field, text)

        for index, finding in enumerate(condition.labs):
            field = f"labs[{index}]"
            analyte = kb.analytes.get(finding.analyte)
            if analyte is None:
                yield problem(field, f"unknown analyte {finding.analyte!r}")
                continue
            if finding.typical_low < 0:
                yield problem(field, "lab values cannot be negative")
            if not finding.typical_low <= finding.typical_high:
                yield problem(field, "typical_low must not exceed typical_high")
            high = max(analyte.range_for(False)[1], analyte.range_for(True)[1])
            low = min(analyte.range_for(False)[0], analyte.range_for(True)[0])
            if finding.direction == "high" and not finding.typical_low > high:
                yield problem(field, f"{finding.analyte} band must lie above the reference high {high:g}")
            if finding.direction == "low" and not finding.typical_high < low:
                yield problem(field, f"{finding.analyte} band must lie below the reference low {low:g}")
        for other in condition.differential:
            if other == condition.id:
                yield problem("differential", "a condition cannot be its own differential")
            elif other not in kb.conditions:
                yield problem("differential", f"unknown condition {other!r}")
        for drug in condition.first_line_drugs:
            if drug not in kb.drugs:
                yield problem("first_line_drugs", f"unknown drug {drug!r}")
        for state in condition.implies_states:
            if state not in PATIENT_STATES:
                yield problem("implies_states", f"unknown patient state {state!r}")
        if condition.ecg_rhythm is not None and condition.ecg_rhythm not in ECG_RHYTHMS:
            yield problem("ecg_rhythm", f"unknown rhythm {condition.ecg_rhythm!r}")


def _drug_problems(kb: KnowledgeBase) -> Iterator[Inconsistency]:
    for drug in kb.drugs.values():

        def problem(field: str, text: str, entry: str = drug.id) -> Inconsistency:
            return Inconsistency("drugs.yaml", entry, field, text)

        for index, rule in enumerate(drug.doses):
            if rule.unit not in kb.units:
                yield problem(f"doses[{index}].unit", f"unknown unit {rule.unit!r}")
            for condition in rule.conditions:
                if condition not in kb.conditions:
                    yield problem(f"doses[{index}].conditions", f"unknown condition {condition!r}")
        slugs = [rule.indication for rule in drug.doses]
        if len(set(slugs)) != len(slugs):
            yield problem("doses", "two dose rules share an indication")
        claimed = [c for rule in drug.doses for c in rule.conditions]
        if len(set(claimed)) != len(claimed):
            yield problem("doses", "a condition is claimed by two dose rules")
        for interaction in drug.interactions:
            partner = kb.drugs.get(interaction.drug)
            if partner is None:
                yield problem("interactions", f"unknown drug {interaction.drug!r}")
            elif interaction.drug == drug.id:
                yield problem("interactions", "a drug cannot interact with itself")
            elif drug.id not in {back.drug for back in partner.interactions}:
                yield problem("interactions", f"{interaction.drug} does not list {drug.id} back")
        for contraindication in drug.contraindications:
            name = contraindication.condition
            if name not in kb.conditions and name not in PATIENT_STATES:
                yield problem("contraindications", f"unknown condition or patient state {name!r}")
        for check in drug.required_checks:
            if check not in kb.prechecks:
                yield problem("required_checks", f"unknown precheck {check!r}")
            elif drug.id not in kb.prechecks[check].applies_to:
                yield problem("required_checks", f"precheck {check} does not apply to {drug.id}")


def _class_problems(kb: KnowledgeBase) -> Iterator[Inconsistency]:
    known = {c for drug in kb.drugs.values() for c in drug.interaction_classes}
    for rule in kb.class_interactions.values():
        for name in rule.between:
            if name not in known:
                yield Inconsistency("interactions.yaml", rule.id, "between", f"no drug has class {name!r}")


def _precheck_problems(kb: KnowledgeBase) -> Iterator[Inconsistency]:
    for precheck in kb.prechecks.values():
        for analyte in precheck.analytes:
            if analyte not in kb.analytes:
                yield Inconsistency("prechecks.yaml", precheck.id, "analytes", f"unknown analyte {analyte!r}")
        for target in precheck.applies_to:
            if target not in kb.drugs and target not in kb.procedures:
                yield Inconsistency(
                    "prechecks.yaml", precheck.id, "applies_to", f"unknown drug or procedure {target!r}"
                )
            elif target in kb.drugs and precheck.id not in kb.drugs[target].required_checks:
                yield Inconsistency(
                    "prechecks.yaml",
                    precheck.id,
                    "applies_to",
                    f"{target} does not list it in required_checks",
                )


def _clip_problems(kb: KnowledgeBase) -> Iterator[Inconsistency]:
    for clip in kb.clips.values():
        for drug in clip.drugs:
            if drug not in kb.drugs:
                yield Inconsistency("clips.yaml", clip.id, "drugs", f"unknown drug {drug!r}")
