"""The fast path on the real default model: SmolLM2-135M-Instruct on short generated cases."""

from __future__ import annotations

import pytest

from behaviorbench.generation import generate_case
from behaviorbench.models.base import GenerationParams
from behaviorbench.taxonomy import Behavior

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2():
    from behaviorbench.models.hf import HFBackend

    return HFBackend("smollm2-135m", device="cpu")


def test_tags_are_decided_at_the_token_after_the_bracket(smollm2):
    marks = smollm2.marks("tagged")
    tokens = smollm2.tokenizer.convert_ids_to_tokens
    assert tokens(marks.prefix) == ["["]
    assert {b: tokens([i])[0] for b, i in marks.decision.items()} == {
        Behavior.reactive: "RE",
        Behavior.proactive: "PRO",
        Behavior.silent: "S",
    }


@pytest.mark.parametrize("style", ["tagged", "token"])
def test_fast_path_matches_slot_by_slot(smollm2, style):
    params = GenerationParams(max_tokens=4)
    spoke = 0
    for index in range(1):  # one short case: the tiny-model tests cover many more
        case = generate_case(0, index, scenes=2)
        slots = [slot.index for slot in case.slots]
        fast = smollm2.decide_case(case, style, slots, params)
        reference = smollm2.decide_slot_by_slot(case, style, slots, params)
        for a, b in zip(fast, reference, strict=True):
            assert (a.slot, a.behavior, a.prompt_hash) == (b.slot, b.behavior, b.prompt_hash)
            assert max(abs(a.probabilities[k] - b.probabilities[k]) for k in Behavior) < 1e-4
            assert a.raw_output == b.raw_output
            spoke += a.behavior is not Behavior.silent
        assert len({round(d.probabilities[Behavior.silent], 3) for d in fast}) > 1  # positions differ
    if style == "tagged":  # untrained SmolLM2 never picks the unknown token marks, but it does speak in tags
        assert spoke > 0  # so responses generated from the reused cache were compared too
