"""The clinical facts that were once wrong, pinned to their published values (sources in
docs/knowledge-base.md), so a later edit cannot quietly bring an error back."""

from __future__ import annotations

import random

import pytest

from behaviorbench.generation.doses import Body, dose_for, mosteller_bsa
from behaviorbench.generation.patient import just_outside, normal_value
from behaviorbench.knowledge import KnowledgeBase, load_knowledge_base


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def dose(kb: KnowledgeBase, drug: str, indication: str | None, weight=80, height=175, crcl=90):
    return dose_for(kb.drugs[drug], indication, Body(weight, height, crcl))


def test_doses_depend_on_the_indication(kb):
    acs = dose(kb, "heparin", "stemi", weight=90)
    assert (acs.amount, acs.unit) == (4000, "units")  # 60 units/kg to a 4,000-unit maximum
    assert dose(kb, "heparin", "pulmonary_embolism", weight=80).amount == 6400  # 80 units/kg
    apixaban = dose(kb, "apixaban", "dvt")
    assert apixaban.amount == 10 and "twice daily for 7 days" in apixaban.frequency
    assert dose(kb, "apixaban", "atrial_fibrillation_rvr").amount == 5
    frail = dose_for(kb.drugs["apixaban"], "atrial_fibrillation_rvr", Body(58, 160, 40, 82, 1.1))
    assert frail.amount == 2.5 and "reduced" in frail.working[0]  # two of age >= 80, weight <= 60
    one = dose_for(kb.drugs["apixaban"], "atrial_fibrillation_rvr", Body(58, 160, 60, 70, 1.1))
    assert one.amount == 5
    magnesium = dose(kb, "magnesium_sulfate", "preeclampsia_severe")
    assert (magnesium.amount, magnesium.high, magnesium.unit) == (4, 6, "g")
    insulin = dose(kb, "insulin_regular", "hyperkalemia")
    assert (insulin.amount, insulin.route) == (10, "IV") and "hour" not in insulin.frequency.split(",")[0]
    assert dose(kb, "alteplase", "catheter_occlusion").amount == 2
    assert dose(kb, "alteplase", "acute_ischemic_stroke", weight=110).amount == 90  # 0.9 mg/kg, max 90


def test_methotrexate_for_an_ectopic_is_50_mg_per_m2_im(kb):
    assert round(mosteller_bsa(60, 165), 2) == 1.66
    ectopic = dose(kb, "methotrexate", "ectopic_pregnancy", weight=60, height=165)
    assert (ectopic.amount, ectopic.unit, ectopic.route) == (83, "mg", "IM")
    assert any("m2" in step for step in ectopic.working)
    assert dose(kb, "methotrexate", "rheumatoid_arthritis").frequency.startswith("once weekly")


@pytest.mark.parametrize(
    ("drug", "indication", "crcl", "amount", "frequency"),
    [
        ("acyclovir", "hsv_encephalitis", 20, 800, "every 24 hours"),  # 10 mg/kg x 80 kg
        ("acyclovir", "hsv_encephalitis", 40, 800, "every 12 hours"),
        ("meropenem", None, 20, 0.5, "every 12 hours"),
        ("meropenem", None, 40, 1, "every 12 hours"),
        ("cefepime", "febrile_neutropenia", 20, 2, "every 24 hours"),
        ("cefepime", "febrile_neutropenia", 45, 2, "every 12 hours"),
        ("oseltamivir", None, 20, 30, "once daily for 5 days"),
        ("oseltamivir", None, 45, 30, "twice daily for 5 days"),
        ("gentamicin", None, 30, 400, "every 48 hours then adjusted to levels"),
        ("gentamicin", None, 50, 400, "every 36 hours then adjusted to levels"),
        ("piperacillin_tazobactam", "sepsis", 15, 2.25, "every 6 hours"),
        ("piperacillin_tazobactam", "sepsis", 30, 3.375, "every 6 hours"),
        ("dabigatran", "atrial_fibrillation_rvr", 25, 75, "twice daily"),
        ("rivaroxaban", "atrial_fibrillation_rvr", 40, 15, "once daily with the evening meal"),
    ],
)
def test_renal_tables_have_every_tier(kb, drug, indication, crcl, amount, frequency):
    adjusted = dose(kb, drug, indication, crcl=crcl)
    assert (adjusted.amount, adjusted.frequency) == (amount, frequency)


@pytest.mark.parametrize(
    ("drug", "indication"), [("dabigatran", None), ("rivaroxaban", None), ("rivaroxaban", "dvt")]
)
def test_direct_oral_anticoagulants_are_avoided_below_15(kb, drug, indication):
    assert dose(kb, drug, indication, crcl=12) is None
    assert dose(kb, drug, indication, crcl=16) is not None


def test_every_first_line_drug_has_a_dose_rule_for_its_condition(kb):
    for condition in kb.conditions.values():
        for drug in condition.first_line_drugs:
            assert any(condition.id in rule.conditions for rule in kb.drugs[drug].doses), (drug, condition.id)


def major(kb: KnowledgeBase, a: str, b: str) -> bool:
    return any(i.drug == b and i.severity == "major" for i in kb.drugs[a].interactions)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("warfarin", "ketorolac"),
        ("warfarin", "naproxen"),
        ("warfarin", "aspirin"),
        ("warfarin", "clopidogrel"),
        ("apixaban", "ibuprofen"),
        ("sertraline", "tramadol"),
        ("citalopram", "linezolid"),
        ("fluoxetine", "sertraline"),
        ("azithromycin", "ondansetron"),
        ("haloperidol", "levofloxacin"),
        ("losartan", "potassium_chloride"),
        ("losartan", "naproxen"),
        ("lisinopril", "ketorolac"),
        ("tmp_smx", "lisinopril"),
        ("morphine", "lorazepam"),
        ("lithium", "naproxen"),
    ],
)
def test_class_interactions_reach_every_pair_both_ways(kb, a, b):
    assert major(kb, a, b) and major(kb, b, a)


def test_low_dose_aspirin_does_not_count_as_an_nsaid_with_lithium(kb):
    assert not major(kb, "lithium", "aspirin")


@pytest.mark.parametrize("raas", ["lisinopril", "losartan"])
def test_an_mra_on_an_ace_inhibitor_or_arb_is_heart_failure_therapy_with_monitoring(kb, raas):
    """2022 AHA/ACC/HFSA: spironolactone on top of an ACE inhibitor or ARB in HFrEF (class 1)."""
    for a, b in ((raas, "spironolactone"), ("spironolactone", raas)):
        assert [i.severity for i in kb.drugs[a].interactions if i.drug == b] == ["moderate"]
    assert major(kb, "spironolactone", "potassium_chloride")


def test_a_glucose_over_400_is_critical(kb):
    assert kb.analytes["glucose"].critical_high == 400


@pytest.mark.parametrize("nsaid", ["ibuprofen", "naproxen", "ketorolac"])
def test_nsaids_are_contraindicated_in_decompensated_liver_disease(kb, nsaid):
    assert "hepatic_failure" in {c.condition for c in kb.drugs[nsaid].contraindications}


def test_a_qtc_check_needs_potassium_magnesium_and_the_qtc(kb):
    check = kb.prechecks["qtc_before_qt_drug"]
    assert check.analytes == ["potassium", "magnesium"] and check.findings == ["QTc"]


def test_neuraxial_anesthesia_has_its_own_platelet_threshold(kb):
    assert "epidural" not in kb.prechecks["coagulation_before_procedure"].applies_to
    assert "70-80" in kb.prechecks["coagulation_before_neuraxial"].threshold


def test_obstetric_conditions_imply_pregnancy(kb):
    assert "pregnancy" in kb.implied_states(["preeclampsia_severe"])
    assert "pregnancy" in kb.implied_states(["ectopic_pregnancy"])
    assert "pregnancy" not in kb.implied_states(["postpartum_hemorrhage"])
    assert kb.waived_states("methotrexate", ["ectopic_pregnancy"]) == {"pregnancy"}
    assert kb.waived_states("lisinopril", ["preeclampsia_severe"]) == set()


def test_sex_specific_ranges(kb):
    assert kb.analytes["hemoglobin"].range_for(female=False) == (13.5, 17.5)
    assert kb.analytes["hemoglobin"].range_for(female=True) == (12.0, 15.5)
    for analyte in ("hematocrit", "creatinine", "ferritin", "uric_acid", "ck"):
        assert kb.analytes[analyte].range_for(True) != kb.analytes[analyte].range_for(False), analyte


def test_ua_does_not_name_uric_acid(kb):
    assert "UA" not in kb.analytes["uric_acid"].aliases


def test_no_drawn_value_is_negative(kb):
    rng = random.Random(0)
    for analyte in kb.analytes.values():
        for female in (False, True):
            for _ in range(20):
                assert normal_value(rng, analyte, female) >= 0, analyte.id
                assert just_outside(rng, analyte, high=False, female=female) >= 0, analyte.id
        if not analyte.has_low:
            assert just_outside(rng, analyte, high=False) > analyte.high, analyte.id


def test_a_check_rationale_names_the_one_item_flagged(kb):
    """A flag names one drug: "Both drugs are renally cleared" would leak the shared rationale."""
    for check in kb.prechecks.values():
        text = check.rationale.format(item="X").lower()
        assert "both drugs" not in text and "these drugs" not in text, check.id


def test_an_antibiotic_first_dose_is_not_held_for_a_creatinine(kb):
    assert kb.prechecks["renal_before_nephrotoxic_antibiotic"].first_dose_waits is False
    assert kb.prechecks["checks_before_thrombolysis"].first_dose_waits is True


def test_ipratropium_is_dosed_by_indication(kb):
    ipratropium = kb.drugs["ipratropium"]
    assert "every 20 minutes" in ipratropium.rule("asthma_exacerbation").frequency
    assert ipratropium.rule("copd_exacerbation").frequency == "nebulized every 4 to 6 hours"


def test_azt_reads_as_aztreonam_too(kb):
    assert set(kb.abbreviations["azt"].meanings) == {"zidovudine", "azathioprine", "aztreonam"}


def test_a_clip_stands_for_drugs_whose_names_start_with_it_or_a_brand_that_does(kb):
    assert {"levofloxacin", "levothyroxine", "norepinephrine"} <= set(kb.clips["levo"].drugs)
    assert {"hydromorphone", "hydrocortisone"} <= set(kb.clips["hydro"].drugs)
    for clip in kb.clips.values():
        for drug_id in clip.drugs:
            names = [kb.drugs[drug_id].name, *kb.drugs[drug_id].brand_names]
            assert any(n.lower().startswith(clip.id) for n in names), (clip.id, drug_id)
    # On the ISMP list ("nitro" drip: nitroglycerin or nitroprusside): an abbreviation, not a clip.
    assert "nitro" not in kb.clips


def test_a_weight_based_dose_is_rounded_to_what_the_products_allow(kb):
    levothyroxine = dose_for(kb.drugs["levothyroxine"], None, Body(83, 175, 90, 45))  # 132.8 mcg
    assert levothyroxine.amount == 125 and "rounded to the nearest 25 mcg" in levothyroxine.working
    older = dose_for(kb.drugs["levothyroxine"], None, Body(83, 175, 90, 70))
    assert older.amount == 50  # ATA: from about 60 years, start at 50 mcg, not the full dose
    assert dose(kb, "heparin", "venous_thromboembolism", weight=83).amount == 6600  # 6640 units
    assert dose(kb, "vancomycin", None, weight=83).amount == 1250  # 1245 mg
    assert dose(kb, "methotrexate", "ectopic_pregnancy", weight=60, height=165).amount == 83  # unrounded


@pytest.mark.parametrize(
    ("crcl", "amount", "low", "high", "frequencies"),
    [  # the Neurontin label's daily ranges, per dose
        (91, 300, 300, 1200, ("three times daily", "once daily", "twice daily")),
        (45, 300, 200, 700, ("twice daily",)),
        (20, 300, 200, 700, ("once daily",)),
        (13, 100, 100, 300, ("once daily",)),
    ],
)
def test_gabapentin_follows_the_labels_renal_ranges_and_titration(kb, crcl, amount, low, high, frequencies):
    gabapentin = dose(kb, "gabapentin", None, crcl=crcl)
    assert (gabapentin.amount, gabapentin.low or gabapentin.amount, gabapentin.high) == (amount, low, high)
    assert gabapentin.allowed == frequencies


def test_ceftriaxone_may_be_divided_twice_daily_except_where_meningitis_sets_it(kb):
    assert "every 12 hours" in dose(kb, "ceftriaxone", "community_acquired_pneumonia").allowed
    assert dose(kb, "ceftriaxone", "bacterial_meningitis").allowed == ("every 12 hours",)


def test_ondansetron_keeps_to_8_mg_a_day_in_severe_hepatic_impairment(kb):
    usual = dose(kb, "ondansetron", None)
    liver = dose_for(kb.drugs["ondansetron"], None, Body(80, 175, 90, hepatic_failure=True))
    assert (usual.amount, usual.allowed) == (4, ("every 12 hours as needed", "every 8 hours as needed"))
    assert (liver.amount, liver.allowed) == (4, ("every 12 hours as needed",))
    assert "8 mg a day" in liver.working[-1]


def test_no_routine_ecg_before_ondansetron_nor_liver_enzymes_before_a_statin(kb):
    assert kb.drugs["ondansetron"].required_checks == []
    assert kb.drugs["atorvastatin"].required_checks == kb.drugs["simvastatin"].required_checks == []
    assert "ondansetron" not in kb.prechecks["qtc_before_qt_drug"].applies_to


def test_a_dose_of_1000_mcg_or_more_is_written_in_mg(kb):
    esmolol = dose(kb, "esmolol", "aortic_dissection", weight=53)
    assert (esmolol.amount, esmolol.unit, esmolol.text) == (26500, "mcg", "26.5 mg")
    assert esmolol.as_written.amount == 26.5 and esmolol.order(kb.drugs["esmolol"]).startswith(
        "esmolol 26.5 mg IV"
    )
    assert dose(kb, "fentanyl", None).text.endswith(" mcg")
