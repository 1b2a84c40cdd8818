"""Splits by twin pair, and the held-out conditions, drugs and phrasings of test_unseen."""

import re
from collections import Counter

from behaviorbench.generation import generate_case, split_of
from behaviorbench.generation.banks import load_phrase_bank
from behaviorbench.generation.splits import held_out
from behaviorbench.knowledge import load_knowledge_base
from behaviorbench.schema import SPLITS, TableAttachment


def _text(case) -> str:
    parts = []
    for utterance in case.utterances:
        parts.append(utterance.text)
        parts += [a.markdown() if isinstance(a, TableAttachment) else a.title for a in utterance.attachments]
    for slot in case.slots:
        parts.append(slot.gold_response)
        if slot.target:
            parts += slot.target.answers
    return "\n".join(parts)


def test_twins_share_a_split_and_all_splits_occur():
    shares = Counter(split_of(0, index) for index in range(20000))
    assert set(shares) == set(SPLITS)
    assert 0.75 <= shares["train"] / 20000 <= 0.85
    assert 0.03 <= shares["test_unseen"] / 20000 <= 0.07
    assert all(split_of(0, 2 * k) == split_of(0, 2 * k + 1) for k in range(5000))


def test_held_out_sets_are_a_fixed_share_of_the_knowledge_base():
    kb = load_knowledge_base()
    held = held_out(kb)
    assert 0.1 <= len(held.conditions) / len(kb.conditions) <= 0.2
    assert 0.1 <= len(held.drugs) / len(kb.drugs) <= 0.2
    assert held == held_out(kb)


def test_no_held_out_condition_or_drug_outside_test_unseen(sample_cases):
    held = held_out(load_knowledge_base())
    for case in sample_cases:
        if case.split == "test_unseen":
            continue
        patient = case.patient
        assert patient["condition"] not in held.conditions
        assert not set(patient["chronic_conditions"]) & held.conditions
        assert not set(patient["home_meds"]) & held.drugs
        assert not held.mentioned_in(_text(case)), (case.case_id, held.names.findall(_text(case)))


def _unseen_cases(count: int) -> list:
    indices = [i for i in range(4000) if split_of(1, i) == "test_unseen"][:count]
    return [generate_case(1, i) for i in indices]


def test_test_unseen_features_held_out_conditions_and_drugs():
    held = held_out(load_knowledge_base())
    for case in _unseen_cases(20):
        assert case.patient["condition"] in held.conditions
        names = {m.lower() for m in held.names.findall(_text(case))}
        drugs = {
            n for n in names if any(n == load_knowledge_base().drugs[d].name.lower() for d in held.drugs)
        }
        assert drugs, case.case_id


def _pattern(template: str) -> re.Pattern[str]:
    pieces = re.split(r"\{[a-z_]+\}", template)
    return re.compile(".+?".join(re.escape(p) for p in pieces))


def test_reserved_phrasings_only_occur_in_test_unseen(sample_cases):
    bank = load_phrase_bank()
    reserved = bank.reserved_ids()
    assert len(reserved) >= 15
    templates = []
    for path in (
        "questions.ddx_reasoning",
        "questions.lab_interpretation",
        "questions.dose_calculation",
        "problems.orders",
    ):
        everything = bank.variants(path, False) + bank.variants(path, True)
        templates += [_pattern(v["text"]) for v in everything if v["id"] in reserved]
    assert templates
    seen_text = [u.text for case in sample_cases if case.split != "test_unseen" for u in case.utterances]
    assert not any(t.fullmatch(line) for t in templates for line in seen_text)
    unseen_text = [u.text for case in _unseen_cases(10) for u in case.utterances]
    assert any(t.fullmatch(line) for t in templates for line in unseen_text)
