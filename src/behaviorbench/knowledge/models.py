"""Schemas of the clinical knowledge base. The facts live in `data/*.yaml`; these models validate them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Analyte(_Strict):
    """A lab test with its adult reference range and critical limits (both in `unit`)."""

    id: str
    name: str
    aliases: list[str] = []
    panel: str
    unit: str
    low: float
    high: float
    critical_low: float | None = None
    critical_high: float | None = None
    decimals: int = Field(ge=0, le=3)

    @model_validator(mode="after")
    def _ordered(self) -> Analyte:
        if not self.low < self.high:
            raise ValueError(f"{self.id}: reference low must be below high")
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
    ecg_rhythm: str | None = None
    chronic: bool = False


class DoseRule(_Strict):
    """How to dose a drug for an adult. `per_kg` doses multiply by weight; `max_dose` caps a single dose."""

    amount: float
    unit: Literal["mg", "mcg", "g", "units", "mEq", "mL"]
    per_kg: bool = False
    route: Literal["PO", "IV", "IM", "SC", "SL", "INH", "PR", "TOP"]
    frequency: str
    max_dose: float | None = None
    indication: str = ""


class RenalRule(_Strict):
    """Below `crcl_below` mL/min (Cockcroft-Gault), multiply the dose by `factor` or change frequency."""

    crcl_below: float
    factor: float | None = None
    frequency: str | None = None
    avoid: bool = False


class Interaction(_Strict):
    drug: str
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
    {"pregnancy", "severe_renal_impairment", "hepatic_failure", "long_qt", "active_bleeding", "hyperkalemia"}
)


class Drug(_Strict):
    id: str
    name: str
    brand_names: list[str] = []
    drug_class: str
    allergy_class: str | None = None
    dose: DoseRule
    renal: RenalRule | None = None
    interactions: list[Interaction] = []
    contraindications: list[Contraindication] = []
    required_checks: list[str] = []
    qt_prolonging: bool = False
    teratogenic: bool = False
    high_alert: bool = False


class Precheck(_Strict):
    """A check that must be done before a drug or procedure: what `omission_detection` looks for."""

    id: str
    name: str
    analytes: list[str] = []
    test: str
    applies_to: list[str]
    rationale: str
    threshold: str


class Procedure(_Strict):
    """An order that is not a drug (imaging, a bedside procedure) and can need a precheck.

    `allergy_class` names the agent a patient can be allergic to (e.g. iodinated_contrast).
    """

    id: str
    name: str
    aliases: list[str] = []
    allergy_class: str | None = None


class KnowledgeBase(_Strict):
    conditions: dict[str, Condition]
    analytes: dict[str, Analyte]
    drugs: dict[str, Drug]
    prechecks: dict[str, Precheck]
    units: frozenset[str]
    procedures: dict[str, Procedure] = {}
