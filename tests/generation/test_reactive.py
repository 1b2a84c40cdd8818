"""Reactive tasks ask about what the conversation has already shown."""

from behaviorbench.generation.banks import load_phrase_bank
from behaviorbench.generation.case import build_case
from behaviorbench.generation.given import Given
from behaviorbench.knowledge import load_knowledge_base
from behaviorbench.taxonomy import Category


def test_a_timeline_first_dose_is_of_a_drug_already_given(sample_cases):
    doses = 0
    for case in sample_cases:
        for slot in case.designated:
            if slot.category is not Category.temporal_ordering:
                continue
            setup = slot.evidence[0]
            for label in slot.target.answers:
                if label.startswith("first dose of "):
                    drug = label.removeprefix("first dose of ").lower()
                    doses += 1
                    earlier = [u.text.lower() for u in case.utterances[:setup]]
                    assert any(drug in text for text in earlier), (case.case_id, drug)
    assert doses > 5


def test_a_timeline_ends_with_the_first_dose_and_has_only_the_settings_events(sample_cases):
    """The drug was given in this conversation, so after every other event; a patient still in
    the emergency department or in intensive care has had no transfer to the ward."""
    bank = load_phrase_bank()
    skipped = {s["name"]: set(s.get("no_events", [])) for s in bank.get("settings.settings")}
    timelines = ended = 0
    for case in sample_cases:
        for slot in case.designated:
            if slot.category is not Category.temporal_ordering:
                continue
            timelines += 1
            labels = slot.target.answers
            assert not skipped[case.setting] & set(labels), (case.case_id, case.setting, labels)
            doses = [i for i, label in enumerate(labels) if label.startswith("first dose of ")]
            assert doses in ([], [len(labels) - 1]), (case.case_id, labels)
            ended += bool(doses)
    assert timelines > 20 and ended > 5
    assert any(skipped[name] for name in skipped)


def _treatment_golds(given_facts: dict, pairs: int = 12, split: str = "train") -> list[str]:
    """The first management answer of each of a few cases built around one given patient."""
    kb, bank = load_knowledge_base(), load_phrase_bank()
    golds = []
    for pair in range(pairs):
        given = Given((f"g{pair}-0", f"g{pair}-1"), f"given:{pair}", split, **given_facts)
        case = build_case(kb, bank, 0, 0, given=given)
        asked = [s for s in case.designated if s.category is Category.treatment_recommendation]
        golds += [asked[0].gold_response.lower()] if asked else []
    return golds


def test_postpartum_hemorrhage_management_names_oxytocin_first():
    """The first-line uterotonic leads the answer (WHO 2012), not only massage and tranexamic acid."""
    facts = {"condition": "postpartum_hemorrhage", "female": True, "age": 31}
    golds = _treatment_golds(facts, split="test_unseen")  # a held-out condition
    assert golds and all(g.startswith("oxytocin") for g in golds), golds


def test_management_never_names_an_nsaid_for_a_patient_who_cannot_take_one():
    """Pericarditis on warfarin: colchicine with a low-dose steroid (ESC 2015), not an NSAID."""
    golds = _treatment_golds({"condition": "pericarditis", "home_meds": ("warfarin",)})
    assert golds
    assert not any("nsaid" in g or "ibuprofen" in g for g in golds), golds
    assert any("prednisone" in g for g in golds), golds
    usual = _treatment_golds({"condition": "pericarditis", "home_meds": ("levothyroxine", "pantoprazole")})
    assert any(g.startswith("high-dose nsaid") for g in usual), usual  # a plan's need may rule it out


def test_a_therapeutic_inr_on_warfarin_is_said_to_be_on_target(sample_cases):
    """Out of the reference range yet where it should be: the answer must not read as a concern."""
    on_target = 0
    for case in sample_cases:
        for slot in case.designated:
            if slot.category is not Category.lab_interpretation or not slot.gold_response.startswith("Out"):
                continue
            for part in slot.gold_response.removeprefix("Out of range: ").rstrip(".").split("; "):
                if not part.startswith("International normalized ratio"):
                    continue
                value = float(part.split()[3])
                therapeutic = "warfarin" in case.patient["home_meds"] and 2.0 <= value <= 3.0
                assert ("target on warfarin" in part) == therapeutic, (case.case_id, part)
                on_target += therapeutic
    assert on_target > 0
