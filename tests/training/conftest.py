"""A tiny random model and a handful of short hand-built cases: training tests run in seconds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from casekit import attending, nurse, ward_case

from behaviorbench.dataset.writer import write_dataset
from behaviorbench.models.tiny import make_tiny_model
from behaviorbench.schema import Case, Slot, Target, Utterance
from behaviorbench.taxonomy import Behavior, Category

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# (speaker, role, text, behavior, response): each case is three utterances, one designated slot last.
_SCENES = [
    (
        "Dr. Okafor",
        "attending",
        "Assistant, what is the most likely diagnosis?",
        Behavior.reactive,
        "Sepsis.",
    ),
    (
        "Nurse Lee",
        "nurse",
        "Start enoxaparin 700 mg per kg now.",
        Behavior.proactive,
        "Check the dose: 700 mg.",
    ),
    ("Dr. Patel", "resident", "The blood pressure is stable.", Behavior.silent, ""),
    ("Dr. Patel", "resident", "Assistant, what is the potassium?", Behavior.reactive, "Potassium is 5.9."),
    (
        "Pharmacist Ng",
        "pharmacist",
        "Give penicillin despite the allergy.",
        Behavior.proactive,
        "Allergy: penicillin.",
    ),
    ("Nurse Lee", "nurse", "The heart rate is 80.", Behavior.silent, ""),
]


def make_case(index: int, split: str = "train") -> Case:
    """Two ambient openers, then a designated slot whose gold behavior follows from the last line."""
    speaker, role, text, behavior, response = _SCENES[index % len(_SCENES)]
    category = {
        Behavior.reactive: Category.ddx_reasoning,
        Behavior.proactive: Category.error_correction,
        Behavior.silent: Category.non_actionable,
    }[behavior]
    utterances = [
        attending("Let's review bed 4."),
        nurse("Morning labs are back."),
        Utterance(speaker=speaker, role=role, text=text),
    ]
    slots = [
        Slot(index=0),
        Slot(index=1),
        Slot(
            index=2,
            category=category,
            task_id=f"tiny-{index:04d}-t2",
            gold_behavior=behavior,
            gold_response=response,
            target=Target(kind="issue", answers=[response]) if response else None,
            evidence=[2],
        ),
    ]
    return ward_case(f"tiny-{index:04d}", utterances, slots, split=split, patient={})


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def cases() -> list[Case]:
    return [make_case(i) for i in range(6)]


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory, cases: list[Case]) -> Path:
    out = tmp_path_factory.mktemp("data") / "tiny"
    write_dataset(out, cases, generator_version="test")
    return out
