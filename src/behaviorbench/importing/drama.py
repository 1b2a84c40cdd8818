"""Extracted report facts to a twin pair of cases, written by the generator around the report's patient.

The condition is the report's matched diagnosis; demographics, weight, creatinine, allergies, home
medications, vitals and labs come from the report where the knowledge base knows them; the course,
the cast and the injected problems and their controls come from the generator, so gold stays
exact. A fact the story cannot carry (a lab in another unit, a critical value nobody would talk
past, a drug held out of the split) is listed per report in `not_used`, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.generation.banks import PhraseBank
from behaviorbench.generation.case import build_case
from behaviorbench.generation.given import Given
from behaviorbench.generation.pools import pools_for
from behaviorbench.generation.splits import held_out
from behaviorbench.importing.reports import Extraction, Names, name_key
from behaviorbench.knowledge.models import KnowledgeBase
from behaviorbench.schema import Case

VITALS = {
    "heart_rate": "heart_rate",
    "systolic_bp": "systolic_bp",
    "diastolic_bp": "diastolic_bp",
    "respiratory_rate": "respiratory_rate",
    "temperature_c": "temperature",
    "spo2_percent": "spo2",
}
"""Report vital -> the generator's vital."""
UNKNOWN_REACTION = "reaction not recorded"


@dataclass
class Drama:
    """What one report became."""

    report_id: str
    cases: list[Case] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    """Items the knowledge base does not know (from the extraction)."""
    not_used: list[str] = field(default_factory=list)
    """Known items the story cannot carry, each with why."""
    error: str | None = None
    """Why no case was written."""


def write_drama(extraction: Extraction, kb: KnowledgeBase, bank: PhraseBank, seed: int) -> Drama:
    """The twin pair of a report (none, with `error`, when its diagnosis cannot be a story)."""
    drama = Drama(extraction.report_id, unmatched=list(extraction.unmatched))
    given = given_of(extraction, kb, seed, drama)
    rules = bank.get("presentations.demographics")
    if given is not None and given.female is False:
        source = kb.conditions[given.condition]
        if (rules.get(source.id) or rules.get(source.system) or {}).get("female"):
            drama.not_used.append("sex: male (the knowledge base's condition is a woman's)")
            given = replace(given, female=None)
    if given is not None:
        try:
            drama.cases = [build_case(kb, bank, seed, parity, given=given) for parity in (0, 1)]
        except BehaviorBenchError as error:
            drama.error = str(error)
    return drama


def given_of(extraction: Extraction, kb: KnowledgeBase, seed: int, drama: Drama) -> Given | None:
    """The report's patient in the generator's terms; what cannot be used goes to `drama`."""
    facts, rid = extraction.facts, extraction.report_id
    if not extraction.matched["condition"]:
        drama.error = f"diagnosis {facts.diagnosis!r} is not in the knowledge base: no case written"
        return None
    condition = extraction.matched["condition"][0]
    split = "test_unseen" if condition in held_out(kb).conditions else "test"
    pools = pools_for(kb, unseen=split == "test_unseen")
    if condition not in pools.conditions:
        drama.error = f"diagnosis {facts.diagnosis!r}: the generator has no story for it: no case written"
        return None
    names = Names.of(kb)
    note = drama.not_used.append

    female = None if facts.sex is None else facts.sex == "female"
    weight = None
    if facts.weight_kg is not None:
        weight = round(facts.weight_kg)
        if not 20 <= weight <= 350:
            note(f"weight_kg: {facts.weight_kg:g} (outside 20-350 kg)")
            weight = None
    labs: dict[str, float] = {}
    for lab in facts.labs:
        analyte_id = names.analytes.get(name_key(lab.analyte))
        if analyte_id is None:
            continue  # listed as unmatched already
        analyte = kb.analytes[analyte_id]
        said = f"labs: {lab.analyte} {lab.value:g} {lab.unit}"
        if name_key(lab.unit) != name_key(analyte.unit):
            note(f"{said} (the knowledge base reads it in {analyte.unit})")
        elif _critical(analyte, lab.value):
            note(f"{said} (critical: a story cannot talk past it without a problem nobody planted)")
        elif lab.value < 0:
            note(f"{said} (negative)")
        else:
            labs[analyte_id] = round(lab.value, analyte.decimals)
    creatinine = labs.get("creatinine")
    if facts.creatinine_mg_dl is not None and creatinine is None:
        value = round(facts.creatinine_mg_dl, 2)
        if value > 0 and not _critical(kb.analytes["creatinine"], value):
            creatinine = labs["creatinine"] = value
        else:
            note(f"creatinine_mg_dl: {facts.creatinine_mg_dl:g} (not a usable value)")
    vitals = {
        VITALS[key]: float(value) for key, value in facts.vitals.model_dump().items() if value is not None
    }
    allergies: list[tuple[str, str]] = []
    for allergy in facts.allergies:
        key = name_key(allergy.substance)
        drug = names.drugs.get(key)
        allergy_class = names.allergy_classes.get(key) or (kb.drugs[drug].allergy_class if drug else None)
        if allergy_class is None:
            if drug is not None:
                note(f"allergies: {allergy.substance} (the knowledge base has no allergy class for it)")
            continue
        if allergy_class not in {c for c, _ in allergies}:
            allergies.append((allergy_class, allergy.reaction.strip() or UNKNOWN_REACTION))
    home_meds: list[str] = []
    for medication in facts.home_medications:
        drug = names.drugs.get(name_key(medication.drug))
        if drug is None:
            continue
        if drug not in pools.drugs:
            note(f"home_medications: {medication.drug} (held out of the {split} split)")
        elif kb.drugs[drug].allergy_class in {c for c, _ in allergies}:
            note(f"home_medications: {medication.drug} (the report also lists an allergy to its class)")
        elif drug not in home_meds:
            home_meds.append(drug)
    return Given(
        case_ids=(f"{rid}-a", f"{rid}-b"),
        stream=f"report:{seed}:{rid}",
        split=split,
        condition=condition,
        female=female,
        age=facts.age,
        weight_kg=weight,
        creatinine=creatinine,
        allergies=tuple(allergies),
        home_meds=tuple(home_meds),
        vitals=vitals,
        labs=labs,
    )


def _critical(analyte, value: float) -> bool:
    low = analyte.critical_low is not None and value <= analyte.critical_low
    return low or (analyte.critical_high is not None and value >= analyte.critical_high)
