"""The clinical knowledge base that cases are simulated from: conditions, labs, drugs, prechecks."""

from behaviorbench.knowledge.consistency import Inconsistency, find_inconsistencies
from behaviorbench.knowledge.load import knowledge_base_hash, load_knowledge_base
from behaviorbench.knowledge.models import (
    ECG_RHYTHMS,
    PATIENT_STATES,
    Abbreviation,
    Analyte,
    ClassInteraction,
    Clip,
    Condition,
    Contraindication,
    DoseReduction,
    DoseRule,
    Drug,
    Interaction,
    KnowledgeBase,
    LabFinding,
    Precheck,
    Procedure,
    RenalTier,
)

__all__ = [
    "ECG_RHYTHMS",
    "PATIENT_STATES",
    "Abbreviation",
    "Analyte",
    "ClassInteraction",
    "Clip",
    "Condition",
    "Contraindication",
    "DoseReduction",
    "DoseRule",
    "Drug",
    "Inconsistency",
    "Interaction",
    "KnowledgeBase",
    "LabFinding",
    "Precheck",
    "Procedure",
    "RenalTier",
    "find_inconsistencies",
    "knowledge_base_hash",
    "load_knowledge_base",
]
