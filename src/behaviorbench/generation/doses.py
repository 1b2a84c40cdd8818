"""Dosing arithmetic: one place applies a knowledge-base dose rule to a patient.

The dose_calculation gold, the correct dose in error_correction and its tests all come from here,
so a rule change cannot make them disagree. A dose depends on what the drug is given for (heparin
for ACS is not heparin for a DVT), so every question names the indication.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Protocol

from behaviorbench.knowledge.models import DoseRule, Drug, KnowledgeBase, RenalTier


class Dosed(Protocol):
    """What dosing needs to know about a patient."""

    weight_kg: float
    height_cm: float
    crcl: float
    age: int
    creatinine: float

    @property
    def hepatic_failure(self) -> bool:
        """Whether the patient has decompensated liver disease (a rule's `hepatic` dose applies)."""
        ...


@dataclass(frozen=True)
class Body:
    """The dosing facts of a patient read from a built case's record."""

    weight_kg: float
    height_cm: float
    crcl: float
    age: int = 60
    creatinine: float = 1.0
    hepatic_failure: bool = False


@dataclass(frozen=True)
class Dose:
    amount: float
    unit: str
    route: str
    frequency: str
    low: float | None = field(default=None, compare=False)
    high: float | None = field(default=None, compare=False)
    """The correct range for this patient (None: only `amount`)."""
    frequencies: tuple[str, ...] = field(default=(), compare=False)
    """Other schedules the label allows for this dose (see `DoseRule.frequencies`)."""
    basis: tuple[DoseRule, Dosed, RenalTier | None, bool] | None = field(
        default=None, compare=False, repr=False
    )
    """The rule, patient, renal tier and whether the rule's reduction applied, for `working`."""

    @property
    def text(self) -> str:
        """The amount with its unit as a clinician writes it, e.g. "80 mg", "26.5 mg" (not
        "26500 mcg")."""
        dose = self.as_written
        return f"{number(dose.amount)} {dose.unit}"

    @property
    def as_written(self) -> Dose:
        """This dose in the unit a clinician writes it in (esmolol 26.5 mg for 26500 mcg)."""
        amount, unit = written(self.amount, self.unit)
        if unit == self.unit:
            return self
        scale = amount / self.amount
        low = None if self.low is None else round_dose(self.low * scale)
        high = None if self.high is None else round_dose(self.high * scale)
        return replace(self, amount=amount, unit=unit, low=low, high=high)

    @property
    def allowed(self) -> tuple[str, ...]:
        """Every schedule the label allows for this dose: its own frequency first."""
        return (self.frequency, *self.frequencies)

    def order(self, drug: Drug) -> str:
        """A full order, e.g. "enoxaparin 80 mg SC q12h"."""
        return f"{drug.name} {self.text} {self.route} {self.frequency}"

    @property
    def tier(self) -> RenalTier | None:
        """The renal tier this dose was adjusted for (None: the usual dose)."""
        return None if self.basis is None else self.basis[2]

    @property
    def capped(self) -> bool:
        """Whether the amount is the rule's maximum reached by scaling (heparin's 4000 units for
        anyone over 66 kg): no other weight gives another amount there."""
        if self.basis is None:
            return False
        rule, patient, tier, reduced = self.basis
        base = rule.amount if tier is None or tier.amount is None else tier.amount
        return not reduced and rule.max_dose is not None and base * _size(rule, patient) > rule.max_dose

    @property
    def hepatic(self) -> bool:
        """Whether the rule's dose for severe hepatic impairment applies (ondansetron held to every
        12 hours)."""
        return self.basis is not None and self.basis[0].hepatic is not None and self.basis[1].hepatic_failure

    @property
    def working(self) -> list[str]:
        """The arithmetic that led here ("60 units/kg x 82 kg", "capped at 4000 units", ...)."""
        if self.basis is None:
            return []
        rule, patient, tier, reduced = self.basis
        steps: list[str] = []
        if reduced and rule.reduction is not None:
            steps.append(f"reduced to {number(rule.reduction.amount)} {rule.unit}: {rule.reduction.reason}")
        else:
            _scaled(rule, rule.amount if tier is None or tier.amount is None else tier.amount, patient, steps)
        if tier is not None:
            steps.append(
                f"renally adjusted for CrCl {number(patient.crcl)} mL/min (below {number(tier.crcl_below)})"
            )
        if self.hepatic and rule.hepatic is not None:
            steps.append(f"adjusted for severe hepatic impairment: {rule.hepatic.reason}")
        if _rounds_to_step(rule, reduced):
            steps.append(f"rounded to the nearest {number(rule.step)} {rule.unit}")
        return steps


def number(value: float) -> str:
    """A dose or lab number without trailing zeros ("80", "2.5", "0.125")."""
    return f"{value:g}"


MCG_IN_MG = 1000.0
"""Micrograms from which an amount is written in milligrams: esmolol 26.5 mg, not 26500 mcg."""


def written(amount: float, unit: str) -> tuple[float, str]:
    """An amount and unit as a clinician writes them: 1000 mcg or more in mg (a computed amount
    in mcg of four digits or more is hard to read and easy to misplace a zero in)."""
    if unit == "mcg" and amount >= MCG_IN_MG:
        return round(amount / MCG_IN_MG, 9), "mg"
    return amount, unit


def round_dose(amount: float) -> float:
    """Three significant figures: what a prescriber would write for a computed dose, well inside
    the 10% tolerance (a fixed dose such as 3.375 g is kept as the label writes it)."""
    if amount <= 0:
        return amount
    digits = 2 - math.floor(math.log10(amount))
    return round(amount, digits) if digits > 0 else float(round(amount, digits))


def _rounds_to_step(rule: DoseRule, reduced: bool) -> bool:
    """Whether a dose from this rule is rounded to its product step: a weight- or BSA-based dose
    (a fixed reduced dose is already a product)."""
    return rule.step is not None and (rule.per_kg or rule.per_m2) and not reduced


def _to_step(step: float):
    """Round to the nearest multiple of `step`, never to nothing."""

    def fit(amount: float) -> float:
        return round_dose(max(step, round(amount / step) * step))

    return fit


def mosteller_bsa(weight_kg: float, height_cm: float) -> float:
    """Body-surface area in m2 (Mosteller): sqrt(height x weight / 3600)."""
    return math.sqrt(height_cm * weight_kg / 3600)


def renal_applies(rule: DoseRule, crcl: float) -> bool:
    return rule.renal_tier(crcl) is not None


def _size(rule: DoseRule, patient: Dosed) -> float:
    """What the rule's amount is multiplied by: the weight, the BSA (to 0.01 m2) or 1."""
    if rule.per_kg:
        return patient.weight_kg
    if rule.per_m2:
        return round(mosteller_bsa(patient.weight_kg, patient.height_cm), 2)
    return 1.0


def _scaled(rule: DoseRule, amount: float, patient: Dosed, working: list[str] | None) -> float:
    """`amount` per kg or per m2 times the patient's size, capped at `max_dose`."""
    unit = rule.unit
    scaled = amount * _size(rule, patient)
    if working is not None and rule.per_kg:
        working.append(f"{number(amount)} {unit}/kg x {number(patient.weight_kg)} kg")
    elif working is not None and rule.per_m2:
        working.append(
            f"{number(amount)} {unit}/m2 x {number(_size(rule, patient))} m2 (Mosteller, "
            f"{number(patient.height_cm)} cm, {number(patient.weight_kg)} kg)"
        )
    if rule.max_dose is not None and scaled > rule.max_dose:
        scaled = rule.max_dose
        if working is not None:
            working.append(f"capped at {number(rule.max_dose)} {unit}")
    return scaled


def dose_for(drug: Drug, indication: str | None, patient: Dosed) -> Dose | None:
    """The adult dose of `drug` for `indication` (a condition id or indication slug; None: the
    drug's default use) in this patient, or None if the patient's CrCl rules the drug out."""
    rule = drug.rule(indication)
    amount = _scaled(rule, rule.amount, patient, None)
    low = _scaled(rule, rule.amount_low, patient, None) if rule.amount_low is not None else None
    high = _scaled(rule, rule.amount_high, patient, None) if rule.amount_high is not None else None
    frequency, frequencies = rule.frequency, tuple(rule.frequencies)
    reduced = rule.reduction is not None and rule.reduction.applies(
        patient.age, patient.weight_kg, patient.creatinine
    )
    if reduced and rule.reduction is not None:
        amount, low, high = rule.reduction.amount, None, None
    tier = rule.renal_tier(patient.crcl) if rule.renal else None
    if tier is not None:
        if tier.avoid:
            return None
        if tier.amount is not None:
            amount = _scaled(rule, tier.amount, patient, None)
            low = None if tier.amount_low is None else _scaled(rule, tier.amount_low, patient, None)
            high = None if tier.amount_high is None else _scaled(rule, tier.amount_high, patient, None)
        if tier.factor is not None:
            amount *= tier.factor
            low = low * tier.factor if low is not None else None
            high = high * tier.factor if high is not None else None
        if tier.frequency:
            frequency, frequencies = tier.frequency, ()
    hepatic = rule.hepatic if patient.hepatic_failure else None
    if hepatic is not None:
        if hepatic.amount is not None:
            amount, low, high = hepatic.amount, None, None
        if hepatic.frequency:
            frequency, frequencies = hepatic.frequency, ()
    computed = rule.per_kg or rule.per_m2 or (tier is not None and tier.factor is not None)
    fit = round_dose if computed else float
    if _rounds_to_step(rule, reduced):
        fit = _to_step(rule.step)
    return Dose(
        fit(amount),
        rule.unit,
        rule.route,
        frequency,
        None if low is None else fit(low),
        None if high is None else fit(high),
        frequencies,
        (rule, patient, tier, reduced),
    )


def clearance_band(rule: DoseRule, tier: RenalTier | None) -> tuple[float | None, float | None]:
    """The CrCl range (mL/min, from `low` up to below `high`; None: open) in which a tier's dose,
    or with None the usual dose, applies."""
    limits = [t.crcl_below for t in rule.renal]
    if tier is None:
        return (limits[0] if limits else None), None
    below = limits[limits.index(tier.crcl_below) + 1 :]
    return (below[0] if below else None), tier.crcl_below


def avoided(drug: Drug, indication: str | None, crcl: float) -> bool:
    """Whether this CrCl rules the drug out for this indication (cheaper than `dose_for`)."""
    rule = drug.rule(indication)
    tier = rule.renal_tier(crcl) if rule.renal else None
    return tier is not None and tier.avoid


def needs_calculation(drug: Drug, indication: str | None, crcl: float) -> bool:
    """Whether a dose question about `drug` for this patient involves arithmetic or a renal rule."""
    rule = drug.rule(indication)
    return rule.per_kg or rule.per_m2 or renal_applies(rule, crcl)


def cockcroft_gault(age: int, weight_kg: float, creatinine_mg_dl: float, female: bool) -> float:
    """Creatinine clearance in mL/min."""
    crcl = (140 - age) * weight_kg / (72 * creatinine_mg_dl)
    return crcl * 0.85 if female else crcl


def indication_of(kb: KnowledgeBase, drug_id: str, diagnoses: list[str]) -> str | None:
    """What the drug is given for in a patient with these diagnoses (main condition first): the
    first one it treats, else None (its default use, which the indication bank's reason names)."""
    return next((c for c in diagnoses if kb.treats(drug_id, c)), None)
