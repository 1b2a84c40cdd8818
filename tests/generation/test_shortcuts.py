"""Guards against surface cues that decide a minimal pair without clinical reasoning.

The full audit is `bench/shortcut_audit.py`; here a probe trained on the shared sample build and
tested on a small build of another seed checks that the cues removed from the generator stay gone.
"""

from __future__ import annotations

import re

import pytest

from behaviorbench.dataset.shortcuts import audit, pair_slots
from behaviorbench.generation import generate_case
from behaviorbench.knowledge import load_knowledge_base
from behaviorbench.taxonomy import GROUP_OF, Group

TEST_SEED, TEST_CASES = 7, 400
OVERALL_BOUND = 0.75
"""Loose: small builds are noisy, and value-level problems (a 10-fold dose) still show in numbers."""
FIXED = {
    "omission_detection/precheck": 0.70,
    "consistency_check/exam_imaging": 0.80,
    "consistency_check/laterality": 0.80,
    "ambiguity_clarification/patient": 0.80,
    "safety_alert/contraindication": 0.70,
    "safety_alert/allergy": 0.70,
    "safety_alert/interaction": 0.80,
    "error_correction/frequency": 0.80,
    "error_correction/lab": 0.80,
    "error_correction/unit": 0.80,
    "safety_alert/critical": 0.80,
}
"""Subtypes whose problem-only lines and words are gone, with a bound well below where they stood
(0.75-1.0): the safety controls draw their drug as the plan draws a problem drug, a wrong
frequency is as common among right orders, a transposed lab value is as common a value as the
one it replaces, a unit slip's number sits next to that unit as often in right orders, and both
twins hear the same two results before the team names one."""
MIN_SLOTS = 30
"""A subtype's bound is checked only where the test build holds this many of its slots: on a dozen
slots (interaction pairs in 160 cases) one drug drawn twice more as a problem moves the accuracy
by 0.15, which says nothing. `bench/shortcut_audit.py` measures every subtype at scale."""
POOLED_DRUG = {
    "safety_alert/allergy",
    "safety_alert/interaction",
    "safety_alert/contraindication",
}
"""Controls that order a safe drug from the problem drug's pool (the patient's record is shared)."""
SWAPPED_NAME = {
    "ambiguity_clarification/units",
    "ambiguity_clarification/abbreviation",
    "ambiguity_clarification/home_meds",
    "consistency_check/medlist",
}
"""Twins that name one drug each where they differ, both drawn from one pool: the drug just given
or another (units), the current home drug or the one switched away from (home meds), a drug given
before that shares the order's clip or one of another clip (abbreviation), the drug the patient
names or a decoy (medlist). Only how the name relates to what was said decides."""
SWAPPED_ANALYTE = {"safety_alert/critical"}
"""Twins that name one analyte each where they differ: of two results just read out, the critical
one (control) or the other (problem); a shared draw picks which is critical, so each analyte is
named as often in either twin."""


@pytest.fixture(scope="module")
def other_seed():
    return [generate_case(TEST_SEED, index) for index in range(TEST_CASES)]


def _names(text: str, names: list[str]) -> set[str]:
    lower = text.lower()
    return {n for n in names if re.search(rf"\b{re.escape(n)}\b", lower)}


def test_bag_of_words_cannot_tell_problem_from_control(sample_cases, other_seed):
    train, test = pair_slots(sample_cases, [1, 2, 4]), pair_slots(other_seed, [1, 2, 4])
    for k in (1, 2, 4):
        overall, per = audit(train, test, k)
        assert overall.accuracy <= OVERALL_BOUND, (k, overall)
        for subtype, bound in FIXED.items():
            if test.subtypes.count(subtype) >= MIN_SLOTS:
                assert per[subtype].accuracy <= bound, (k, subtype, per[subtype])


def test_twins_share_speakers_roles_drugs_and_analytes(sample_twins):
    kb = load_knowledge_base()
    drugs = sorted({d.name.lower() for d in kb.drugs.values()})
    analytes = sorted({a.name.lower() for a in kb.analytes.values()})
    checked = 0
    for a, b in sample_twins:
        for ua, ub in zip(a.utterances, b.utterances, strict=True):
            assert (ua.speaker, ua.role) == (ub.speaker, ub.role), (a.case_id, ua.text, ub.text)
        for sa in a.slots:
            if sa.category is None or GROUP_OF[sa.category] is not Group.proactive:
                continue
            kind = f"{sa.category.value}/{sa.subtype}"
            for i in sa.evidence:
                ta, tb = a.utterances[i].text, b.utterances[i].text
                if ta == tb:
                    continue
                checked += 1
                da, db = _names(ta, drugs), _names(tb, drugs)
                if kind in SWAPPED_NAME:  # one name for another (or a list short of one)
                    assert len(da - db) <= 1 and len(db - da) <= 1 and da ^ db, (kind, ta, tb)
                elif kind not in POOLED_DRUG | SWAPPED_ANALYTE:  # "acetaminophen level" names a drug
                    assert da == db, (kind, ta, tb)
                exempt = POOLED_DRUG | SWAPPED_NAME | SWAPPED_ANALYTE | {"omission_detection/precheck"}
                if kind not in exempt:
                    assert _names(ta, analytes) == _names(tb, analytes), (kind, ta, tb)
    assert checked > 100


def test_no_frequency_error_is_every_hour(sample_cases):
    """The old generator's frequency errors were all "every hour", said only in problem twins."""
    for case in sample_cases:
        for slot in case.designated:
            if slot.subtype == "frequency":
                assert "every hour" not in case.utterances[slot.index].text, case.case_id


def test_omission_twins_hear_a_check_reported_in_the_same_words(sample_twins):
    """Each omission twin hears a check reported; the problem's is another check, not filler."""
    for a, b in sample_twins:
        for slot in a.slots:
            if slot.subtype == "precheck":
                first = slot.evidence[0]
                ta, tb = a.utterances[first].text, b.utterances[first].text
                assert ta != tb and re.search(r"\d|normal", ta) and re.search(r"\d|normal", tb), (ta, tb)
