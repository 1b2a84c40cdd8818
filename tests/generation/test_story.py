"""Cases follow a clinical course: a few problems, urgent cases treat first, drugs and procedures
that fit the patient, people in role, and a closing line that says where the patient goes."""

import re
from statistics import mean

from behaviorbench.checking.reading import orders, utterance_labs
from behaviorbench.generation.banks import load_phrase_bank
from behaviorbench.generation.case import build_case, procedures_for
from behaviorbench.generation.context import acuity_of
from behaviorbench.generation.given import Given
from behaviorbench.generation.plan import EXCLUSIVE
from behaviorbench.knowledge import load_knowledge_base
from behaviorbench.taxonomy import CATEGORIES, Behavior, Category

ORDERS = {
    Category.dose_calculation,
    Category.error_correction,
    Category.ambiguity_clarification,
    Category.safety_alert,
    Category.omission_detection,
}
WORK_UP = {Category.lab_interpretation, Category.image_reasoning, Category.ddx_reasoning}
FIELD = re.compile(r"\\\{[A-Za-z_]+\\\}")


def _bank_pattern(texts: list[str]) -> re.Pattern[str]:
    """Any of the bank lines (fields as wildcards), after an optional conversational marker."""
    bank = load_phrase_bank()
    markers = "|".join(re.escape(m) for group in bank.get("story.markers").values() for m in group)
    lines = "|".join(FIELD.sub(".+?", re.escape(t)) for t in texts)
    return re.compile(f"(?:(?:{markers}) )?(?:{lines})", re.IGNORECASE)


def test_problems_are_few_per_case_and_no_case_asks_every_category(sample_cases):
    problems = [sum(s.gold_behavior is Behavior.proactive for s in c.designated) for c in sample_cases]
    assert 2 <= mean(problems) <= 4
    assert max(problems) <= 7
    every = sum(len({s.category for s in c.designated}) == len(CATEGORIES) for c in sample_cases)
    assert every <= 0.25 * len(sample_cases)


def test_urgent_cases_treat_before_they_work_up(sample_cases):
    kb = load_knowledge_base()
    urgent = [
        c
        for c in sample_cases
        if c.setting == "rapid response call" and kb.conditions[c.patient["condition"]].first_line_drugs
    ]
    assert len(urgent) >= 10
    for case in urgent:
        categories = [s.category for s in case.designated]
        first_order = next(i for i, c in enumerate(categories) if c in ORDERS)
        first_work_up = next((i for i, c in enumerate(categories) if c in WORK_UP), len(categories))
        assert first_order < first_work_up, case.case_id


def test_every_full_case_ends_with_where_the_patient_goes(sample_cases):
    """By acuity; a critically ill patient already in intensive care stays there."""
    bank = load_phrase_bank()
    kb = load_knowledge_base()
    closings = {
        acuity: _bank_pattern([v["text"] for v in variants])
        for acuity, variants in bank.get("story.disposition").items()
    }
    in_icu = 0
    for case in sample_cases:
        acuity = acuity_of(bank, kb.conditions[case.patient["condition"]])
        if acuity == "critical" and case.setting == "intensive care unit":
            acuity, in_icu = "critical_in_icu", in_icu + 1
        assert closings[acuity].fullmatch(case.utterances[-1].text), (case.case_id, case.utterances[-1].text)
    assert in_icu > 0


def test_home_medications_come_from_the_comorbidities_or_a_background_that_suits_the_sex(sample_cases):
    kb = load_knowledge_base()
    home = load_phrase_bank().get("indications")
    for case in sample_cases:
        p = case.patient
        allowed = set(home["home_background"])
        for chronic in p["chronic_conditions"]:
            allowed |= set(kb.conditions[chronic].first_line_drugs)
        if p["sex"] == "female":
            allowed -= set(home["male_only"])
        assert set(p["home_meds"]) <= allowed, (case.case_id, set(p["home_meds"]) - allowed)


def test_no_patient_takes_two_home_medications_of_one_kind(sample_cases):
    groups = load_phrase_bank().get("indications.home_alike")
    for case in sample_cases:
        home = set(case.patient["home_meds"])
        assert all(len(home & set(group)) <= 1 for group in groups), (case.case_id, sorted(home))


def test_procedures_fit_the_condition(sample_cases):
    kb = load_knowledge_base()
    bank = load_phrase_bank()
    names = {p.id: p.name.lower() for p in kb.procedures.values() if len(p.name) > 8}
    for case in sample_cases:
        fits = procedures_for(bank, kb.conditions[case.patient["condition"]])
        text = " ".join(u.text.lower() for u in case.utterances)
        said = {pid for pid, name in names.items() if name in text}
        assert said <= fits, (case.case_id, case.patient["condition"], said - fits)


def test_patients_and_family_give_no_orders(sample_cases):
    dose = re.compile(r"\d (?:mg|mcg|g|units|mEq|mL)\b")
    for case in sample_cases:
        for u in case.utterances:
            if u.role in ("patient", "family"):
                assert not dose.search(u.text), (case.case_id, u.text)


def test_pharmacists_never_propose_procedures(sample_cases):
    names = [p.name.lower() for p in load_knowledge_base().procedures.values()]
    for case in sample_cases:
        for u in case.utterances:
            if u.role == "pharmacist":
                assert not any(n in u.text.lower() for n in names), (case.case_id, u.text)


def test_no_case_holds_two_tasks_whose_facts_contradict(sample_cases):
    """Two weight problems (a mistyped unit and a second weight) or two home lists in one case
    would each rewrite the facts the other stands on."""
    weights = 0
    for case in sample_cases:
        held = {(slot.category, slot.subtype) for slot in case.designated if slot.subtype}
        weights += len(held & next(iter(EXCLUSIVE))) > 0
        for group in EXCLUSIVE:
            assert len(held & group) <= 1, (case.case_id, held & group)
    assert weights > 20


def test_an_age_takes_its_article(sample_cases):
    for case in sample_cases:
        for u in case.utterances:
            assert not re.search(r"\ba (?:8\d|11|18)-year-old", u.text), (case.case_id, u.text)
            assert not re.search(r"\ban (?:[1-79]\d|1[02-79])-year-old", u.text), (case.case_id, u.text)


def _given_cases(condition: str, pairs: int = 6, split: str = "train", **facts) -> list:
    """Cases built around one condition (both twins of each pair)."""
    kb, bank = load_knowledge_base(), load_phrase_bank()
    cases = []
    for pair in range(pairs):
        given = Given((f"g{pair}-0", f"g{pair}-1"), f"given:{pair}", split, condition=condition, **facts)
        cases += [build_case(kb, bank, 0, 0, given=given), build_case(kb, bank, 0, 1, given=given)]
    return cases


def test_an_obstetric_opening_always_says_the_pregnancy():
    """Preeclampsia and an ectopic pregnancy turn on a pregnancy: the opening never leaves it out."""
    for condition, said in (("preeclampsia_severe", "pregnancy"), ("ectopic_pregnancy", "missed period")):
        for case in _given_cases(condition, split="test_unseen", female=True, age=29):
            assert said in case.utterances[0].text, (condition, case.utterances[0].text)


def test_a_seizing_or_fasting_patient_is_ordered_nothing_by_mouth():
    kb = load_knowledge_base()
    fasting = [c.id for c in kb.conditions.values() if c.nothing_by_mouth]
    assert "status_epilepticus" in fasting and "appendicitis" in fasting
    ordered = 0
    for condition in ("status_epilepticus", "appendicitis"):
        for case in _given_cases(condition):
            for utterance in case.utterances:
                found = [o for o in orders(kb, utterance.text) if not o.home]
                assert all(o.route != "PO" for o in found), (case.case_id, utterance.text)
                ordered += len(found)
    assert ordered > 20


def test_a_slow_heart_is_ordered_nothing_that_slows_it():
    """A hypertensive emergency at a rate of 52 gets no labetalol or esmolol (its usual first
    drugs), nor any other drug that slows the heart, as no drug that lowers the pressure is given
    in shock."""
    kb = load_knowledge_base()
    slowing = {d.id for d in kb.drugs.values() if d.slows_heart_rate}
    assert {"metoprolol", "diltiazem", "digoxin", "labetalol"} <= slowing
    ordered = 0
    for case in _given_cases("hypertensive_emergency", vitals={"heart_rate": 52}):
        assert case.patient["vitals"]["heart_rate"] == 52
        for utterance in case.utterances:
            found = [o for o in orders(kb, utterance.text) if not o.home]
            assert not slowing & {o.drug for o in found}, (case.case_id, utterance.text)
            ordered += len(found)
    assert ordered > 20


def test_an_ectopic_keeps_its_own_hcg_and_is_not_sent_to_intensive_care():
    """A stable ectopic for methotrexate has an hCG under 5,000 (ACOG PB 193), which the pregnancy
    state must not redraw, and its case ends on a ward, not a critical-care bed."""
    bank = load_phrase_bank()
    critical = _bank_pattern([v["text"] for v in bank.get("story.disposition.critical")])
    kb = load_knowledge_base()
    said = []
    for case in _given_cases("ectopic_pregnancy", split="test_unseen", female=True, age=29):
        said += [r.value for u in case.utterances for r in utterance_labs(kb, u) if r.analyte == "beta_hcg"]
        assert not critical.fullmatch(case.utterances[-1].text), case.utterances[-1].text
    assert said and max(said) <= 4500, said
