"""The rewrite check: what a natural rewrite may change, and each invariant it may not break."""

from __future__ import annotations

import pytest

from behaviorbench.importing.invariants import Vocabulary, check_rewrite
from behaviorbench.knowledge import load_knowledge_base

ORIGINAL = "Ada, start vancomycin 1250 mg IV every 12 hours; no known drug allergies, left arm line."
NAMES = ["Ada", "Chen", "Okafor"]


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.of(load_knowledge_base())


@pytest.mark.parametrize(
    "rewrite",
    [
        "Ada, get vancomycin 1250 mg IV going every 12 hours; no known drug allergies, line in the left arm.",
        "Ada - vancomycin 1,250 mg IV every 12 hours please. No known drug allergies; left arm line.",
    ],
)
def test_a_natural_rewrite_that_keeps_every_fact_is_accepted(vocabulary, rewrite):
    assert check_rewrite(ORIGINAL, rewrite, vocabulary, NAMES) is None


@pytest.mark.parametrize(
    ("rewrite", "why"),
    [
        (
            "Ada, start vancomycin 1250 mg IV every 8 hours; no known drug allergies, left arm line.",
            "numbers",
        ),
        (
            "Ada, start vancomycin 1250 mcg IV every 12 hours; no known drug allergies, left arm line.",
            "numbers",
        ),
        (
            "Ada, start vancomycin 1250 mg IV every 12 hours for 7 days; no known drug allergies, left arm.",
            "numbers",
        ),
        ("Ada, start vancomycin 1250 mg IV twice daily; no known drug allergies, left arm line.", "numbers"),
        ("Ada, start vanc 1250 mg IV every 12 hours; no known drug allergies, left arm line.", "terms"),
        (
            "Ada, start vancomycin 1250 mg IV every 12 hours with gentamicin; no drug allergies, left arm.",
            "terms",
        ),
        (
            "Ada, start vancomycin 1250 mg IV every 12 hours; no known drug allergies, right arm line.",
            "sides",
        ),
        ("Start vancomycin 1250 mg IV every 12 hours; no known drug allergies, left arm line.", "names"),
        (
            "Ada, Dr. Okafor says start vancomycin 1250 mg IV every 12 hours; no allergies, left arm line.",
            "names",
        ),
        (
            "Ada, start vancomycin 1250 mg IV every 12 hours; known drug allergies, left arm line.",
            "negations",
        ),
        (
            "Ada, don't start vancomycin 1250 mg IV every 12 hours; no known drug allergies, left arm line.",
            "negations",
        ),
        (
            "<|reactive|> Ada, start vancomycin 1250 mg IV every 12 hours; no known allergies, left arm.",
            "holds",
        ),
        (
            "Ada, start vancomycin 1250 mg IV every 12 hours;\nno known drug allergies, left arm line.",
            "one line",
        ),
        ("", "empty"),
    ],
)
def test_a_rewrite_that_breaks_an_invariant_is_rejected_naming_it(vocabulary, rewrite, why):
    reason = check_rewrite(ORIGINAL, rewrite, vocabulary, NAMES)
    assert reason is not None and why in reason, reason


def test_a_long_answer_about_something_else_is_rejected(vocabulary):
    original = "Let's move on to the next patient."
    rewrite = "Sure! Here is a more natural version of the line you gave me, as a nurse would say it. " * 2
    assert "longer" in check_rewrite(original, rewrite, vocabulary, NAMES)


def test_an_answer_about_something_else_is_rejected_even_with_no_fact_to_lose(vocabulary):
    original = "Let's review the morning bloods together before rounds."
    assert "keeps 0" in check_rewrite(
        original, "Sure thing, happy to help with that today.", vocabulary, NAMES
    )
