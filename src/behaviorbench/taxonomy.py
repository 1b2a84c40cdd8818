"""The behaviors, their public token and tag strings, and the 13 task categories in 3 groups.

These strings are part of the public data format: datasets, adapters and run logs depend on them.
"""

from __future__ import annotations

from enum import Enum


class Behavior(str, Enum):
    """What the assistant does at a slot."""

    reactive = "reactive"
    proactive = "proactive"
    silent = "silent"


BEHAVIORS: tuple[Behavior, ...] = (Behavior.reactive, Behavior.proactive, Behavior.silent)

# Special tokens of BehaviorSFT: the first token of every assistant turn.
BEHAVIOR_TOKENS: dict[Behavior, str] = {b: f"<|{b.value}|>" for b in BEHAVIORS}

# Tags the instructed baseline and API models must start their reply with.
BEHAVIOR_TAGS: dict[Behavior, str] = {b: f"[{b.value.upper()}]" for b in BEHAVIORS}

# Short descriptions whose mean embedding initialises each behavior token's row.
BEHAVIOR_DESCRIPTIONS: dict[Behavior, str] = {
    Behavior.reactive: "answer the question that was asked",
    Behavior.proactive: "speak up to flag a problem nobody asked about",
    Behavior.silent: "stay quiet and say nothing now",
}


class Group(str, Enum):
    reactive = "reactive"
    proactive = "proactive"
    restraint = "restraint"


class Category(str, Enum):
    ddx_reasoning = "ddx_reasoning"
    lab_interpretation = "lab_interpretation"
    temporal_ordering = "temporal_ordering"
    dose_calculation = "dose_calculation"
    treatment_recommendation = "treatment_recommendation"
    image_reasoning = "image_reasoning"
    error_correction = "error_correction"
    consistency_check = "consistency_check"
    omission_detection = "omission_detection"
    ambiguity_clarification = "ambiguity_clarification"
    safety_alert = "safety_alert"
    already_addressed = "already_addressed"
    non_actionable = "non_actionable"


GROUP_OF: dict[Category, Group] = {
    **{
        c: Group.reactive
        for c in (
            Category.ddx_reasoning,
            Category.lab_interpretation,
            Category.temporal_ordering,
            Category.dose_calculation,
            Category.treatment_recommendation,
            Category.image_reasoning,
        )
    },
    **{
        c: Group.proactive
        for c in (
            Category.error_correction,
            Category.consistency_check,
            Category.omission_detection,
            Category.ambiguity_clarification,
            Category.safety_alert,
        )
    },
    Category.already_addressed: Group.restraint,
    Category.non_actionable: Group.restraint,
}

CATEGORIES: tuple[Category, ...] = tuple(Category)
PROACTIVE_CATEGORIES: tuple[Category, ...] = tuple(c for c in CATEGORIES if GROUP_OF[c] is Group.proactive)
