"""A patient given from outside (a case report's facts) instead of drawn: what the story writer keeps.

The generator still draws the plan, the cast and every scene, so the injected problems and their
controls stay exact. The given facts replace the drawn patient's demographics, weight, creatinine,
allergies, home medications, vitals and labs. A plan whose needs contradict the facts (a pregnancy
in a man, an allergy to a drug the patient takes, severe renal impairment beside a normal
creatinine) is redrawn, so no task states something the report denies.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from behaviorbench.generation.doses import cockcroft_gault
from behaviorbench.generation.patient import Needs, Patient, ckd_epi, follow_all
from behaviorbench.knowledge.models import KnowledgeBase

PLAN_TRIES = 50
"""Plans drawn for one given patient before the case is refused."""
CHILDBEARING_AGES = (18, 45)
"""Ages at which a plan that needs a pregnancy may use a given woman."""
SEVERE_CRCL = 30
"""CrCl (mL/min) below which renal impairment counts as severe."""


@dataclass(frozen=True)
class Given:
    """One report's facts in the generator's terms (knowledge-base ids, the generator's units)."""

    case_ids: tuple[str, str]
    """The twins' ids: the case with even parity first."""
    stream: str
    """Seeds every draw of the pair, so a report's cases do not depend on the other reports."""
    split: str
    condition: str
    female: bool | None = None
    age: int | None = None
    weight_kg: int | None = None
    creatinine: float | None = None
    allergies: tuple[tuple[str, str], ...] = ()
    """(allergy class, reaction)."""
    home_meds: tuple[str, ...] = ()
    vitals: dict[str, float] = field(default_factory=dict)
    labs: dict[str, float] = field(default_factory=dict)

    def fits(self, needs: Needs, kb: KnowledgeBase) -> bool:
        """Whether a plan's needs can hold for this patient."""
        female_only = needs.female_of_childbearing_age or "postpartum" in needs.states
        if female_only and self.female is False:
            return False
        low, high = CHILDBEARING_AGES
        if needs.female_of_childbearing_age and self.age is not None and not low <= self.age <= high:
            return False
        given_classes = {c for c, _ in self.allergies}
        if any(kb.drugs[d].allergy_class in given_classes for d in needs.home_meds):
            return False
        if any(kb.drugs[d].allergy_class in needs.allergies for d in self.home_meds):
            return False
        potassium = self.labs.get("potassium", float("inf"))
        if "hyperkalemia" in needs.states and potassium <= kb.analytes["potassium"].high:
            return False
        if "severe_renal_impairment" in needs.states and self.creatinine is not None:
            known = None not in (self.age, self.weight_kg, self.female)
            if not known or self.crcl() >= SEVERE_CRCL:
                return False
        return True

    def crcl(self) -> float:
        return cockcroft_gault(self.age, self.weight_kg, self.creatinine, bool(self.female))

    def apply(
        self, patient: Patient, needs: Needs, kb: KnowledgeBase, reactions: list[str], rng: random.Random
    ) -> None:
        """Put the given facts into a patient drawn for this plan; the plan's own needs (an allergy
        or home medication a task is about) are added to the report's."""
        if self.female is not None:
            patient.female = self.female
            patient.title = "Ms." if self.female else "Mr."
        if self.age is not None:
            patient.age = self.age
        if self.weight_kg is not None:
            patient.weight_kg = self.weight_kg
        patient.labs.update(self.labs)
        follow_all(rng, kb.analytes, patient.labs, patient.female, keep=self.labs)
        if self.creatinine is not None:
            patient.labs["creatinine"] = self.creatinine
        elif "severe_renal_impairment" in patient.states:
            target = rng.uniform(14, 27)
            female = 0.85 if patient.female else 1.0
            low = kb.analytes["creatinine"].range_for(patient.female)[1] + 0.3
            creatinine = (140 - patient.age) * patient.weight_kg / (72 * target) * female
            patient.labs["creatinine"] = round(max(creatinine, low), 2)
        patient.creatinine = patient.labs.get("creatinine", 1.0)
        patient.crcl = round(
            cockcroft_gault(patient.age, patient.weight_kg, patient.creatinine, patient.female)
        )
        if "egfr" in patient.labs and "egfr" not in self.labs:
            egfr = ckd_epi(patient.age, patient.creatinine, patient.female)
            patient.labs["egfr"] = float(min(round(egfr), 150))
        patient.vitals.update(self.vitals)
        if patient.stable_analyte in self.labs:
            patient.stable_analyte = None
        if patient.borderline_analyte in self.labs:
            patient.borderline_analyte = None
        allergies = list(self.allergies)
        for allergy_class in needs.allergies:
            if allergy_class not in {c for c, _ in allergies}:
                allergies.append((allergy_class, rng.choice(reactions)))
        patient.allergies = allergies
        patient.home_meds = list(dict.fromkeys([*patient.home_meds, *self.home_meds]))
