"""Proactive tasks write only problems the conversation has not already answered."""

import re
from dataclasses import replace

from behaviorbench.checking.reading import interval_hours, orders
from behaviorbench.generation.banks import load_phrase_bank
from behaviorbench.generation.doses import Body, dose_for, indication_of
from behaviorbench.generation.patient import WEIGHT_RANGE
from behaviorbench.generation.proactive import BODY_FOLD, CRCL_MARGIN, LB_PER_KG
from behaviorbench.knowledge import load_knowledge_base
from behaviorbench.taxonomy import Behavior, Category

KIDNEY = re.compile(r"\b(CrCl|creatinine|eGFR|clearance)\b", re.IGNORECASE)


def _omissions(cases):
    for case in cases:
        for slot in case.slots:
            problem = slot.gold_behavior is Behavior.proactive and slot.control_of is None
            if slot.category is Category.omission_detection and problem:
                yield case, slot


def test_no_renal_check_is_missing_once_kidney_function_was_said(sample_cases):
    renal = 0
    for case, slot in _omissions(sample_cases):
        if not any(KIDNEY.search(answer) for answer in slot.target.answers):
            continue
        renal += 1
        before = [u.text for u in case.utterances[: slot.index + 1]]
        assert not any(KIDNEY.search(text) for text in before), case.case_id
    assert renal > 0


def test_each_check_report_is_heard_as_often_before_a_problem_as_before_a_control(sample_cases):
    """The report both twins hear (the needed check in the control, another in the problem) must
    not tell them apart: a check reported mostly in controls would mark the problem by its absence."""
    heard: dict[str, list[bool]] = {"QTc": [], "INR": [], "creatinine": []}
    for case in sample_cases:
        for slot in case.designated:
            if slot.category is Category.omission_detection:
                report = case.utterances[slot.evidence[0]].text
                for word, problems in heard.items():
                    if word in report:
                        problems.append(slot.gold_behavior is Behavior.proactive)
    for word, problems in heard.items():
        assert len(problems) >= 40, word
        assert 0.35 <= sum(problems) / len(problems) <= 0.65, (word, sum(problems), len(problems))


def test_a_time_critical_first_dose_is_drawn_for_not_held(sample_cases):
    antibiotics = 0
    for case, slot in _omissions(sample_cases):
        if not re.search(r"starting (vancomycin|gentamicin)", slot.gold_response):
            continue
        antibiotics += 1
        assert "give the first dose without waiting" in slot.gold_response, case.case_id
        assert "Both drugs" not in slot.gold_response
        reaction = case.utterances[slot.index + 1].text
        assert "first dose" in reaction and "wait for it" not in reaction, case.case_id
    assert antibiotics > 0


def test_no_drug_that_lowers_the_pressure_is_ordered_in_low_pressure_or_shock(sample_cases):
    kb = load_knowledge_base()
    lowering = {d.name for d in kb.drugs.values() if d.lowers_blood_pressure}
    checked = 0
    for case in sample_cases:
        p = case.patient
        low = p["vitals"].get("systolic_bp", 120) < 110 or kb.conditions[p["condition"]].shock
        for slot in case.designated:
            if slot.category is Category.dose_calculation or (
                slot.category
                in (Category.error_correction, Category.ambiguity_clarification, Category.omission_detection)
                and slot.subtype in ("dose", "frequency", "unit", "units", "precheck")
            ):
                said = case.utterances[slot.index].text.lower()
                checked += low
                assert not (low and any(re.search(rf"\b{n}\b", said) for n in lowering)), case.case_id
    assert checked > 50


def test_a_contraindicating_state_is_said_as_managed_and_fits_the_condition(sample_cases):
    kb = load_knowledge_base()
    for case in sample_cases:
        implied = kb.implied_states([case.patient["condition"], *case.patient["chronic_conditions"]])
        for utterance in case.utterances:
            assert "actively bleeding" not in utterance.text, case.case_id
            if "active_bleeding" in implied:
                assert "the scope is booked" not in utterance.text, case.case_id
            if "pregnancy" in implied:
                assert not re.search(r"\d+ weeks pregnant", utterance.text), case.case_id


def _pairs(sample_twins, kind: str):
    """(problem case, control case, problem slot, control slot) of one subtype's twin pairs."""
    for a, b in sample_twins:
        for sa, sb in zip(a.slots, b.slots, strict=True):
            if sa.category is not None and f"{sa.category.value}/{sa.subtype}" == kind:
                first = sa.gold_behavior is Behavior.proactive
                yield (a, b, sa, sb) if first else (b, a, sb, sa)


def test_a_unitless_order_is_clear_only_when_it_repeats_the_dose_just_given(sample_twins):
    """Both twins hear a drug given in full; the control's unitless order is that drug, the
    problem's another one."""
    kb = load_knowledge_base()
    names = sorted((d.name for d in kb.drugs.values()), key=len, reverse=True)
    pairs = 0
    for problem, control, sp, sc in _pairs(sample_twins, "ambiguity_clarification/units"):
        given = problem.utterances[sp.evidence[0]].text
        assert given == control.utterances[sc.evidence[0]].text
        said = next(n for n in names if n in given)
        assert said in control.utterances[sc.index].text, control.case_id
        assert said not in problem.utterances[sp.index].text, problem.case_id
        pairs += 1
    assert pairs > 10


def test_a_clip_has_two_readings_only_when_both_drugs_given_before_share_it(sample_twins):
    """Both twins hear two drugs given in full, then the same order naming one by its clip; the
    problem's two drugs share the clip, the control's only the ordered one does."""
    kb = load_knowledge_base()
    names = {d.name: d.id for d in kb.drugs.values()}
    pairs = 0
    for problem, control, sp, sc in _pairs(sample_twins, "ambiguity_clarification/abbreviation"):
        order = problem.utterances[sp.index].text
        assert order == control.utterances[sc.index].text
        (clip,) = [c for c in kb.clips.values() if re.search(rf"\b{c.id}\b", order)]
        for case, slot, sharing in ((problem, sp, 2), (control, sc, 1)):
            given = [case.utterances[i].text for i in slot.evidence[:-1]]
            drugs = [names[n] for text in given for n in names if re.search(rf"\b{n}\b", text)]
            assert len(drugs) == 2 and drugs[0] != drugs[1], (case.case_id, given)
            assert sum(d in clip.drugs for d in drugs) == sharing, (case.case_id, given)
            assert all(any(d in c.drugs for c in kb.clips.values()) for d in drugs)
        differ = [i for i in sp.evidence if problem.utterances[i].text != control.utterances[i].text]
        assert len(differ) == 1
        pairs += 1
    assert pairs > 10


def test_no_line_but_a_clip_order_says_a_clip(sample_cases):
    kb = load_knowledge_base()
    clips = re.compile(r"\b(" + "|".join(kb.clips) + r")\b", re.IGNORECASE)
    for case in sample_cases:
        orders = {s.index for s in case.slots if s.subtype == "abbreviation" and s.category is not None}
        for index, utterance in enumerate(case.utterances):
            assert index in orders or not clips.search(utterance.text), (case.case_id, utterance.text)


def test_restarting_home_meds_names_the_switched_drug_only_in_the_problem(sample_twins):
    kb = load_knowledge_base()
    pairs = 0
    for problem, control, sp, sc in _pairs(sample_twins, "ambiguity_clarification/home_meds"):
        change = problem.utterances[sp.index - 1].text
        assert change == control.utterances[sc.index - 1].text
        old, new = sorted((d.name for d in kb.drugs.values() if d.name in change), key=change.index)
        assert old in problem.utterances[sp.index].text and new not in problem.utterances[sp.index].text
        assert new in control.utterances[sc.index].text and old not in control.utterances[sc.index].text
        pairs += 1
    assert pairs > 5


def test_a_unit_error_keeps_the_digits_and_its_number_and_unit_are_right_in_some_control(sample_twins):
    """The twins' orders differ only in mg against mcg; "0.125 mg" and "125 mcg" both occur as
    right writings, both slips (mg for mcg, mcg for mg) as wrong ones, and most wrong number-unit
    pairs ("125 mg") are written rightly in some control ("0.125 mg", or a drug dosed 125 mg). The
    flag says which way the slip goes."""
    wrong, right = [], []
    for problem, control, sp, sc in _pairs(sample_twins, "error_correction/unit"):
        said, meant = problem.utterances[sp.index].text.split(), control.utterances[sc.index].text.split()
        (at,) = [i for i, (p, c) in enumerate(zip(said, meant, strict=True)) if p != c]
        assert {said[at], meant[at]} == {"mg", "mcg"}, problem.case_id
        too_much = "a thousand times" in sp.gold_response
        assert too_much == (said[at] == "mg") != ("a thousandth" in sp.gold_response)
        digits = said[at - 1].rpartition(".")[2]  # the number's last word, as a bag of words counts it
        wrong.append((digits, said[at], "." in said[at - 1]))
        right.append((digits, meant[at], "." in said[at - 1]))
    assert len(wrong) > 10
    assert {(unit, decimal) for _, unit, decimal in right} >= {("mcg", False), ("mg", True)}
    assert {unit for _, unit, _ in wrong} == {"mg", "mcg"}
    written = {(digits, unit) for digits, unit, _ in right}
    assert sum((digits, unit) in written for digits, unit, _ in wrong) > len(wrong) / 2


SLIPS = r"the usual|not physiologically plausible"
"""What a flag says of a number no patient has (a 10-fold dose, a decimal slip in a lab)."""


def test_an_error_is_a_slip_only_where_context_decides_none(sample_twins):
    """Dose, lab, unit and frequency errors come from the case's facts: a slip is a word any model
    learns, so it is the last resort (every drug without another patient's dose used to slip)."""
    errors = [
        sp
        for kind in ("dose", "lab", "unit", "frequency")
        for _, _, sp, _ in _pairs(sample_twins, f"error_correction/{kind}")
    ]
    slips = [sp for sp in errors if re.search(SLIPS, sp.gold_response)]
    assert len(errors) > 100
    assert len(slips) <= 0.05 * len(errors), [s.gold_response for s in slips]


def test_a_frequency_error_swaps_two_schedules_neither_label_allows(sample_twins):
    """Two drugs are ordered in one line with their frequencies swapped in the problem, so both
    twins say the same words; neither swapped interval is one the label allows for this patient
    (ceftriaxone 1 g every 12 hours, gabapentin once daily on its first day are right). Where the
    kidney function sets a drug's frequency, both twins hear the CrCl before the order and the
    flag names it."""
    kb = load_knowledge_base()
    pairs = renal = 0
    for problem, control, sp, sc in _pairs(sample_twins, "error_correction/frequency"):
        wrongs, rights = (orders(kb, c.utterances[s.index].text) for c, s in ((problem, sp), (control, sc)))
        assert [o.drug for o in wrongs] == [o.drug for o in rights] and len(wrongs) == 2, problem.case_id
        assert sorted(problem.utterances[sp.index].text.split()) == sorted(
            control.utterances[sc.index].text.split()
        )
        for wrong, right in zip(wrongs, rights, strict=True):
            rule, mine = _dosed(kb, problem, wrong.drug)
            allowed = {interval_hours(f) for f in mine.allowed}
            assert interval_hours(right.rest) in allowed, control.case_id
            assert interval_hours(wrong.rest) not in allowed, problem.case_id
            assert kb.drugs[wrong.drug].name in sp.gold_response
            if any(tier.frequency for tier in rule.renal):
                crcl = f"{problem.patient['crcl_ml_min']} mL/min"
                for case, slot in ((problem, sp), (control, sc)):
                    assert any(crcl in u.text for u in case.utterances[: slot.index]), case.case_id
                assert crcl in sp.gold_response
                renal += 1
        pairs += 1
    assert pairs >= 5 and renal > 0  # a frequency pair needs two new drugs that may go together


def test_no_amount_is_written_as_1000_mcg_or_more(sample_cases):
    """A clinician writes 26.5 mg of esmolol, not 26500 mcg."""
    for case in sample_cases:
        texts = [u.text for u in case.utterances] + [s.gold_response for s in case.slots]
        assert not any(re.search(r"\b\d{4,}(?:\.\d+)? mcg\b", t.replace(",", "")) for t in texts), (
            case.case_id
        )


def _dosed(kb, case, drug_id: str, **other):
    """The case's dose of a drug for its use, or the same patient's with `other` facts, as an
    order writes it (26.5 mg, not 26500 mcg)."""
    p = case.patient
    hepatic = "hepatic_failure" in p["states"]
    body = Body(p["weight_kg"], p["height_cm"], p["crcl_ml_min"], p["age"], p["creatinine_mg_dl"], hepatic)
    use = indication_of(kb, drug_id, [p["condition"], *p["chronic_conditions"]])
    dose = dose_for(kb.drugs[drug_id], use, replace(body, **other))
    return kb.drugs[drug_id].rule(use), None if dose is None else dose.as_written


def _dose_errors(kb, sample_twins, flagged: str):
    """Dose pairs whose flag matches `flagged`: the match, both twins and slots, and both orders."""
    for problem, control, sp, sc in _pairs(sample_twins, "error_correction/dose"):
        found = re.search(flagged, sp.gold_response)
        if found is not None:
            (wrong,), (right,) = (
                orders(kb, c.utterances[s.index].text) for c, s in ((problem, sp), (control, sc))
            )
            yield found, problem, control, sp, sc, wrong, right


def test_a_weight_based_dose_error_is_the_right_dose_for_another_weight(sample_twins):
    """The problem's amount is the drug's dose for this use at the weight the flag names, and lies
    BODY_FOLD or more outside this patient's range; the control's is this patient's dose."""
    kb = load_knowledge_base()
    pairs = 0
    for other, problem, _, sp, _, wrong, right in _dose_errors(
        kb, sample_twins, r"for a patient of (\d+) kg"
    ):
        rule, mine = _dosed(kb, problem, wrong.drug)
        _, theirs = _dosed(kb, problem, wrong.drug, weight_kg=float(other.group(1)))
        assert rule.per_kg and f"{problem.patient['weight_kg']} kg" in sp.gold_response
        assert (wrong.amount, right.amount) == (theirs.amount, mine.amount), problem.case_id
        high, low = mine.high or mine.amount, mine.low or mine.amount
        assert wrong.amount >= high * BODY_FOLD or wrong.amount <= low / BODY_FOLD, problem.case_id
        pairs += 1
    assert pairs > 2  # few: most patients have no other patient's dose far from their own


def test_a_renal_dose_error_is_the_right_dose_for_kidneys_clearly_across_a_limit(sample_twins):
    """The problem's amount is this patient's dose at a CrCl in the band the flag names, which
    this patient's CrCl (said before the order in both twins) is clearly outside of."""
    kb = load_knowledge_base()
    pairs = 0
    kidney = r"for a CrCl (?:(?:of|from) (\d+)|below (\d+))"
    for band, problem, control, sp, sc, wrong, right in _dose_errors(kb, sample_twins, kidney):
        inside = float(band.group(1)) + 1 if band.group(1) else float(band.group(2)) - 1
        rule, mine = _dosed(kb, problem, wrong.drug)
        _, theirs = _dosed(kb, problem, wrong.drug, crcl=inside)
        assert (wrong.amount, right.amount) == (theirs.amount, mine.amount), problem.case_id
        crcl = problem.patient["crcl_ml_min"]
        crossed = [t.crcl_below for t in rule.renal if min(crcl, inside) < t.crcl_below <= max(crcl, inside)]
        assert crossed and all(abs(crcl - t) >= CRCL_MARGIN * t for t in crossed), problem.case_id
        for case, slot in ((problem, sp), (control, sc)):
            before = [u.text for u in case.utterances[: slot.index]]
            assert any(f"{crcl} mL/min" in text for text in before), case.case_id
        pairs += 1
    assert pairs > 2


def test_a_critical_result_is_missed_when_the_team_acts_on_the_other_result(sample_twins):
    """Both twins hear the same two results, one critical; the control's next line names the
    critical one, the problem's the other one."""
    kb = load_knowledge_base()
    paired = 0
    for problem, control, sp, sc in _pairs(sample_twins, "safety_alert/critical"):
        report = problem.utterances[sp.evidence[0]].text
        if report != control.utterances[sc.evidence[0]].text:  # no two analytes: critical or normal
            continue
        assert sp.evidence == [sp.index - 1, sp.index], report  # the results just before "of those"
        said, name = (sp.target.answers[0].split("|") * 2)[:2]
        analyte = next(a for a in kb.analytes.values() if a.name == name)
        found = re.search(rf"\b{re.escape(said)} (\d+(?:\.\d+)?)", report, re.IGNORECASE)
        assert found, (said, report)
        value = float(found.group(1))
        assert value >= (analyte.critical_high or float("inf")) or value <= (analyte.critical_low or -1)
        named = re.compile(rf"\b{re.escape(said)}\b", re.IGNORECASE)
        assert named.search(control.utterances[sc.index].text)
        assert not named.search(problem.utterances[sp.index].text)
        paired += 1
    assert paired > 10


def test_a_transposed_lab_value_swaps_two_digits_of_the_value_just_reported(sample_twins):
    """The swap is another value on the same side of the range, and either of the two is the
    patient's (a coin), so neither number is a problem's."""
    kb = load_knowledge_base()
    swapped = larger = 0
    for problem, control, sp, sc in _pairs(sample_twins, "error_correction/lab"):
        if "swapped" not in sp.gold_response:  # a decimal slip
            continue
        reported = problem.utterances[sp.index - 1].text
        assert reported == control.utterances[sc.index - 1].text
        number = r"\d+(?:\.\d+)?"
        said = re.findall(number, reported)[0]
        charted_problem = re.findall(number, problem.utterances[sp.index].text)[0]
        charted_control = re.findall(number, control.utterances[sc.index].text)[0]
        assert charted_control == said and charted_problem != said
        larger += float(said) > float(charted_problem)
        assert sorted(charted_problem.replace(".", "")) == sorted(said.replace(".", ""))
        name = sp.target.answers[0].split("|")[-1]
        analyte = next(a for a in kb.analytes.values() if a.name == name)
        low, high = analyte.range_for(problem.patient["sex"] == "female")
        side = {float(v): (float(v) > high) - (float(v) < low) for v in (said, charted_problem)}
        assert len(set(side.values())) == 1, (reported, charted_problem)  # both low, normal or high
        swapped += 1
    assert swapped > 5
    assert 0.2 < larger / swapped < 0.8


def _numbers(text: str) -> list[float]:
    """The numbers a line says, units such as x10^9/L aside."""
    return [float(v) for v in re.findall(r"(?<![\w.^])\d+(?:\.\d+)?", text)]


def test_yesterdays_lab_value_is_said_in_both_twins_and_charted_in_the_problem(sample_twins):
    """Both twins hear today's and yesterday's value; the control charts today's, the problem
    yesterday's, and today's is the larger as often as not (a coin), by someone other than who
    reported it."""
    stale = larger = 0
    for problem, control, sp, sc in _pairs(sample_twins, "error_correction/lab"):
        if "yesterday" not in sp.gold_response:
            continue
        reported = problem.utterances[sp.index - 1]
        assert reported.text == control.utterances[sc.index - 1].text
        assert reported.speaker != problem.utterances[sp.index].speaker
        today, earlier = _numbers(reported.text)[:2]
        charted = [_numbers(c.utterances[s.index].text)[0] for c, s in ((problem, sp), (control, sc))]
        assert charted == [earlier, today], reported.text
        larger += today > earlier
        stale += 1
    assert stale > 5
    assert 0.2 < larger / stale < 0.8


def test_a_weight_in_the_wrong_unit_says_a_number_possible_in_both_units(sample_twins):
    """Both twins say the same number, a possible weight whether read in kilograms or in pounds;
    the control's unit fits the recorded weight, the problem's does not."""
    low, high = WEIGHT_RANGE
    pairs = 0
    for problem, control, sp, sc in _pairs(sample_twins, "error_correction/weight"):
        kg = problem.patient["weight_kg"]
        (said,) = {int(_numbers(c.utterances[s.index].text)[0]) for c, s in ((problem, sp), (control, sc))}
        assert low <= said <= high and low <= round(said / LB_PER_KG) <= high, (problem.case_id, said)
        units = [
            "kilograms" if "kilograms" in c.utterances[s.index].text else "pounds"
            for c, s in ((problem, sp), (control, sc))
        ]
        right = "kilograms" if said == kg else "pounds"
        assert said in (kg, round(kg * LB_PER_KG)) and units[1] == right != units[0], (
            problem.case_id,
            said,
            units,
        )
        pairs += 1
    assert pairs > 2


def test_interaction_pairs_are_built_and_never_order_a_drug_without_its_indication(sample_twins):
    """A drug given only for its own indication (warfarin, lithium, potassium chloride) is never an
    interaction pair's: the story could not order it, and the pair would become another task."""
    kb, bank = load_knowledge_base(), load_phrase_bank()
    own_only = {kb.drugs[d].name for d in bank.get("indications.own_indication_only")}
    pairs = 0
    for problem, _, sp, _ in _pairs(sample_twins, "safety_alert/interaction"):
        assert sp.target.answers[0] not in own_only, problem.case_id
        pairs += 1
    assert pairs >= 0.05 * len(sample_twins)
