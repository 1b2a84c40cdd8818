"""Gold answers agree with the knowledge base and with what the case shows."""

import re

from behaviorbench.generation.banks import load_phrase_bank
from behaviorbench.generation.doses import (
    Body,
    clearance_band,
    cockcroft_gault,
    dose_for,
    indication_of,
    round_dose,
)
from behaviorbench.knowledge import load_knowledge_base
from behaviorbench.schema import ImageAttachment, TableAttachment
from behaviorbench.taxonomy import Category


def _slots(cases, category):
    return [(case, slot) for case in cases for slot in case.designated if slot.category is category]


def test_cockcroft_gault_and_rounding():
    assert cockcroft_gault(60, 72, 1.0, female=False) == 80
    assert cockcroft_gault(60, 72, 1.0, female=True) == 68
    assert round_dose(83.456) == 83.5 and round_dose(1234.0) == 1230 and round_dose(0.0625) == 0.0625


def test_a_dose_knows_its_cap_and_a_renal_tier_its_crcl_band():
    kb = load_knowledge_base()
    heparin, cephalexin = kb.drugs["heparin"], kb.drugs["cephalexin"]
    assert dose_for(heparin, "acute_coronary_syndrome", Body(90, 175, 90)).capped
    assert not dose_for(heparin, "acute_coronary_syndrome", Body(60, 175, 90)).capped
    rule = cephalexin.rule(None)
    bands = [
        clearance_band(rule, dose_for(cephalexin, None, Body(70, 170, c)).tier) for c in (95, 45, 20, 10)
    ]
    assert bands == [(60, None), (30, 60), (15, 30), (None, 15)]


def test_patient_crcl_is_cockcroft_gault_of_the_patient(sample_cases):
    for case in sample_cases:
        p = case.patient
        expected = cockcroft_gault(p["age"], p["weight_kg"], p["creatinine_mg_dl"], p["sex"] == "female")
        assert p["crcl_ml_min"] == round(expected)


def test_dose_targets_apply_the_knowledge_base_rule(sample_cases):
    kb = load_knowledge_base()
    by_name = {drug.name.lower(): drug for drug in kb.drugs.values()}
    checked = renal = 0
    for case, slot in _slots(sample_cases, Category.dose_calculation):
        question = case.utterances[slot.index].text.lower()
        drug = max((d for name, d in by_name.items() if name in question), key=lambda d: len(d.name))
        p = case.patient
        diagnoses = [p["condition"], *p["chronic_conditions"]]
        body = Body(p["weight_kg"], p["height_cm"], p["crcl_ml_min"], p["age"], p["creatinine_mg_dl"])
        dose = dose_for(drug, indication_of(kb, drug.id, diagnoses), body)
        assert slot.target.kind == "dose"
        assert (slot.target.value, slot.target.unit) == (dose.amount, dose.unit), case.case_id
        setup = case.utterances[slot.evidence[0]].text
        assert f"{p['weight_kg']} kg" in setup and str(p["crcl_ml_min"]) in setup
        checked += 1
        renal += any("renally adjusted" in step for step in dose.working)
    assert checked > 100 and renal > 0


def test_lab_targets_are_the_values_outside_their_range(sample_cases):
    for case, slot in _slots(sample_cases, Category.lab_interpretation):
        (table,) = [
            a for i in slot.evidence for a in case.utterances[i].attachments if isinstance(a, TableAttachment)
        ]
        assert table.columns == ["Test", "Result", "Unit", "Reference range"]
        outside = []
        for name, value, unit, reference in table.rows:
            low, high = (float(x) for x in reference.split("-"))
            assert unit
            if not low <= float(value) <= high:
                outside.append(name)
        assert slot.target.kind == "analytes" and slot.target.answers == outside


def test_image_targets_match_the_attached_truth(sample_cases):
    rhythms = load_phrase_bank().get("ecg.rhythms")
    kb = load_knowledge_base()
    sinus = {"normal_sinus": (60, 100), "sinus_tachycardia": (101, 250), "sinus_bradycardia": (20, 59)}
    first_seen = set()
    for case, slot in _slots(sample_cases, Category.image_reasoning):
        (image,) = [
            a for i in slot.evidence for a in case.utterances[i].attachments if isinstance(a, ImageAttachment)
        ]
        truth = image.truth
        assert slot.target.kind == "rhythm" and slot.target.answers == rhythms[truth["rhythm"]]["names"]
        assert image.path == f"images/ecg-{truth['rhythm']}-{truth['rate']}-{truth['variant']}.png"
        if truth["rhythm"] in sinus:
            low, high = sinus[truth["rhythm"]]
            assert low <= truth["rate"] <= high
        expected = kb.conditions[case.patient["condition"]].ecg_rhythm
        if case.case_id not in first_seen and expected not in (None, *sinus):
            assert truth["rhythm"] == expected, case.case_id
        first_seen.add(case.case_id)


def test_timeline_targets_follow_the_stated_times(sample_cases):
    for case, slot in _slots(sample_cases, Category.temporal_ordering):
        setup = case.utterances[slot.evidence[0]].text
        times = {}
        for label in slot.target.answers:
            day, hh, mm = re.search(rf"{re.escape(label)} (yesterday|today) (\d\d):(\d\d)", setup).groups()
            times[label] = (day == "today", int(hh), int(mm))
        assert list(slot.target.answers) == sorted(slot.target.answers, key=times.__getitem__)
        mentioned = sorted(slot.target.answers, key=setup.index)
        assert mentioned != list(slot.target.answers), "the setup must scramble the events"


def test_diagnosis_and_treatment_targets_come_from_the_condition(sample_cases):
    kb = load_knowledge_base()
    for case in sample_cases:
        condition = kb.conditions[case.patient["condition"]]
        for slot in case.designated:
            if slot.category is Category.ddx_reasoning and "Most likely" in slot.gold_response:
                assert slot.target.answers[0] == condition.name
            if slot.category is Category.treatment_recommendation:
                conditions = [condition, *(kb.conditions[c] for c in case.patient["chronic_conditions"])]
                assert any(set(slot.target.answers) & set(c.first_line) for c in conditions)


def test_a_differential_holds_only_diagnoses_this_patient_could_have(sample_cases):
    """No preeclampsia among an old man's alternatives: obstetric conditions need a woman of
    childbearing age, giant cell arteritis someone over 55."""
    kb, bank = load_knowledge_base(), load_phrase_bank()
    rules = bank.get("presentations.demographics")
    limited = {
        c.name: rules.get(c.id) or rules.get(c.system)
        for c in kb.conditions.values()
        if c.id in rules or c.system in rules
    }
    named = 0
    for case in sample_cases:
        female, age = case.patient["sex"] == "female", case.patient["age"]
        for slot in case.designated:
            if slot.category is not Category.ddx_reasoning:
                continue
            for name, rule in limited.items():
                low, high = rule.get("age", (0, 200))
                fits = (female or not rule.get("female")) and low <= age <= high
                if name.lower() in slot.gold_response.split("Also consider")[-1].lower():
                    named += 1
                    assert fits, (case.case_id, name, case.patient["sex"], age)
    assert named > 0


def test_a_standing_rhythm_shows_on_every_strip(sample_cases):
    """A patient with permanent atrial fibrillation shows it on a strip whatever the admission:
    only a condition with its own rhythm changes what the strip shows."""
    kb = load_knowledge_base()
    strips = 0
    for case in sample_cases:
        if "permanent_atrial_fibrillation" not in case.patient["chronic_conditions"]:
            continue
        own = kb.conditions[case.patient["condition"]].ecg_rhythm
        for slot in case.designated:
            if slot.category is Category.image_reasoning and own in (
                None,
                "normal_sinus",
                "sinus_tachycardia",
                "sinus_bradycardia",
            ):
                assert "atrial fibrillation" in slot.target.answers, (case.case_id, slot.target.answers)
                strips += 1
    assert strips > 10


def test_safety_flags_name_a_real_problem(sample_cases):
    kb = load_knowledge_base()
    by_name = {drug.name: drug for drug in kb.drugs.values()}
    allergy_names = load_phrase_bank().get("problems.allergy_names")
    for case in sample_cases:
        allergies = {name for a in case.patient["allergies"] for name in allergy_names[a["class"]]}
        for slot in case.designated:
            if slot.category is not Category.safety_alert or slot.control_of or len(slot.target.answers) != 2:
                continue
            drug_name, other = slot.target.answers
            drug = by_name[drug_name]
            interacting = {kb.drugs[i.drug].name for i in drug.interactions if i.severity == "major"}
            # An allergy a patient names ("Cipro") is accepted beside the chart's class: "class|lay".
            named = other.split("|")[0]
            assert named in allergies or named in interacting, (case.case_id, slot.gold_response)
