"""What every task builder needs about the case being written: patient, cast, split, wording."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from behaviorbench.generation.banks import PhraseBank
from behaviorbench.generation.doses import Dose, dose_for, number
from behaviorbench.generation.patient import Patient
from behaviorbench.generation.pools import Pools
from behaviorbench.generation.script import Line, capitalized
from behaviorbench.knowledge.models import Analyte, Drug


def spoken(name: str) -> str:
    """A knowledge-base name as said mid-sentence: "Febrile neutropenia" -> "febrile neutropenia"."""
    return name[0].lower() + name[1:] if len(name) > 1 and name[1].islower() else name


FALLBACK_ROLE: dict[str, str] = {
    "intern": "resident",
    "student": "intern",
    "consultant": "attending",
    "radiologist": "consultant",
    "resident": "attending",
    "pharmacist": "resident",
    "nurse": "resident",
    "attending": "consultant",
}
"""Who speaks a line written for a role the setting's cast lacks."""


@dataclass
class CaseContext:
    pools: Pools
    bank: PhraseBank
    patient: Patient
    setting: dict[str, Any]
    cast: dict[str, str]
    """Role -> speaker name."""
    assistant: str
    knobs: dict[str, bool]
    safe_drugs: list[str] = field(default_factory=list)
    """Drugs that are harmless for this patient: usable wherever no problem is intended."""
    presentation: Line | None = None
    """The opening line presenting the patient (evidence for diagnosis questions)."""
    vitals: Line | None = None
    """The opening line with vitals and the recorded weight (evidence for weight problems)."""
    timeline: list[tuple[str, int]] = field(default_factory=list)
    """The case's events as (label, minutes from yesterday 00:00), in time order."""
    used: set[str] = field(default_factory=set)
    """Drugs and prechecks tasks have already featured, so later tasks can prefer fresh ones."""
    _doses: dict[str, Dose | None] = field(default_factory=dict)
    _dosable: list[str] | None = None

    @property
    def unseen(self) -> bool:
        return self.pools.unseen

    @property
    def kb(self):
        return self.pools.kb

    def pick(self, path: str, rng: random.Random) -> dict[str, Any]:
        """A phrasing variant of the split at a phrase-bank path, e.g. `questions.ddx_reasoning`."""
        return rng.choice(self.bank.variants(path, self.unseen))

    def fields(self, extra: dict[str, Any]) -> dict[str, Any]:
        p = self.patient
        return {"assistant": self.assistant, "patient": p.name, "bed": p.bed, **extra}

    def say(self, role: str, template: str, **extra: Any) -> Line:
        """A line spoken by `role`, relayed by the nurse when the patient or family is not present."""
        text = capitalized(template.format(**self.fields(extra)))
        if role in ("patient", "family") and role not in self.cast:
            who = self.patient.name if role == "patient" else "The family"
            return Line("nurse", self.cast["nurse"], f'{who} told me: "{text}"')
        while role not in self.cast:
            role = FALLBACK_ROLE[role]
        return Line(role, self.cast[role], text)

    def phrase(self, path: str, rng: random.Random, **extra: Any) -> tuple[Line, dict[str, Any]]:
        """Say a variant picked at `path`; also return the variant (its `ask` flag, its id)."""
        variant = self.pick(path, rng)
        return self.say(variant["role"], variant["text"], **extra), variant

    def chatter(self, rng: random.Random) -> Line:
        roles = [r for r in ("patient", "family") if r in self.cast]
        if roles and rng.random() < 0.2:
            role = rng.choice(roles)
            return self.say(role, self.pick(f"chatter.{role}", rng)["text"])
        staff = [r for r in self.cast if r not in ("patient", "family")]
        return self.say(rng.choice(staff), self.pick("chatter.staff", rng)["text"])

    # --- facts ---------------------------------------------------------------------------------

    def analyte(self, analyte_id: str) -> Analyte:
        return self.kb.analytes[analyte_id]

    def analyte_name(self, analyte_id: str) -> str:
        """The analyte's name as said mid-sentence ("potassium", but "INR" stays)."""
        return spoken(self.analyte(analyte_id).name)

    def lab(self, analyte_id: str) -> str:
        """The patient's value of an analyte as spoken ("4.1 mmol/L"), recorded as mentioned."""
        self.patient.mentioned_labs.add(analyte_id)
        return f"{number(self.patient.labs[analyte_id])} {self.analyte(analyte_id).unit}"

    def drug(self, drug_id: str) -> Drug:
        return self.kb.drugs[drug_id]

    def dose(self, drug_id: str) -> Dose | None:
        """This patient's dose of a drug (memoised: tasks ask for the same drugs again and again)."""
        if drug_id not in self._doses:
            p = self.patient
            self._doses[drug_id] = dose_for(self.drug(drug_id), p.weight_kg, p.crcl)
        return self._doses[drug_id]

    def dosable(self) -> list[str]:
        """Safe drugs that have a dose for this patient."""
        if self._dosable is None:
            self._dosable = [d for d in self.safe_drugs if self.dose(d) is not None]
        return self._dosable

    def unsafe_names(self) -> list[str]:
        """Lower-case names of drugs and drug classes this patient must not get (to filter free text)."""
        safe = set(self.safe_drugs)
        words = self.bank.get("problems.allergy_words")
        classes = [words[a] for a in self.patient.allergy_classes if a in words]
        return [d.name.lower() for d in self.kb.drugs.values() if d.id not in safe] + classes

    def relevant_drugs(self) -> set[str]:
        """First-line drugs of the patient's conditions and the home medications."""
        p = self.patient
        drugs = set(p.condition.first_line_drugs) | set(p.home_meds)
        for chronic in p.chronic:
            drugs |= set(self.kb.conditions[chronic].first_line_drugs)
        return drugs

    def choose_drug(self, rng: random.Random, candidates: list[str]) -> str | None:
        """One of `candidates`: a held-out one in test_unseen, else mostly one relevant to the patient."""
        if not candidates:
            return None
        options = self.pools.featured(sorted(candidates))
        options = [d for d in options if d not in self.used] or options
        wanted = self.relevant_drugs()
        relevant = [d for d in options if d in wanted]
        wants_relevant = rng.random() < 0.7
        chosen = rng.choice(relevant if relevant and wants_relevant else options)
        self.used.add(chosen)
        return chosen
