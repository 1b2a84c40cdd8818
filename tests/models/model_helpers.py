"""Shared by the model tests: a tiny random model on disk and small valid cases with every behavior
in gold history (the loopback server runner lives in tests/loopback.py)."""

from __future__ import annotations

import os

import pytest
from casekit import attending, lab_answer, lab_table, nurse, problem, resident, ward_case

from behaviorbench.models.tiny import make_tiny_model
from behaviorbench.schema import Case, Slot, Target
from behaviorbench.taxonomy import Category

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def make_case(variant: int = 0) -> Case:
    """Six utterances: a question (reactive), a 10x dose nobody catches (proactive), ambient talk."""
    dose = ["4 mg", "40 mg", "0.4 mg"][variant % 3]
    utterances = [
        attending("Let's review bed 4, a 67-year-old with sepsis."),
        nurse("Morning labs are back.", lab_table()),
        resident("Assistant, what stands out in these labs?"),
        resident(f"Give ondansetron {dose} IV now."),
        nurse("Okay, drawing it up."),
        attending("Let's move on to bed 5."),
    ]
    slots = [Slot(index=i) for i in range(len(utterances))]
    slots[2] = lab_answer(2, f"t{variant}-labs")
    slots[3] = problem(
        3,
        Category.error_correction,
        f"t{variant}-dose",
        f"Ondansetron {dose} IV looks like a 10x dosing error.",
        Target(kind="issue", answers=["dose"]),
        evidence=[3],
    )
    return ward_case(f"hand-{variant}", utterances, slots)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_dir):
    from behaviorbench.models.hf import HFBackend

    return HFBackend(str(tiny_model_dir), device="cpu")
