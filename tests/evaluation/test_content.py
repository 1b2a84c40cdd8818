"""Content checks: each target kind, passing and failing."""

from __future__ import annotations

import pytest

from behaviorbench.evaluation.content import analyte_f1, check_content, mentions, order_agreement
from behaviorbench.schema import Target


def test_diagnosis_accepts_any_synonym_case_and_punctuation_insensitively():
    target = Target(kind="diagnosis", answers=["community-acquired pneumonia", "CAP"])
    assert check_content(target, "Most likely Community Acquired Pneumonia.") == (True, 1.0)
    assert check_content(target, "I think this is CAP, given the infiltrate.") == (True, 1.0)
    assert check_content(target, "Likely a pulmonary embolism.") == (False, 0.0)
    assert check_content(target, "") == (False, 0.0)


def test_whole_words_only_and_capitals_for_all_capital_answers():
    assert not mentions("the patient is capable", "CAP")
    assert not mentions("recap the cap on the bottle", "CAP")
    assert mentions("the potassium (K) is 5.9", "K")
    assert not mentions("Pt is comfortable", "PT")


@pytest.mark.parametrize("kind", ["treatment", "rhythm"])
def test_treatment_and_rhythm_name_an_accepted_answer(kind):
    target = Target(kind=kind, answers=["atrial fibrillation", "AF"])
    assert check_content(target, "The strip shows atrial fibrillation with RVR")[0]
    assert not check_content(target, "Sinus tachycardia")[0]


def test_issue_needs_most_key_terms():
    target = Target(kind="issue", answers=["penicillin|amoxicillin", "allergy|allergic", "rash"])
    assert check_content(target, "She is allergic to penicillin; amoxicillin is a risk.") == (
        True,
        pytest.approx(2 / 3),
    )
    assert check_content(target, "Penicillin allergy with a rash last year.") == (True, 1.0)
    assert check_content(target, "Careful with amoxicillin.") == (False, pytest.approx(1 / 3))
    two_terms = Target(kind="issue", answers=["warfarin", "ibuprofen"])
    assert not check_content(two_terms, "Warfarin looks fine.")[0]
    assert check_content(two_terms, "Ibuprofen with warfarin raises bleeding risk.")[0]


def test_analytes_set_f1_against_threshold():
    target = Target(kind="analytes", answers=["potassium", "creatinine"])
    assert check_content(target, "K is high at 5.9 and the creatinine has doubled.") == (True, 1.0)
    passed, score = check_content(target, "Potassium is high; sodium, creatinine and glucose too.")
    assert not passed
    assert score == pytest.approx(2 * 0.5 * 1 / 1.5)  # precision 2/4, recall 1
    assert check_content(target, "Only the potassium.", threshold=0.6) == (True, pytest.approx(2 / 3))
    assert analyte_f1("Nothing stands out.", ["potassium"]) == 0


def test_order_counts_concordant_pairs():
    events = ["fever", "cough", "admission", "intubation"]
    target = Target(kind="order", answers=events)
    assert check_content(target, "Fever, then cough, then admission and finally intubation.") == (True, 1.0)
    # one adjacent swap: 5 of 6 pairs concordant
    assert order_agreement("Cough came first, then fever, admission, intubation", events) == pytest.approx(
        5 / 6
    )
    assert check_content(target, "Intubation, admission, cough, fever.") == (False, 0.0)
    # a missing event breaks its three pairs
    assert order_agreement("fever, cough, admission", events) == pytest.approx(3 / 6)


def test_dose_needs_the_number_within_tolerance_in_a_compatible_unit():
    target = Target(kind="dose", value=1050, unit="mg")
    assert check_content(target, "Give 1,050 mg IV.") == (True, 1.0)
    assert check_content(target, "About 1 g, i.e. 1.05 g.")[0]
    assert check_content(target, "Give 1000 mg")[0]  # within 10%
    assert not check_content(target, "Give 1050 mcg")[0]
    assert not check_content(target, "Give 15 mg/kg")[0]
    assert not check_content(target, "Give 1050 units")[0]
    assert not check_content(Target(kind="dose", value=1050, unit="mg", tolerance=0.01), "Give 1000 mg")[0]


def test_dose_rate_units_and_micrograms():
    assert check_content(Target(kind="dose", value=2000, unit="mg/day"), "2 g/day in two doses")[0]
    assert check_content(Target(kind="dose", value=500, unit="mcg"), "0.5 mg, that is 500 µg")[0]
    assert not check_content(Target(kind="dose", value=2000, unit="mg/day"), "2 g/h")[0]


def test_plurals_name_the_same_thing():
    target = Target(kind="issue", answers=["carbapenems", "allergy"])
    assert check_content(target, "Meropenem is a carbapenem and she has a carbapenem allergy.")[0]
    assert mentions("two NSAIDs", "NSAID")
    assert mentions("sinus tachycardia", "sinus tachycardia")


def test_a_normal_panel_passes_only_when_no_analyte_is_named():
    target = Target(kind="analytes", answers=[])
    assert check_content(target, "Everything in that panel is within the reference range.") == (True, 1.0)
    assert check_content(target, "The sodium is a little low.") == (False, 0.0)


def test_an_analyte_inside_a_longer_name_is_not_named():
    assert analyte_f1("Abnormal: Hemoglobin A1c 5.7 % (high).", ["Hemoglobin A1c"]) == 1
    assert analyte_f1("Hemoglobin A1c is high and hemoglobin is low.", ["Hemoglobin A1c"]) == pytest.approx(
        2 / 3
    )


def test_every_gold_reply_of_generated_cases_passes_its_own_content_check():
    """Controls included: a reactive control's target scores the control's own answer."""
    from behaviorbench.evaluation.runner import has_content
    from behaviorbench.generation import generate_case

    checked, failures = 0, []
    for index in range(60):
        for slot in generate_case(3, index).slots:
            if has_content(slot):
                checked += 1
                if not check_content(slot.target, slot.gold_response)[0]:
                    failures.append((slot.task_id, slot.target.answers, slot.gold_response))
    assert checked > 500
    assert failures == []
