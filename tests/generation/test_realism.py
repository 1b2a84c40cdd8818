"""Cases read like real team conversations: no line said twice, lab tables that differ, settings
that suit the patient, a reason for every unrelated drug, openings that compose grammatically."""

import random
import re
from collections import Counter

from behaviorbench.evaluation.content import check_content
from behaviorbench.generation.banks import load_phrase_bank
from behaviorbench.generation.case import complaint
from behaviorbench.generation.context import PRONOUNS, acuity_of
from behaviorbench.knowledge import load_knowledge_base
from behaviorbench.schema import TableAttachment
from behaviorbench.taxonomy import Category

ORDER_CATEGORIES = {
    Category.dose_calculation,
    Category.error_correction,
    Category.ambiguity_clarification,
    Category.safety_alert,
    Category.omission_detection,
}


def test_no_line_is_said_twice_in_a_case(sample_cases):
    """test_unseen keeps one reserved phrasing per list, so its task lines may repeat; its chatter
    and openers are checked by the next test."""
    for case in sample_cases:
        if case.split != "test_unseen":
            repeated = [t for t, n in Counter(u.text for u in case.utterances).items() if n > 1]
            assert not repeated, (case.case_id, repeated)


def test_no_chatter_or_opener_is_said_twice_in_any_case(sample_cases):
    bank = load_phrase_bank()
    lines = [v["text"] for v in bank.get("chatter.staff")]
    lines += [v["text"] for group in bank.get("chatter.roles").values() for v in group]
    lines += [v["text"] for group in bank.get("chatter.settings").values() for v in group]
    lines += [v["text"] for s in bank.get("settings.settings") for v in s["openers"]]
    field = re.compile(r"\\\{[a-z_]+\\\}")
    markers = "|".join(re.escape(m) for group in bank.get("story.markers").values() for m in group)
    pattern = re.compile(
        f"(?:(?:{markers}) )?(?:"
        + "|".join(f"(?P<l{i}>{field.sub('.+?', re.escape(t))})" for i, t in enumerate(lines))
        + ")",
        re.IGNORECASE,
    )
    with_chatter = 0
    for case in sample_cases:
        said = Counter(m.lastgroup for u in case.utterances if (m := pattern.fullmatch(u.text)))
        assert all(n == 1 for n in said.values()), (case.case_id, said.most_common(2))
        with_chatter += bool(said)
    assert with_chatter >= 0.8 * len(sample_cases)


def test_chatter_banks_are_large_and_contextual():
    chatter = load_phrase_bank().get("chatter")
    assert len(chatter["staff"]) >= 25
    for role in ("nurse", "pharmacist", "resident", "patient", "family"):
        assert len(chatter["roles"][role]) >= 10, role
    settings = {s["id"] for s in load_phrase_bank().get("settings.settings")}
    assert set(chatter["settings"]) == settings
    ids = [
        v["id"]
        for group in (chatter["staff"], *chatter["roles"].values(), *chatter["settings"].values())
        for v in group
    ]
    assert len(ids) == len(set(ids))


def test_lab_tables_in_a_case_are_distinct_and_later_ones_are_follow_ups(sample_cases):
    followups = 0
    for case in sample_cases:
        tables = [
            (i, a)
            for i, u in enumerate(case.utterances)
            for a in u.attachments
            if isinstance(a, TableAttachment)
        ]
        rows = [tuple(map(tuple, table.rows)) for _, table in tables]
        assert len(rows) == len(set(rows)), case.case_id
        for i, _ in tables[1:]:
            assert re.search(r"repeat|follow-up|afternoon", case.utterances[i].text, re.IGNORECASE), (
                case.case_id
            )
            followups += 1
    assert followups > 20


def test_settings_suit_the_condition(sample_cases):
    bank = load_phrase_bank()
    kb = load_knowledge_base()
    by_name = {s["name"]: s for s in bank.get("settings.settings")}
    for condition in kb.conditions.values():
        acuity = acuity_of(bank, condition)
        fitting = [
            s for s in by_name.values() if condition.id in s.get("conditions", []) or acuity in s["fits"]
        ]
        assert fitting, condition.id
    for case in sample_cases:
        setting = by_name[case.setting]
        condition = kb.conditions[case.patient["condition"]]
        if "conditions" in setting:
            assert condition.id in setting["conditions"], case.case_id
        else:
            assert acuity_of(bank, condition) in setting["fits"], (case.case_id, case.setting, condition.id)
        if acuity_of(bank, condition) == "critical":
            assert case.setting not in ("outpatient clinic", "discharge planning meeting")


def test_every_unrelated_drug_in_an_order_or_dose_question_carries_a_reason(sample_cases):
    kb = load_knowledge_base()
    bank = load_phrase_bank()
    reasons = _reasons(bank)
    fallback = bank.get("indications.fallback")
    names = sorted(kb.drugs.values(), key=lambda d: len(d.name), reverse=True)
    checked = with_reason = 0
    for case in sample_cases:
        p = case.patient
        relevant = set(kb.conditions[p["condition"]].first_line_drugs) | set(p["home_meds"])
        for chronic in p["chronic_conditions"]:
            relevant |= set(kb.conditions[chronic].first_line_drugs)
        pronouns = PRONOUNS[p["sex"] == "female"]
        for slot in case.designated:
            if slot.category not in ORDER_CATEGORIES or slot.subtype == "critical":  # no order there
                continue
            text = case.utterances[slot.index].text
            if "home med" in text:
                continue
            drug = next((d for d in names if re.search(rf"(?<!\w){re.escape(d.name)}(?!\w)", text)), None)
            if drug is None or drug.id in relevant:
                continue
            reason = reasons.get(drug.id, fallback).format(**pronouns)
            assert reason in text or fallback in text, (case.case_id, text)
            checked += 1
            with_reason += reason in text
    assert checked > 50 and with_reason > checked / 2


def _reasons(bank) -> dict[str, str]:
    """Every drug's reason clause, of either kind."""
    standing = {d: entry["reason"] for d, entry in bank.get("indications.standing_reasons").items()}
    return {**bank.get("indications.reasons"), **standing}


def test_a_reason_that_names_a_long_standing_condition_follows_a_history_that_named_it(sample_cases):
    """ "Azathioprine for his Crohn's disease" only after an opening that said Crohn's disease: a
    reason adds no diagnosis the story never gave."""
    standing = load_phrase_bank().get("indications.standing_reasons")
    said = 0
    for case in sample_cases:
        opening = case.utterances[0].text
        later = " ".join(u.text for u in case.utterances[1:])
        pronouns = PRONOUNS[case.patient["sex"] == "female"]
        for drug_id, entry in standing.items():
            if f" {entry['reason'].format(**pronouns)}" in later:
                assert entry["history"] in opening, (case.case_id, drug_id, opening)
                said += 1
    assert said > 10


def test_reasons_are_of_one_kind_and_histories_follow_every_lead():
    bank = load_phrase_bank()
    kb = load_knowledge_base()
    stay, standing = bank.get("indications.reasons"), bank.get("indications.standing_reasons")
    assert not set(stay) & set(standing)
    assert set(stay) | set(standing) <= set(kb.drugs)
    for drug_id, text in stay.items():  # a finding of this stay, never "for {their} thyroid"
        assert not re.match(r"(for|to cover) \{their\} \w+$", text), (drug_id, text)
    for drug_id, entry in standing.items():  # "with known ..." reads with no article
        assert not re.match(r"(a|an|the) ", entry["history"]), (drug_id, entry["history"])


def test_a_reason_claims_only_what_the_drug_treats_at_its_dose():
    """IV metronidazole is anaerobic cover, not a treatment of C. diff; clarithromycin alone does
    not clear H. pylori."""
    bank = load_phrase_bank()
    kb = load_knowledge_base()
    for drug_id, text in _reasons(bank).items():
        if "C. diff" in text:
            assert "difficile" in kb.drugs[drug_id].dose.label, (drug_id, text)
        if "H. pylori" in text:
            assert "triple therapy" in text, (drug_id, text)


def test_the_opening_names_the_home_medications_the_history_does_not_explain(sample_cases):
    """ "Home losartan" later in a case is a drug the opening already said."""
    kb = load_knowledge_base()
    named = 0
    for case in sample_cases:
        opening = case.utterances[0].text
        p = case.patient
        explained = {d for c in p["chronic_conditions"] for d in kb.conditions[c].first_line_drugs}
        for drug_id in p["home_meds"]:
            if drug_id not in explained:
                assert kb.drugs[drug_id].name in opening, (case.case_id, drug_id, opening)
                named += 1
    assert named > 100


def test_every_gold_response_passes_its_own_content_check(sample_cases):
    for case in sample_cases:
        for slot in case.designated:
            if slot.target is not None and slot.gold_response:
                passed, _ = check_content(slot.target, slot.gold_response)
                assert passed, (case.case_id, slot.category, slot.gold_response, slot.target)


def test_silent_controls_have_no_target(sample_cases):
    for case in sample_cases:
        for slot in case.slots:
            if slot.control_of and not slot.gold_response:
                assert slot.target is None


def test_openings_compose_grammatically_for_every_condition():
    bank = load_phrase_bank()
    words = bank.get("presentations")
    odd = {p: e for p, e in words["phrases"].items() if e["kind"] != "symptom"}
    kb = load_knowledge_base()
    for condition in kb.conditions.values():
        for seed in range(30):
            rng = random.Random(seed)
            female = seed % 2 == 0
            text = complaint(rng, words, tuple(condition.presentation), female)
            assert text and "  " not in text and not text.endswith(","), text
            for phrase in odd:
                assert not re.search(rf"(presenting|now|here|came in) with {re.escape(phrase)}", text), text
            if not female:
                assert not any(
                    e.get("sex") == "female" and e["text"] in text for e in words["phrases"].values()
                )
            if condition.chronic:
                assert re.match(r"(seen|here|in) for ", text), (condition.id, text)
    known = {p for c in kb.conditions.values() for p in c.presentation}
    assert set(words["phrases"]) <= known, set(words["phrases"]) - known


def test_opening_line_reads_as_one_sentence(sample_cases):
    for case in sample_cases:
        opening = case.utterances[0].text
        assert opening.endswith(".") and ", ," not in opening and "with with" not in opening
        assert re.search(r"\d+-year-old (woman|man) with ", opening), opening


def test_demographics_fit_the_condition(sample_cases):
    kb = load_knowledge_base()
    for case in sample_cases:
        p = case.patient
        condition = kb.conditions[p["condition"]]
        if condition.system == "obstetric":
            assert p["sex"] == "female" and 19 <= p["age"] <= 42
        if condition.id == "giant_cell_arteritis":
            assert p["age"] >= 55


def test_patients_and_family_never_address_the_assistant(sample_cases):
    names = load_phrase_bank().get("cast.assistant_names")
    for case in sample_cases:
        for u in case.utterances:
            if u.role in ("patient", "family"):
                assert not any(u.text.startswith(f"{n},") for n in names), u.text


def test_units_are_not_repeated_after_values(sample_cases):
    for case in sample_cases:
        for u in case.utterances:
            assert not re.search(r"\d (pH|ratio)\b", u.text), u.text


def test_speakers_play_one_role_each(sample_cases):
    for case in sample_cases:
        roles: dict[str, set[str]] = {}
        for u in case.utterances:
            roles.setdefault(u.speaker, set()).add(u.role)
        assert all(len(r) == 1 for r in roles.values()), (case.case_id, roles)


def test_patients_and_family_name_allergies_as_they_know_them(sample_cases):
    """'I'm allergic to Cipro', not 'to fluoroquinolones': the class is the chart's word."""
    bank = load_phrase_bank()
    lay = {name for names in bank.get("problems.allergy_lay_names").values() for name in names}
    classes = {nouns[0] for nouns in bank.get("problems.allergy_names").values()} - lay
    lay_lines = 0
    for case in sample_cases:
        for utterance in case.utterances:
            if utterance.role not in ("patient", "family"):
                continue
            for name in classes:
                named = re.search(rf"\b{re.escape(name)}\b", utterance.text)
                assert not named, (case.case_id, utterance.text)
            lay_lines += any(re.search(rf"\b{re.escape(name)}\b", utterance.text) for name in lay)
    assert lay_lines >= 10


def test_only_a_woman_who_could_be_pregnant_has_a_pregnancy_test(sample_cases):
    for case in sample_cases:
        p = case.patient
        if p["sex"] == "female" and p["age"] < 55:
            continue
        for u in case.utterances:
            assert "hCG" not in u.text and "pregnancy test" not in u.text.lower(), (case.case_id, u.text)
