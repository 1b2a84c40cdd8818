"""Each safety check fires on a hand-written case built to break it, and stays quiet on its fixed twin."""

from __future__ import annotations

import pytest
from casekit import attending, lab_table, nurse, resident, ward_case

from behaviorbench.checking import Report, check_case
from behaviorbench.knowledge import KnowledgeBase, load_knowledge_base
from behaviorbench.schema import Slot, Utterance

BASE = {
    "name": "Mr. Reyes",
    "condition": "community_acquired_pneumonia",
    "chronic_conditions": [],
    "sex": "male",
    "age": 60,
    "weight_kg": 80,
    "height_cm": 178,
    "creatinine_mg_dl": 1.0,
    "crcl_ml_min": 90,
    "allergies": [],
    "home_meds": [],
    "states": [],
}
ALL_LABS = lab_table(
    ("Potassium", "4.1", "mmol/L", "3.5-5"),
    ("Magnesium", "2.0", "mg/dL", "1.7-2.2"),
    ("Creatinine", "1.0", "mg/dL", "0.7-1.3"),
    ("Estimated GFR", "88", "mL/min/1.73m2", "60-150"),
    ("Platelet count", "240", "x10^9/L", "150-400"),
    ("Hemoglobin", "14.1", "g/dL", "13.5-17.5"),
    ("International normalized ratio", "1.0", "ratio", "0.8-1.2"),
    ("Activated partial thromboplastin time", "30", "s", "25-35"),
)
"""Every lab a precheck of the drugs below asks for, so only the check under test can fire."""


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def run(kb: KnowledgeBase, lines: list[Utterance], **patient) -> Report:
    """Check a case whose every utterance is an ambient slot that must be clean."""
    case = ward_case(
        "c1",
        [resident("Labs are back.", ALL_LABS), nurse("QTc 430 ms on this morning's ECG."), *lines],
        [Slot(index=i) for i in range(len(lines) + 2)],
        patient={**BASE, **patient},
    )
    return check_case(kb, case)


def kinds(report: Report) -> list[str]:
    return sorted({f.kind for f in report.findings})


def test_a_drug_in_an_allergy_class_is_found_and_another_class_is_not(kb):
    allergies = [{"class": "penicillin", "reaction": "hives"}]
    bad = run(kb, [attending("Start piperacillin-tazobactam 4.5 g IV every 6 hours.")], allergies=allergies)
    assert kinds(bad) == ["allergy"]
    assert "penicillin" in bad.findings[0].detail
    good = run(kb, [attending("Start ceftriaxone 1 g IV every 24 hours.")], allergies=allergies)
    assert kinds(good) == []


def test_warfarin_with_any_nsaid_is_a_class_interaction(kb):
    bad = run(kb, [attending("Give ketorolac 15 mg IV every 6 hours.")], home_meds=["warfarin"])
    assert kinds(bad) == ["interaction"]
    assert "warfarin" in bad.findings[0].detail
    good = run(kb, [attending("Give acetaminophen 1000 mg PO every 6 hours.")], home_meds=["warfarin"])
    assert kinds(good) == []


def test_a_second_anticoagulant_on_top_of_home_warfarin_is_an_interaction(kb):
    bad = run(kb, [attending("Start enoxaparin 80 mg SC every 12 hours.")], home_meds=["warfarin"])
    assert kinds(bad) == ["interaction"]
    good = run(kb, [attending("Start enoxaparin 80 mg SC every 12 hours.")], home_meds=["atorvastatin"])
    assert kinds(good) == []


def test_an_nsaid_with_an_ace_inhibitor_or_arb_is_an_interaction(kb):
    bad = run(kb, [attending("Start naproxen 500 mg PO twice daily with food.")], home_meds=["losartan"])
    assert kinds(bad) == ["interaction"]
    assert "losartan" in bad.findings[0].detail


def test_spironolactone_on_an_ace_inhibitor_in_heart_failure_is_no_problem(kb):
    order = attending("Start spironolactone 25 mg PO once daily.")
    assert (
        kinds(run(kb, [order], home_meds=["lisinopril"], chronic_conditions=["chronic_heart_failure"])) == []
    )


def test_two_serotonergic_drugs_and_two_qt_drugs_interact(kb):
    serotonin = run(
        kb, [attending("Start tramadol 50 mg PO every 6 hours as needed.")], home_meds=["sertraline"]
    )
    assert kinds(serotonin) == ["interaction"]
    qt = run(kb, [attending("Ondansetron 4 mg IV every 8 hours as needed.")], home_meds=["citalopram"])
    assert kinds(qt) == ["interaction"]


def test_a_reported_long_qtc_contraindicates_a_qt_drug(kb):
    order = attending("Start azithromycin 500 mg IV once daily.")
    assert kinds(run(kb, [nurse("Repeat ECG: QTc 538 ms."), order])) == ["contraindication"]
    assert kinds(run(kb, [nurse("Repeat ECG: QTc 441 ms."), order])) == []


def test_a_contraindicating_condition_is_found(kb):
    line = attending("Start propranolol 40 mg PO twice daily.")
    assert kinds(run(kb, [line], condition="asthma_exacerbation")) == ["contraindication"]
    assert kinds(run(kb, [line])) == []


def test_a_teratogen_in_an_obstetric_condition_is_a_pregnancy_problem(kb):
    obstetric = {"condition": "preeclampsia_severe", "sex": "female", "age": 30}
    bad = run(kb, [attending("Start lisinopril 10 mg PO once daily.")], **obstetric)
    assert kinds(bad) == ["pregnancy"]


def test_a_ct_of_the_abdomen_in_pregnancy_is_a_pregnancy_problem(kb):
    plan = attending("Let's book a CT of the abdomen and pelvis for this afternoon.")
    pregnant = run(kb, [plan], condition="preeclampsia_severe", sex="female", age=31)
    assert kinds(pregnant) == ["pregnancy"]
    assert kinds(run(kb, [plan], sex="female", age=62)) == []


def test_methotrexate_for_an_ectopic_is_dosed_by_body_surface_and_not_a_pregnancy_problem(kb):
    # 50 mg/m2 x Mosteller BSA of 165 cm and 60 kg (1.66 m2) = 83 mg
    ectopic = {
        "condition": "ectopic_pregnancy",
        "sex": "female",
        "age": 29,
        "weight_kg": 60,
        "height_cm": 165,
    }
    labs = resident("ALT 20 IU/L, WBC 6.1.")
    assert kinds(run(kb, [labs, attending("Methotrexate 83 mg IM once.")], **ectopic)) == []
    wrong = run(kb, [labs, attending("Methotrexate 15 mg IM once.")], **ectopic)
    assert kinds(wrong) == ["dose"]


def test_a_drug_to_avoid_at_low_clearance_is_a_renal_problem(kb):
    line = attending("Nitrofurantoin 100 mg PO twice daily for 5 days.")
    assert kinds(run(kb, [line], crcl_ml_min=12)) == ["renal"]
    assert kinds(run(kb, [line], crcl_ml_min=70)) == []


def test_a_renal_tier_changes_the_interval(kb):
    # gentamicin 5 mg/kg: every 24 h at CrCl 70, every 48 h at CrCl 20-39
    line = attending("Gentamicin 400 mg IV every 24 hours.")
    assert kinds(run(kb, [line], crcl_ml_min=70)) == []
    assert kinds(run(kb, [line], crcl_ml_min=35)) == ["renal"]


@pytest.mark.parametrize(
    ("crcl", "right", "wrong", "kind"),
    [
        # the gabapentin label: 900-3600 mg/day in three doses from CrCl 60 (300 mg once on the
        # first titration day), 400-1400 in two at 30-59, 200-700 once daily at 15-29, 100-300 below 15
        (91, "300 mg PO once daily", "300 mg PO four times daily", "frequency"),
        (91, "600 mg PO three times daily", "3000 mg PO three times daily", "dose"),
        (45, "300 mg PO twice daily", "300 mg PO three times daily", "renal"),
        (20, "300 mg PO once daily", "300 mg PO twice daily", "renal"),
        (13, "300 mg PO once daily", "600 mg PO once daily", "renal"),
    ],
)
def test_gabapentin_is_held_to_its_label_range_and_schedule_for_the_clearance(kb, crcl, right, wrong, kind):
    assert kinds(run(kb, [attending(f"Gabapentin {right}.")], crcl_ml_min=crcl)) == []
    assert kinds(run(kb, [attending(f"Gabapentin {wrong}.")], crcl_ml_min=crcl)) == [kind]


def test_ceftriaxone_may_be_divided_twice_daily_but_not_given_more_often(kb):
    # the label: 1-2 g once a day or in equally divided doses twice a day
    assert kinds(run(kb, [attending("Ceftriaxone 1 g IV every 12 hours.")])) == []
    assert kinds(run(kb, [attending("Ceftriaxone 1 g IV every 8 hours.")])) == ["frequency"]


def test_ondansetron_in_decompensated_liver_disease_is_held_to_8_mg_a_day(kb):
    line = attending("Ondansetron 4 mg IV every 8 hours as needed.")
    assert kinds(run(kb, [line])) == []
    assert kinds(run(kb, [line], states=["hepatic_failure"])) == ["frequency"]
    assert (
        kinds(
            run(kb, [attending("Ondansetron 4 mg IV every 12 hours as needed.")], states=["hepatic_failure"])
        )
        == []
    )


def test_ondansetron_and_statins_need_no_precheck_of_their_own(kb):
    # only the QTc noted at the top of `run` stands between these and a precheck finding
    bare = [resident("Nothing back yet.")]
    case = ward_case(
        "c2",
        [
            *bare,
            attending("Ondansetron 4 mg IV every 8 hours as needed."),
            attending("Atorvastatin 80 mg PO once daily."),
        ],
        [Slot(index=i) for i in range(3)],
        patient={**BASE, "condition": "nstemi"},
    )
    assert kinds(check_case(kb, case)) == []
    azithromycin = ward_case(
        "c3",
        [*bare, attending("Azithromycin 500 mg IV once daily.")],
        [Slot(index=i) for i in range(2)],
        patient=BASE,
    )
    assert kinds(check_case(kb, azithromycin)) == ["precheck"]


def test_the_dose_is_the_one_for_the_patients_indication(kb):
    # heparin in a STEMI is 60 units/kg to 4,000 units, not the 80 units/kg of a DVT
    stemi = {"condition": "stemi", "weight_kg": 90}
    assert kinds(run(kb, [attending("Heparin 4000 units IV once as a bolus.")], **stemi)) == []
    assert kinds(run(kb, [attending("Heparin 7200 units IV once as a bolus.")], **stemi)) == ["dose"]


def test_a_wrong_unit_and_a_wrong_interval_are_found(kb):
    assert kinds(run(kb, [attending("Prednisone 40 mcg PO once daily for 5 days.")])) == ["unit"]
    assert kinds(run(kb, [attending("Ceftriaxone 1 g IV every hour.")])) == ["frequency"]


@pytest.mark.parametrize(
    ("right", "wrong"),
    [
        # levothyroxine is dosed in mcg (1.6 mcg/kg under 60: 125 mcg at 80 kg), naloxone in mg (0.4 mg)
        ("Levothyroxine 125 mcg PO once daily.", "Levothyroxine 125 mg PO once daily."),
        ("Levothyroxine 0.125 mg PO once daily.", "Levothyroxine 0.125 mcg PO once daily."),
        ("Naloxone 400 mcg IV every 2-3 minutes.", "Naloxone 400 mg IV every 2-3 minutes."),
        ("Naloxone 0.4 mg IV every 2-3 minutes.", "Naloxone 0.4 mcg IV every 2-3 minutes."),
    ],
)
def test_a_dose_in_the_other_mass_unit_is_converted_and_a_thousandfold_slip_is_a_unit_error(kb, right, wrong):
    assert kinds(run(kb, [attending(right)], age=45)) == []
    assert kinds(run(kb, [attending(wrong)], age=45)) == ["unit"]


def test_a_critical_value_must_be_acted_on_by_the_next_line(kb):
    critical = nurse("Lab called: potassium is 6.9 mmol/L.")
    ignored = run(kb, [critical, attending("Okay, let's talk about discharge.")])
    assert kinds(ignored) == ["critical"]
    assert ignored.findings[0].slot == 3
    assert kinds(run(kb, [critical, attending("Repeat it and treat the potassium now.")])) == []
    assert kinds(run(kb, [nurse("Lab called: potassium is 5.4 mmol/L."), attending("Okay.")])) == []
    glucose = [nurse("Lab called: glucose is 414 mg/dL."), attending("Okay, let's talk about discharge.")]
    assert kinds(run(kb, glucose)) == ["critical"]


def test_a_hematocrit_is_explained_when_its_hemoglobin_is(kb):
    low = lab_table(("Hemoglobin", "6.4", "g/dL", "13.5-17.5"), ("Hematocrit", "19", "%", "40-50"))
    lines = [nurse("CBC is back.", low), attending("Okay, let's talk about discharge.")]
    assert kinds(run(kb, lines)) == ["critical"]
    assert kinds(run(kb, lines, condition="upper_gi_bleed")) == []


def test_an_impossible_value_is_a_slip(kb):
    assert kinds(run(kb, [nurse("I'm charting the sodium as 1390 mmol/L.")])) == ["implausible"]


def test_a_qtc_check_needs_potassium_magnesium_and_the_qtc(kb):
    order = attending("Start azithromycin 500 mg IV once daily.")
    held = ward_case("c3", [nurse("K is 4.2 mmol/L."), order], [Slot(index=0), Slot(index=1)], patient=BASE)
    (finding,) = check_case(kb, held).findings
    assert finding.kind == "precheck" and "Magnesium" in finding.detail and "QTc" in finding.detail
    assert kinds(run(kb, [order])) == []


def test_a_pregnancy_test_is_due_only_when_pregnancy_is_possible_and_unknown(kb):
    order = attending("Start warfarin 5 mg PO once daily.")
    young = run(kb, [order], sex="female", age=30)
    assert kinds(young) == ["precheck"] and "pregnancy" in young.findings[0].detail.lower()
    assert kinds(run(kb, [order], sex="female", age=62)) == []


def test_a_dose_without_a_unit_and_error_prone_abbreviations_are_ambiguous(kb):
    no_unit = run(kb, [attending("Go ahead with sodium zirconium cyclosilicate 10 PO three times daily.")])
    assert kinds(no_unit) == ["ambiguous"]
    assert kinds(run(kb, [attending("MS 4 mg IV now.")])) == ["abbreviation"]
    assert kinds(run(kb, [attending("Insulin glargine 10 U SC once daily.")])) == ["abbreviation"]
    assert kinds(run(kb, [nurse("U waves on the ECG.")])) == []


def test_a_clip_has_one_reading_only_when_exactly_one_of_its_drugs_was_named(kb):
    order = attending("Go ahead with the next dose of levo.")
    levofloxacin = nurse("He had levofloxacin 750 mg PO at six.")
    levothyroxine = nurse("He had levothyroxine 50 mcg PO at eight.")
    hydrocortisone = nurse("He had hydrocortisone 100 mg IV at eight.")
    both = run(kb, [levofloxacin, levothyroxine, order])
    assert kinds(both) == ["abbreviation"]
    (finding,) = both.findings
    assert finding.subject == "levo" and "levofloxacin or levothyroxine" in finding.detail
    assert kinds(run(kb, [levofloxacin, hydrocortisone, order])) == []
    assert kinds(run(kb, [order])) == ["abbreviation"]  # no drug of it named: any of three
    assert kinds(run(kb, [nurse("Levophed is running."), levothyroxine, order])) == ["abbreviation"]
    assert kinds(run(kb, [levofloxacin, hydrocortisone, attending("Next dose of hydro, please.")])) == []
    assert kinds(run(kb, [levothyroxine, attending("Next dose of hydrocortisone 100 mg IV.")])) == []
    assert kinds(run(kb, [nurse("Hydralazine 10 mg IV went in."), hydrocortisone, order])) == ["abbreviation"]


def test_a_dose_without_a_unit_has_one_reading_only_after_the_same_dose_was_said_in_full(kb):
    given = nurse("He had ceftriaxone 1 g IV at six.")
    assert kinds(run(kb, [given, attending("Go ahead with ceftriaxone 1 IV every 24 hours.")])) == []
    other = run(kb, [given, attending("Go ahead with acetaminophen 650 PO every 6 hours.")])
    assert kinds(other) == ["ambiguous"]
    changed = run(kb, [given, attending("Go ahead with ceftriaxone 2 IV every 24 hours.")])
    assert kinds(changed) == ["ambiguous"]


def test_a_value_charted_with_its_digits_swapped_right_after_the_lab_is_a_transposition(kb):
    reported = resident("The lab portal shows creatinine 2.1 mg/dL.")
    swapped = run(kb, [reported, nurse("I'm charting the creatinine as 1.2 mg/dL.")])
    assert kinds(swapped) == ["transposed"]
    assert kinds(run(kb, [reported, nurse("I'm charting the creatinine as 2.1 mg/dL.")])) == []
    assert kinds(run(kb, [reported, nurse("I'm charting the creatinine as 1.3 mg/dL.")])) == []


def test_yesterdays_value_charted_right_after_a_line_gave_both_is_stale(kb):
    reported = resident(
        "The lab portal shows potassium 4.2 mmol/L this morning; yesterday it was 3.6 mmol/L."
    )
    stale = run(kb, [reported, nurse("I'm charting today's potassium as 3.6 mmol/L.")])
    assert kinds(stale) == ["stale"]
    assert kinds(run(kb, [reported, nurse("I'm charting today's potassium as 4.2 mmol/L.")])) == []
    later = [reported, attending("Fine."), nurse("I'm charting today's potassium as 3.6 mmol/L.")]
    assert kinds(run(kb, later)) == []  # only the line right after the report counts


def test_a_procedure_needs_its_checks_and_respects_contrast_allergy(kb):
    allergic = run(
        kb,
        [attending("Let's book a CT with contrast this afternoon.")],
        allergies=[{"class": "iodinated_contrast", "reaction": "hives"}],
    )
    assert kinds(allergic) == ["allergy"]
    assert kinds(run(kb, [attending("Let's book a lumbar puncture this afternoon.")])) == [
        "precheck"
    ]  # CT head
    assert kinds(run(kb, [resident("I'm requesting a lumbar puncture now.")])) == ["precheck"]
    assert kinds(run(kb, [resident("A lumbar puncture might come up later.")])) == []  # talked about
