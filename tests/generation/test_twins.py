"""Twin cases (2k, 2k+1) are minimal pairs: they differ only where a proactive problem flips."""

import re

from behaviorbench.evaluation.content import check_content
from behaviorbench.generation.banks import load_phrase_bank
from behaviorbench.taxonomy import GROUP_OF, Behavior, Group


def _proactive(slot):
    return slot.category is not None and GROUP_OF[slot.category] is Group.proactive


def test_every_flag_is_answered_by_the_team_and_the_next_slot_is_ambient(sample_cases):
    for case in sample_cases:
        for slot in case.slots:
            if _proactive(slot) and slot.gold_behavior is Behavior.proactive:
                reaction = case.utterances[slot.index + 1]
                assert reaction.role not in ("patient", "family"), (case.case_id, slot.index)
                assert case.slots[slot.index + 1].category is None


def test_every_positive_has_its_control_in_the_twin(sample_twins):
    for a, b in sample_twins:
        assert a.split == b.split
        for first, second in ((a, b), (b, a)):
            controls = {s.control_of: s for s in second.slots if s.control_of}
            for slot in first.slots:
                if _proactive(slot) and slot.gold_behavior is Behavior.proactive:
                    control = controls[slot.task_id]
                    assert control.index == slot.index and control.category == slot.category
                    assert control.gold_behavior in (Behavior.reactive, Behavior.silent)
                    if control.gold_behavior is Behavior.silent:
                        assert control.target is None
                    else:
                        assert check_content(control.target, control.gold_response)[0], control


def test_twins_differ_only_in_flipped_evidence(sample_twins):
    for a, b in sample_twins:
        assert len(a.utterances) == len(b.utterances)
        flipped = set()
        for sa, sb in zip(a.slots, b.slots, strict=True):
            assert sa.category == sb.category
            if _proactive(sa):
                assert (sa.gold_behavior is Behavior.proactive) != (sb.gold_behavior is Behavior.proactive)
                assert sa.evidence == sb.evidence
                flipped |= set(sa.evidence)
            else:
                assert sa.model_dump(exclude={"task_id"}) == sb.model_dump(exclude={"task_id"})
        differing = {i for i, (ua, ub) in enumerate(zip(a.utterances, b.utterances, strict=True)) if ua != ub}
        assert differing, f"{a.case_id}: twins are identical"
        assert differing <= flipped, (
            f"{a.case_id}: utterances {sorted(differing - flipped)} differ outside evidence"
        )


def test_control_gold_follows_whether_the_assistant_was_asked(sample_cases):
    names = load_phrase_bank().get("cast.assistant_names")
    kinds = set()
    for case in sample_cases:
        for slot in case.slots:
            if slot.control_of:
                text = case.utterances[slot.index].text
                asked = any(re.search(rf"\b{name}\b", text) for name in names)
                assert (slot.gold_behavior is Behavior.reactive) == asked, slot
                assert bool(slot.gold_response) == asked
                kinds.add(slot.gold_behavior)
    assert kinds == {Behavior.reactive, Behavior.silent}
