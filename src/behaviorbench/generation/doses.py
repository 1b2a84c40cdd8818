"""Dosing arithmetic: one place applies a knowledge-base dose rule to a patient.

The dose_calculation gold, the correct dose in error_correction and its tests all come from here,
so a rule change cannot make them disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from behaviorbench.knowledge.models import Drug


@dataclass(frozen=True)
class Dose:
    amount: float
    unit: str
    route: str
    frequency: str

    @property
    def text(self) -> str:
        """The amount with its unit, e.g. "80 mg"."""
        return f"{number(self.amount)} {self.unit}"

    def order(self, drug: Drug) -> str:
        """A full order, e.g. "enoxaparin 80 mg SC q12h"."""
        return f"{drug.name} {self.text} {self.route} {self.frequency}"


def number(value: float) -> str:
    """A dose or lab number without trailing zeros ("80", "2.5", "0.125")."""
    return f"{value:g}"


def round_dose(amount: float) -> float:
    """Three significant figures: what a prescriber would write, well inside the 10% tolerance."""
    if amount <= 0:
        return amount
    digits = 2 - math.floor(math.log10(amount))
    return round(amount, digits) if digits > 0 else float(round(amount, digits))


def renal_applies(drug: Drug, crcl: float) -> bool:
    return drug.renal is not None and crcl < drug.renal.crcl_below


def dose_for(drug: Drug, weight_kg: float, crcl: float) -> Dose | None:
    """The adult dose for this weight and Cockcroft-Gault CrCl, or None if the drug must be avoided."""
    rule = drug.dose
    amount = rule.amount * weight_kg if rule.per_kg else rule.amount
    if rule.max_dose is not None:
        amount = min(amount, rule.max_dose)
    frequency = rule.frequency
    if drug.renal is not None and renal_applies(drug, crcl):
        if drug.renal.avoid:
            return None
        if drug.renal.factor is not None:
            amount *= drug.renal.factor
        if drug.renal.frequency:
            frequency = drug.renal.frequency
    return Dose(round_dose(amount), rule.unit, rule.route, frequency)


def needs_calculation(drug: Drug, crcl: float) -> bool:
    """Whether a dose question about `drug` for this patient involves arithmetic or a renal rule."""
    return drug.dose.per_kg or renal_applies(drug, crcl)


def cockcroft_gault(age: int, weight_kg: float, creatinine_mg_dl: float, female: bool) -> float:
    """Creatinine clearance in mL/min."""
    crcl = (140 - age) * weight_kg / (72 * creatinine_mg_dl)
    return crcl * 0.85 if female else crcl
