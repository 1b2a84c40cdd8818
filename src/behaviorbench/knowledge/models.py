"""Schemas of the clinical knowledge base. The facts live in `data/*.yaml`; these models validate them."""

from __future__ import annotations

from collections.abc import Collection
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Analyte(_Strict):
    """A lab test with its adult reference range and critical limits (both in `unit`).

    `low`/`high` are the male (or unisex) range; `female_low`/`female_high` replace them for women
    where the sexes differ. A `low` of 0 means the analyte has no low abnormal: values never go
    below it.
    """

    id: str
    name: str
    aliases: list[str] = []
    panel: str
    unit: str
    low: float = Field(ge=0)
    high: float
    female_low: float | None = Field(default=None, ge=0)
    female_high: float | None = None
    critical_low: float | None = None
    critical_high: float | None = None
    plausible_low: float | None = None
    plausible_high: float | None = None
    """Beyond these a reported value cannot be a living patient's: a transcription slip."""
    decimals: int = Field(ge=0, le=3)
    follows: str | None = None
    """The analyte this one is measured alongside and moves with (hematocrit with hemoglobin): a
    patient's value is `follows_ratio` times that one's, and whatever explains that one explains it."""
    follows_ratio: float = Field(default=1.0, gt=0)
    targets: dict[str, tuple[float, float]] = {}
    """Drug id -> the range this analyte is kept in on that drug (an INR of 2-3 on warfarin): out
    of the reference range, yet where it should be."""

    def range_for(self, female: bool) -> tuple[float, float]:
        """The reference range for this sex."""
        if not female:
            return self.low, self.high
        low = self.low if self.female_low is None else self.female_low
        return low, self.high if self.female_high is None else self.female_high

    @property
    def has_low(self) -> bool:
        """Whether a value below the range means something (not for D-dimer, troponin, CRP ...)."""
        return self.low > 0

    @model_validator(mode="after")
    def _ordered(self) -> Analyte:
        for female in (False, True):
            low, high = self.range_for(female)
            if not low < high:
                raise ValueError(f"{self.id}: reference low must be below high")
            if self.critical_low is not None and not self.critical_low < low:
                raise ValueError(f"{self.id}: critical_low must be below the reference range")
            if self.critical_high is not None and not self.critical_high > high:
                raise ValueError(f"{self.id}: critical_high must be above the reference range")
        if not self.low < self.high:
            raise ValueError(f"{self.id}: reference low must be below high")
        if self.plausible_high is not None and not self.plausible_high > (self.critical_high or self.high):
            raise ValueError(f"{self.id}: plausible_high must be above the critical and reference highs")
        if self.plausible_low is not None and not self.plausible_low < (self.critical_low or self.low):
            raise ValueError(f"{self.id}: plausible_low must be below the critical and reference lows")
        if self.critical_low is not None and not self.critical_low < self.low:
            raise ValueError(f"{self.id}: critical_low must be below the reference range")
        if self.critical_high is not None and not self.critical_high > self.high:
            raise ValueError(f"{self.id}: critical_high must be above the reference range")
        return self


class LabFinding(_Strict):
    """An analyte the condition pushes out of range, with the typical value band."""

    analyte: str
    direction: Literal["high", "low"]
    typical_low: float
    typical_high: float


class Condition(_Strict):
    id: str
    name: str
    synonyms: list[str] = []
    system: str
    presentation: list[str]
    vitals: dict[str, str]
    exam: list[str]
    labs: list[LabFinding]
    imaging: list[str]
    differential: list[str]
    first_line: list[str]
    first_line_drugs: list[str] = []
    alternatives: list[str] = []
    """Management for a patient who cannot take a first-line drug (pericarditis without NSAIDs:
    colchicine with a low-dose corticosteroid): said in place of the first-line options the
    patient's drugs or conditions rule out, never to a patient who can take them."""
    ecg_rhythm: str | None = None
    chronic: bool = False
    implies_states: list[str] = []
    """Patient states the condition itself establishes (an ectopic pregnancy implies pregnancy)."""
    shock: bool = False
    """The condition brings or threatens shock (sepsis, anaphylaxis, hemorrhage): nothing that lowers
    the blood pressure is started in it."""
    nothing_by_mouth: bool = False
    """The patient takes nothing by mouth (seizing or post-ictal, awaiting surgery or endoscopy): no
    oral drug is started."""


class RenalTier(_Strict):
    """Below `crcl_below` mL/min (Cockcroft-Gault) the dose changes: a new `amount`, a `factor`
    on the amount, a new `frequency`, or `avoid` (no safe dose). A new `amount` may come with its
    own range (`amount_low`, `amount_high`): gabapentin's label gives a range for each CrCl band."""

    crcl_below: float = Field(gt=0)
    amount: float | None = Field(default=None, gt=0)
    amount_low: float | None = Field(default=None, gt=0)
    amount_high: float | None = Field(default=None, gt=0)
    factor: float | None = Field(default=None, gt=0, lt=1)
    frequency: str | None = None
    avoid: bool = False

    @model_validator(mode="after")
    def _says_something(self) -> RenalTier:
        changes = self.amount is not None or self.factor is not None or self.frequency is not None
        if self.avoid == changes:
            raise ValueError("a renal tier either avoids the drug or changes amount, factor or frequency")
        if self.amount is not None and self.factor is not None:
            raise ValueError("a renal tier sets amount or factor, not both")
        ranged = self.amount_low is not None or self.amount_high is not None
        if ranged and self.amount is None:
            raise ValueError("a renal tier's amount_low or amount_high needs its amount")
        if not (self.amount_low or 0) <= (self.amount or 0) <= (self.amount_high or self.amount or 0):
            raise ValueError("a renal tier's amount must lie between its amount_low and amount_high")
        return self


class HepaticDose(_Strict):
    """The dose in severe hepatic impairment (the `hepatic_failure` state: decompensated liver
    disease), where the label lowers it: a new `amount` or `frequency`, and why (`reason`)."""

    amount: float | None = Field(default=None, gt=0)
    frequency: str | None = None
    reason: str

    @model_validator(mode="after")
    def _says_something(self) -> HepaticDose:
        if self.amount is None and self.frequency is None:
            raise ValueError("a hepatic dose changes the amount or the frequency")
        return self


class DoseReduction(_Strict):
    """A lower fixed dose when at least `needed` of the listed criteria hold (apixaban in AF:
    2.5 mg when two of age 80 or more, weight 60 kg or less, creatinine 1.5 mg/dL or more)."""

    amount: float = Field(gt=0)
    needed: int = Field(default=1, ge=1)
    age_at_least: int | None = None
    weight_at_most: float | None = None
    creatinine_at_least: float | None = None
    reason: str

    def applies(self, age: float, weight_kg: float, creatinine: float) -> bool:
        met = [
            self.age_at_least is not None and age >= self.age_at_least,
            self.weight_at_most is not None and weight_kg <= self.weight_at_most,
            self.creatinine_at_least is not None and creatinine >= self.creatinine_at_least,
        ]
        return sum(met) >= self.needed


class DoseRule(_Strict):
    """How to dose a drug for an adult for one indication.

    `per_kg` doses multiply by body weight, `per_m2` by body-surface area (Mosteller); `max_dose`
    caps a single dose; `step` rounds a computed dose to what the products allow. `amount` is the
    dose the generator orders; `amount_low` and `amount_high` bound the range a prescriber may
    correctly choose (both default to `amount`). `conditions` are the knowledge-base condition ids
    this is the dose for. `frequencies` are other schedules the label allows for the same dose
    (ceftriaxone once daily or divided twice daily, gabapentin once then twice daily while it is
    titrated): never a wrong frequency. `renal` tiers are ordered from the highest CrCl threshold
    down; the lowest one the patient is below applies, and a tier's frequency is then the only one.
    `hepatic` is the dose in severe hepatic impairment, where the label lowers it.
    """

    indication: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    conditions: list[str] = []
    amount: float = Field(gt=0)
    amount_low: float | None = None
    amount_high: float | None = None
    unit: Literal["mg", "mcg", "g", "units", "mEq", "mL"]
    per_kg: bool = False
    per_m2: bool = False
    route: Literal["PO", "IV", "IM", "SC", "SL", "INH", "PR", "TOP"]
    frequency: str
    frequencies: list[str] = []
    max_dose: float | None = None
    step: float | None = Field(default=None, gt=0)
    """A computed dose is rounded to a multiple of this: what the products allow (levothyroxine in
    25 mcg tablets, a heparin bolus to 100 units)."""
    renal: list[RenalTier] = []
    hepatic: HepaticDose | None = None
    reduction: DoseReduction | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DoseRule:
        if self.per_kg and self.per_m2:
            raise ValueError("a dose is per kg or per m2, not both")
        if self.amount_high is not None and not self.amount_high >= self.amount:
            raise ValueError("amount_high must not be below amount")
        if self.amount_low is not None and not self.amount_low <= self.amount:
            raise ValueError("amount_low must not be above amount")
        limits = [tier.crcl_below for tier in self.renal]
        if limits != sorted(limits, reverse=True) or len(set(limits)) != len(limits):
            raise ValueError("renal tiers must go from the highest crcl_below down, each once")
        return self

    def renal_tier(self, crcl: float) -> RenalTier | None:
        """The tier this CrCl falls in, or None when the usual dose applies."""
        tiers = [tier for tier in self.renal if crcl < tier.crcl_below]
        return tiers[-1] if tiers else None


class Interaction(_Strict):
    drug: str
    effect: str
    severity: Literal["major", "moderate"]


class ClassInteraction(_Strict):
    """An interaction between every drug of one class and every drug of another (or the same)
    class, e.g. a vitamin K antagonist with any NSAID. The loader adds it to each pair of drugs
    that does not list that pair itself."""

    id: str
    between: tuple[str, str]
    effect: str
    severity: Literal["major", "moderate"]


class Contraindication(_Strict):
    """`condition` is a knowledge-base condition id or one of the states in `PATIENT_STATES`."""

    condition: str
    reason: str


ECG_RHYTHMS: frozenset[str] = frozenset(
    {
        "normal_sinus",
        "sinus_tachycardia",
        "sinus_bradycardia",
        "atrial_fibrillation",
        "atrial_flutter",
        "complete_heart_block",
        "ventricular_tachycardia",
    }
)
"""The rhythms the ECG renderer can draw; `Condition.ecg_rhythm` must be one of them."""

PATIENT_STATES: frozenset[str] = frozenset(
    {
        "pregnancy",
        "postpartum",
        "severe_renal_impairment",
        "hepatic_failure",
        "long_qt",
        "active_bleeding",
        "hyperkalemia",
    }
)


class Drug(_Strict):
    id: str
    name: str
    brand_names: list[str] = []
    drug_class: str
    allergy_class: str | None = None
    classes: list[str] = []
    """Groups that class interactions (interactions.yaml) name: nsaid, serotonergic, ..."""
    doses: list[DoseRule] = Field(min_length=1)
    """One rule per indication; the first is the drug's default use."""
    interactions: list[Interaction] = []
    contraindications: list[Contraindication] = []
    required_checks: list[str] = []
    qt_prolonging: bool = False
    teratogenic: bool = False
    high_alert: bool = False
    lowers_blood_pressure: bool = False
    """Given to lower the blood pressure: not started in low pressure or shock."""
    slows_heart_rate: bool = False
    """Slows the heart (beta blockers, diltiazem, digoxin, amiodarone): not started at a rate
    under 60."""

    @property
    def dose(self) -> DoseRule:
        """The default dose rule (the drug's usual use)."""
        return self.doses[0]

    def rule(self, indication: str | None) -> DoseRule:
        """The dose rule for an indication slug or condition id; the default one otherwise."""
        if indication is not None:
            for rule in self.doses:
                if indication == rule.indication or indication in rule.conditions:
                    return rule
        return self.doses[0]

    @property
    def family(self) -> str:
        """The class without its qualifier: "statin" for "statin (HMG-CoA reductase inhibitor)",
        "anticoagulant" for every anticoagulant (drugs that do one job)."""
        return self.drug_class.split(" (")[0]

    def barred_by(self, condition: str) -> bool:
        """Whether this patient state or condition contraindicates the drug."""
        return any(c.condition == condition for c in self.contraindications)

    @property
    def interaction_classes(self) -> set[str]:
        """`classes` plus the flags that are classes too (qt_prolonging)."""
        return set(self.classes) | ({"qt_prolonging"} if self.qt_prolonging else set())


class Precheck(_Strict):
    """A check that must be done before a drug or procedure: what `omission_detection` looks for."""

    id: str
    name: str
    analytes: list[str] = []
    """Every one must be reported before the check counts as done (potassium alone is not a QTc check)."""
    findings: list[str] = []
    """Non-lab parts that must be reported too, as words a report would use ("QTc")."""
    test: str
    applies_to: list[str]
    rationale: str
    """Why the check matters, said of the one drug or procedure a flag names ({item} where the check
    serves several)."""
    threshold: str
    first_dose_waits: bool = True
    """False for a check that must not delay a time-critical first dose (an antibiotic in sepsis or
    meningitis): the check is drawn and the first dose given, the result sets what follows."""
    routine: bool = False
    """Bloods or an ECG that any admitted patient may have had for reasons of their own (a basic
    panel, a blood count and clotting screen), so hearing it reported implies no plan needing it."""


class Procedure(_Strict):
    """An order that is not a drug (imaging, a bedside procedure) and can need a precheck.

    `allergy_class` names the agent a patient can be allergic to (e.g. iodinated_contrast).
    """

    id: str
    name: str
    aliases: list[str] = []
    allergy_class: str | None = None


class Abbreviation(_Strict):
    """An error-prone abbreviation or dose designation that makes an order ambiguous."""

    id: str
    token: str | None = None
    pattern: str | None = None
    meanings: list[str] = Field(min_length=2)
    source: Literal["joint_commission", "ismp"]

    @model_validator(mode="after")
    def _one_way(self) -> Abbreviation:
        if (self.token is None) == (self.pattern is None):
            raise ValueError("an abbreviation has a token or a pattern, not both")
        return self


class Clip(_Strict):
    """A shortened drug name said aloud ("levo") and the drugs it can stand for: it names one drug
    only when exactly one of them is in play."""

    id: str = Field(pattern=r"^[a-z]+$")
    """The clip itself, as a lower-case word."""
    drugs: list[str] = Field(min_length=2)


class KnowledgeBase(_Strict):
    conditions: dict[str, Condition]
    analytes: dict[str, Analyte]
    drugs: dict[str, Drug]
    prechecks: dict[str, Precheck]
    units: frozenset[str]
    procedures: dict[str, Procedure] = {}
    class_interactions: dict[str, ClassInteraction] = {}
    abbreviations: dict[str, Abbreviation] = {}
    clips: dict[str, Clip] = {}

    def implied_states(self, condition_ids: list[str]) -> set[str]:
        """Patient states that these conditions establish."""
        return {s for c in condition_ids if c in self.conditions for s in self.conditions[c].implies_states}

    def interacts(self, drug_id: str, others: Collection[str], major_only: bool = True) -> bool:
        """Whether the drug interacts with any of `others` (only major interactions when
        `major_only`); every interaction is listed on both drugs with one severity, so the drug's
        own list says it."""
        listed = [i for i in self.drugs[drug_id].interactions if i.drug in others]
        return any(i.severity == "major" or not major_only for i in listed)

    def treats(self, drug_id: str, condition_id: str) -> bool:
        """Whether the drug is a first-line treatment of the condition or has a dose rule for it."""
        return condition_id in self.treated_by[drug_id]

    @cached_property
    def treated_by(self) -> dict[str, frozenset[str]]:
        """Drug id -> the conditions it treats (first-line or named by one of its dose rules);
        computed once, since generation asks it for every drug of every case."""
        treated = {d.id: {c for rule in d.doses for c in rule.conditions} for d in self.drugs.values()}
        for condition in self.conditions.values():
            for drug_id in condition.first_line_drugs:
                treated.setdefault(drug_id, set()).add(condition.id)
        return {drug_id: frozenset(conditions) for drug_id, conditions in treated.items()}

    def waived_states(self, drug_id: str, condition_ids: list[str]) -> set[str]:
        """States that do not count against a drug because a condition it treats implies them
        (methotrexate for an ectopic pregnancy is not "a teratogen in pregnancy")."""
        treated = [c for c in condition_ids if self.treats(drug_id, c)]
        return self.implied_states(treated)
