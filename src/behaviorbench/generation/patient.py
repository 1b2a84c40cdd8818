"""Simulate the one patient a case is about, from a knowledge-base condition.

Everything a task later says about the patient (weight, CrCl, a lab value, an allergy, a home
medication) is read from here, so the facts stay the same across the whole conversation.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection
from dataclasses import dataclass, field
from statistics import NormalDist

from behaviorbench.generation.doses import Body, cockcroft_gault, mosteller_bsa
from behaviorbench.generation.pools import ConditionView, Pools
from behaviorbench.knowledge.models import Analyte, Drug

ADULT_AGES = (24, 88)
"""The ages a patient is drawn from when the condition sets none."""
CHRONIC_SHARE = 0.6
"""Share of patients drawn with a chronic comorbidity besides those the plan needs."""
RENAL_FUNCTION = frozenset({"creatinine", "egfr", "crcl"})
"""The ways kidney function is said (a creatinine, an eGFR or a CrCl): once any one of them has been
heard, no check of renal function can be written as missing."""
LOW_SYSTOLIC = 110
"""Systolic pressure (mmHg) below which no task orders a drug that lowers it."""
SLOW_HEART_RATE = 60
"""Heart rate (per minute) below which no task orders a drug that slows it (bradycardia)."""


@dataclass
class Needs:
    """What the planned tasks require of the patient before it is drawn."""

    female_of_childbearing_age: bool = False
    states: list[str] = field(default_factory=list)
    allergies: list[str] = field(default_factory=list)
    home_meds: list[str] = field(default_factory=list)
    chronic: list[str] = field(default_factory=list)


@dataclass
class Patient:
    condition: ConditionView
    chronic: list[str]
    female: bool
    age: int
    weight_kg: int
    height_cm: int
    creatinine: float
    crcl: int
    allergies: list[tuple[str, str]]
    """(allergy class, reaction)."""
    home_meds: list[str]
    states: list[str]
    vitals: dict[str, float]
    labs: dict[str, float]
    stable_analyte: str | None
    """An analyte chronically just out of range: what non-actionable talk and distractors cite."""
    borderline_analyte: str | None
    title: str
    surname: str
    bed: int
    mentioned_labs: set[str] = field(default_factory=set)
    """Analytes both twins have heard: a check is done only when all of its analytes are here."""
    said_in_either: set[str] = field(default_factory=set)
    """Analytes and findings ("QTc") either twin has heard: an omission needs a check in neither.
    A CrCl said is recorded as "crcl" (see `RENAL_FUNCTION`)."""

    @property
    def name(self) -> str:
        return f"{self.title} {self.surname}"

    @property
    def sex(self) -> str:
        return "female" if self.female else "male"

    @property
    def allergy_classes(self) -> set[str]:
        return {a for a, _ in self.allergies}

    @property
    def bsa_m2(self) -> float:
        """Body-surface area (Mosteller), for doses per m2."""
        return round(mosteller_bsa(self.weight_kg, self.height_cm), 2)

    def may_have(self, analytes: list[str]) -> bool:
        """Whether a check of these analytes means anything for this patient (no pregnancy test
        for a man, or a woman past childbearing age or known to be pregnant)."""
        return "beta_hcg" not in analytes or self.could_be_pregnant

    @property
    def hepatic_failure(self) -> bool:
        """Whether the patient has decompensated liver disease: a dose rule's `hepatic` dose applies."""
        return "hepatic_failure" in self.states

    @property
    def hypotensive(self) -> bool:
        """Whether the pressure rules out a drug that lowers it: a systolic below LOW_SYSTOLIC, or
        a condition that brings shock."""
        return self.vitals.get("systolic_bp", LOW_SYSTOLIC) < LOW_SYSTOLIC or self.condition.source.shock

    def vitals_bar(self, drug: Drug) -> bool:
        """Whether the vital signs rule the drug out: one that lowers the pressure in a low
        pressure or shock (no losartan at 92/51), one that slows the heart at a rate under
        SLOW_HEART_RATE (no metoprolol at 51)."""
        slow = self.vitals.get("heart_rate", SLOW_HEART_RATE) < SLOW_HEART_RATE
        return (drug.lowers_blood_pressure and self.hypotensive) or (drug.slows_heart_rate and slow)

    @property
    def could_be_pregnant(self) -> bool:
        """Whether a pregnancy test means anything: a woman of childbearing age not already known
        to be pregnant (an ectopic, preeclampsia) or just delivered."""
        return self.female and self.age < 50 and not {"pregnancy", "postpartum"} & set(self.states)

    def facts(self) -> dict:
        """The structured facts stored in `Case.patient`."""
        return {
            "name": self.name,
            "condition": self.condition.id,
            "chronic_conditions": list(self.chronic),
            "sex": self.sex,
            "age": self.age,
            "weight_kg": self.weight_kg,
            "height_cm": self.height_cm,
            "creatinine_mg_dl": self.creatinine,
            "crcl_ml_min": self.crcl,
            "allergies": [{"class": a, "reaction": r} for a, r in self.allergies],
            "home_meds": list(self.home_meds),
            "states": list(self.states),
            "vitals": dict(self.vitals),
            "labs": {a: self.labs[a] for a in sorted(self.mentioned_labs)},
        }


def lab_value(rng: random.Random, analyte: Analyte, low: float, high: float) -> float:
    """A value drawn in [low, high] and rounded to the analyte's displayed precision; never
    negative (no lab reports a D-dimer of -10)."""
    value = max(round(rng.uniform(low, high), analyte.decimals), 0.0)
    return float(int(value)) if analyte.decimals == 0 else value


def normal_bounds(analyte: Analyte, female: bool = False) -> tuple[float, float]:
    """Where a normal value is drawn: well inside this sex's reference range."""
    low, high = analyte.range_for(female)
    margin = (high - low) * 0.15
    return low + margin, high - margin


def normal_value(rng: random.Random, analyte: Analyte, female: bool = False) -> float:
    """A value well inside this sex's reference range."""
    return lab_value(rng, analyte, *normal_bounds(analyte, female))


def just_outside(
    rng: random.Random, analyte: Analyte, high: bool, far: float = 0.12, female: bool = False
) -> float:
    """A value a little outside this sex's reference range (never reaching a critical limit, never
    negative): above it when the analyte has no low abnormal."""
    low, top = analyte.range_for(female)
    width = top - low
    step = 10.0**-analyte.decimals
    if high or low - step < step or not analyte.has_low:
        value = lab_value(rng, analyte, top + max(step, width * 0.03), top + width * far)
        if analyte.critical_high is not None:
            value = min(value, round(analyte.critical_high - step, analyte.decimals))
        return max(value, round(top + step, analyte.decimals))
    value = lab_value(rng, analyte, max(low - width * far, step), low - max(step, width * 0.03))
    if analyte.critical_low is not None:
        value = max(value, round(analyte.critical_low + step, analyte.decimals))
    return max(min(value, round(low - step, analyte.decimals)), step)


def follow(rng: random.Random, analyte: Analyte, leader: Analyte, value: float, female: bool) -> float:
    """A value of an analyte that moves with another (hematocrit about three times hemoglobin, the
    PT with its INR), with a little noise, within what a living patient can have; inside its
    reference range when the leading value is inside its own, so a normal INR never sits beside
    a "high" PT."""
    step = 10.0**-analyte.decimals
    low = analyte.plausible_low if analyte.plausible_low is not None else step
    high = analyte.plausible_high if analyte.plausible_high is not None else float("inf")
    followed = min(max(value * analyte.follows_ratio * rng.uniform(0.96, 1.04), low), high)
    leader_low, leader_high = leader.range_for(female)
    if leader_low <= value <= leader_high:
        own_low, own_high = analyte.range_for(female)
        followed = min(max(followed, own_low), own_high)
    followed = round(followed, analyte.decimals)
    return float(int(followed)) if analyte.decimals == 0 else followed


def follow_all(
    rng: random.Random,
    analytes: dict[str, Analyte],
    labs: dict[str, float],
    female: bool,
    keep: Collection[str] = (),
) -> None:
    """Redraw, in place, every value in `labs` that follows another value in `labs`, except those
    in `keep` (values a report gave)."""
    for analyte in analytes.values():
        if analyte.follows in labs and analyte.id in labs and analyte.id not in keep:
            labs[analyte.id] = follow(rng, analyte, analytes[analyte.follows], labs[analyte.follows], female)


def ckd_epi(age: int, creatinine_mg_dl: float, female: bool) -> float:
    """eGFR (CKD-EPI 2021, race-free), so the shown eGFR agrees with the shown creatinine."""
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = creatinine_mg_dl / kappa
    egfr = 142 * min(ratio, 1) ** alpha * max(ratio, 1) ** -1.2 * 0.9938**age
    return egfr * 1.012 if female else egfr


def _vital(rng: random.Random, band: str, decimals: int) -> float:
    low, _, high = band.partition("-")
    value = round(rng.uniform(float(low), float(high or low)), decimals)
    return value if decimals else float(int(value))


VITAL_DECIMALS = {"temperature": 1}
INCIDENTAL_EXCLUDED = {
    "creatinine",
    "potassium",
    "sodium",
    "glucose",
    "beta_hcg",
    "acetaminophen_level",
    "troponin",
    "lactate",
    "ph",
    "pco2",
    "po2",
}
"""Analytes never drawn as a chronic, just-out-of-range finding nobody acts on: the drivers of
dosing, and results that are never "nothing we'd act on" (a positive hCG, a troponin, a lactate,
a blood gas, a drug level). An analyte that follows another (hematocrit) is never drawn either:
its value is the other's times a ratio."""


WEIGHTS = {False: NormalDist(math.log(88), 0.24), True: NormalDist(math.log(74), 0.24)}
"""Log body weight (kg) of adults by sex (female?): right-skewed, with medians of 88 and 74 kg,
so means near US adults' 90.6 and 77.5 kg (NHANES 2015-2018); men's 10th-90th centiles 65-120 kg."""
WEIGHT_RANGE = (40, 150)
"""Weights drawn (kg): beyond them, doses would need obesity or frailty rules the base does not hold."""


def body_size(rng: random.Random, female: bool) -> tuple[int, int]:
    """An adult's weight (kg) and height (cm) by sex: every patient's size is drawn here, so
    another patient's can be drawn from the same population."""
    low, high = WEIGHT_RANGE
    weight = 0
    while not low <= weight <= high:
        weight = round(math.exp(rng.gauss(WEIGHTS[female].mean, WEIGHTS[female].stdev)))
    height = round(min(max(rng.gauss(163 if female else 177, 7), 148), 200))
    return weight, height


def weight_share(weight: int, female: bool) -> float:
    """How often `body_size` draws this weight (kg) for this sex, up to a factor common to all
    weights: a pair of weights can be made as common as each other."""
    low, high = WEIGHT_RANGE
    if not low <= weight <= high:
        return 0.0
    log = WEIGHTS[female]
    return log.cdf(math.log(weight + 0.5)) - log.cdf(math.log(weight - 0.5))


def other_size(rng: random.Random, patient: Patient) -> Body:
    """Another patient of this sex, age and kidney function, with a size drawn the way every
    patient's is: whose weight-based doses are as common as this patient's."""
    weight, height = body_size(rng, patient.female)
    return Body(weight, height, patient.crcl, patient.age, patient.creatinine, patient.hepatic_failure)


def other_clearance(rng: random.Random, patient: Patient) -> Body:
    """This patient with the CrCl (Cockcroft-Gault) of another age drawn the way ages are, the
    rest alike: whose renal doses are as common as this patient's."""
    age = rng.randint(*ADULT_AGES)
    crcl = round(cockcroft_gault(age, patient.weight_kg, patient.creatinine, patient.female))
    return Body(
        patient.weight_kg, patient.height_cm, crcl, patient.age, patient.creatinine, patient.hepatic_failure
    )


def simulate_patient(
    rng: random.Random,
    pools: Pools,
    condition: ConditionView,
    needs: Needs,
    surnames: list[str],
    demographics: dict | None = None,
) -> Patient:
    """Draw a patient with `condition` meeting `needs` and the condition's `demographics` (an
    optional `female` and an `age` range)."""
    kb = pools.kb
    rules = demographics or {}
    draw = rng.random()
    female = True if needs.female_of_childbearing_age or rules.get("female") else draw < 0.5
    low, high = rules.get("age", ADULT_AGES)
    age = rng.randint(22, 40) if needs.female_of_childbearing_age else rng.randint(low, high)
    weight, height = body_size(rng, female)
    chronic = [c for c in needs.chronic if c != condition.id]
    options = [c for c in pools.chronic if c != condition.id and c not in chronic]
    if options and rng.random() < CHRONIC_SHARE:
        chronic.append(rng.choice(options))

    labs = {a.id: normal_value(rng, a, female) for a in kb.analytes.values()}
    findings = {f.analyte for f in condition.source.labs}
    for chronic_id in chronic:
        for finding in kb.conditions[chronic_id].labs:
            labs[finding.analyte] = lab_value(
                rng, kb.analytes[finding.analyte], finding.typical_low, finding.typical_high
            )
            findings.add(finding.analyte)
    for finding in condition.source.labs:
        labs[finding.analyte] = lab_value(
            rng, kb.analytes[finding.analyte], finding.typical_low, finding.typical_high
        )

    states = list(dict.fromkeys([*needs.states, *sorted(kb.implied_states([condition.id, *chronic]))]))
    if "hyperkalemia" in states and "potassium" in labs:
        potassium = kb.analytes["potassium"]
        upper = potassium.critical_high - 0.1 if potassium.critical_high else potassium.high + 1.2
        labs["potassium"] = lab_value(rng, potassium, potassium.high + 0.6, upper)
        findings.add("potassium")
    if (
        "pregnancy" in states and "beta_hcg" in labs and "beta_hcg" not in findings
    ):  # an ectopic keeps its own
        labs["beta_hcg"] = float(rng.randint(1500, 60000))
        findings.add("beta_hcg")
    if "severe_renal_impairment" in states and "creatinine" in labs:
        target = rng.uniform(14, 27)
        creatinine = (140 - age) * weight / (72 * target) * (0.85 if female else 1.0)
        labs["creatinine"] = round(max(creatinine, kb.analytes["creatinine"].range_for(female)[1] + 0.3), 2)
        findings.add("creatinine")

    incidental = [
        a
        for a in sorted(labs)
        if a not in findings and a not in INCIDENTAL_EXCLUDED and kb.analytes[a].follows is None
    ]
    rng.shuffle(incidental)
    stable = incidental[0] if incidental else None
    borderline = incidental[1] if len(incidental) > 1 else None
    for analyte_id in (stable, borderline):
        if analyte_id is not None:
            labs[analyte_id] = just_outside(
                rng, kb.analytes[analyte_id], high=rng.random() < 0.6, far=0.08, female=female
            )

    follow_all(rng, kb.analytes, labs, female, keep=findings)  # a condition's own values stand
    creatinine = labs.get("creatinine", 1.0)
    crcl = round(cockcroft_gault(age, weight, creatinine, female))
    if "egfr" in labs:
        labs["egfr"] = float(min(round(ckd_epi(age, creatinine, female)), 150))
    vitals = {k: _vital(rng, band, VITAL_DECIMALS.get(k, 0)) for k, band in condition.source.vitals.items()}
    if condition.source.ecg_rhythm == "atrial_flutter" and "heart_rate" in vitals:
        vitals["heart_rate"] = float(min((150, 100, 75), key=lambda r: abs(r - vitals["heart_rate"])))
    return Patient(
        condition=condition,
        chronic=chronic,
        female=female,
        age=age,
        weight_kg=weight,
        height_cm=height,
        creatinine=creatinine,
        crcl=crcl,
        allergies=[],
        home_meds=list(needs.home_meds),
        states=states,
        vitals=vitals,
        labs=labs,
        stable_analyte=stable,
        borderline_analyte=borderline,
        title="Ms." if female else "Mr.",
        surname=rng.choice(surnames),
        bed=rng.randint(2, 28),
    )
