"""Reactive tasks ask about what the conversation has already shown."""

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
