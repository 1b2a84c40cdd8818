"""HFBackend on tiny random models: the one-pass fast path against the per-slot reference, the
proactivity dial, chunking, and a BehaviorSFT-style adapter with a resized vocabulary."""

from __future__ import annotations

import asyncio

import pytest
import torch
from model_helpers import make_case

from behaviorbench.conversation import case_messages
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models.base import GenerationParams
from behaviorbench.models.hf import HFBackend
from behaviorbench.taxonomy import BEHAVIOR_TOKENS, Behavior

PARAMS = GenerationParams(max_tokens=6)
SLOTS = list(range(6))


def assert_same_decisions(fast, reference):
    assert [d.slot for d in fast] == [d.slot for d in reference]
    for a, b in zip(fast, reference, strict=True):
        assert a.behavior == b.behavior
        assert a.prompt_hash == b.prompt_hash
        assert max(abs(a.probabilities[k] - b.probabilities[k]) for k in Behavior) < 1e-4
        assert a.raw_output == b.raw_output and a.response == b.response


@pytest.mark.parametrize("style", ["token", "tagged"])
def test_fast_path_matches_slot_by_slot(tiny_backend, style):
    for variant in range(2):
        case = make_case(variant)
        fast = tiny_backend.decide_case(case, style, SLOTS, PARAMS, proactive_bias=1.0)
        assert_same_decisions(fast, tiny_backend.decide_slot_by_slot(case, style, SLOTS, PARAMS, 1.0))
        assert any(d.behavior is not Behavior.silent for d in fast)  # batched generation was compared


def test_slot_starts_are_exactly_the_per_slot_prompts(tiny_backend):
    case = make_case(0)
    for style in ("token", "tagged"):
        ids, starts, prompts = tiny_backend._slot_starts(case, style, SLOTS)
        assert len(set(starts)) == len(SLOTS)
        for slot, start, prompt in zip(SLOTS, starts, prompts, strict=True):
            assert prompt == tiny_backend.prompt_text(case_messages(case, style, upto=slot))
            assert ids[:start] == tiny_backend.encode(prompt)


def test_subset_and_order_of_slots_do_not_change_decisions(tiny_backend):
    case = make_case(1)
    everything = {d.slot: d for d in tiny_backend.decide_case(case, "tagged", SLOTS, PARAMS)}
    some = tiny_backend.decide_case(case, "tagged", [4, 1], PARAMS)
    assert [d.slot for d in some] == [4, 1]
    for decision in some:
        assert decision.raw_output == everything[decision.slot].raw_output
        assert decision.probabilities == pytest.approx(everything[decision.slot].probabilities, abs=1e-5)


def test_chunked_forward_matches_one_pass(tiny_model_dir):
    chunked = HFBackend(str(tiny_model_dir), device="cpu", chunk_tokens=17)
    whole = HFBackend(str(tiny_model_dir), device="cpu")
    case = make_case(2)
    assert_same_decisions(
        chunked.decide_case(case, "tagged", SLOTS, PARAMS), whole.decide_case(case, "tagged", SLOTS, PARAMS)
    )


def test_case_longer_than_the_model_is_refused(tiny_model_dir):
    short = HFBackend(str(tiny_model_dir), device="cpu")
    short.max_positions = 64
    with pytest.raises(BehaviorBenchError, match="hand-0: .* tokens up to slot .* exceed the model's 64"):
        short.decide_case(make_case(0), "tagged", SLOTS, PARAMS, generate=False)


def test_proactive_bias_moves_decisions_toward_proactive_monotonically(tiny_backend):
    case = make_case(0)
    biases = [-30.0, -3.0, -0.3, 0.0, 0.3, 3.0, 30.0]
    runs = [tiny_backend.decide_case(case, "tagged", SLOTS, PARAMS, b, generate=False) for b in biases]
    for slot in SLOTS:
        shares = [run[slot].probabilities[Behavior.proactive] for run in runs]
        assert shares == sorted(shares) and shares[0] < 0.01 < 0.99 < shares[-1]
    proactive_counts = [sum(d.behavior is Behavior.proactive for d in run) for run in runs]
    assert proactive_counts == sorted(proactive_counts)
    assert proactive_counts[0] == 0 and proactive_counts[-1] == len(SLOTS)


def test_complete_is_deterministic_and_matches_generate_reply(tiny_backend):
    messages = case_messages(make_case(0), "tagged", upto=2)
    params = GenerationParams(max_tokens=5)
    first = asyncio.run(tiny_backend.complete(messages, params))
    assert first == asyncio.run(tiny_backend.complete(messages, params))
    reply = tiny_backend.generate_reply(messages, params)
    assert reply.text == first and reply.completion_tokens <= 5 and reply.prompt_tokens > 50


@pytest.fixture(scope="module")
def behavior_adapter(tiny_model_dir, tmp_path_factory):
    """A BehaviorSFT-shaped adapter: three special tokens, resized embeddings, LoRA + trained token rows."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.add_special_tokens({"additional_special_tokens": list(BEHAVIOR_TOKENS.values())})
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model.resize_token_embeddings(len(tokenizer))
    new_ids = tokenizer.convert_tokens_to_ids(list(BEHAVIOR_TOKENS.values()))
    config = LoraConfig(
        r=4,
        target_modules=["q_proj", "v_proj"],
        trainable_token_indices={"embed_tokens": new_ids},
        ensure_weight_tying=True,
    )
    peft_model = get_peft_model(model, config)
    torch.manual_seed(1)
    with torch.no_grad():  # stand-in for training: every trainable weight moves
        for parameter in peft_model.parameters():
            if parameter.requires_grad:
                parameter.add_(torch.randn_like(parameter))
    directory = tmp_path_factory.mktemp("adapter")
    peft_model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    peft_model.eval()
    return directory, peft_model, tokenizer


def test_adapter_with_resized_vocabulary_loads_with_identical_logits(behavior_adapter, tiny_model_dir):
    directory, peft_model, tokenizer = behavior_adapter
    ids = torch.tensor([tokenizer("Nurse: BP 90/60 <|proactive|> check <|silent|><|reactive|>")["input_ids"]])
    with torch.no_grad():
        expected = peft_model(input_ids=ids).logits
        loaded = HFBackend(str(directory), device="cpu")
        via_flag = HFBackend(str(tiny_model_dir), adapter=str(directory), device="cpu")
        base = HFBackend(str(tiny_model_dir), device="cpu")
        for backend in (loaded, via_flag):
            assert (backend.model(input_ids=ids).logits - expected).abs().max() < 1e-4
        assert (base.model(input_ids=ids.clamp(max=383)).logits - expected[..., :384]).abs().max() > 1e-2
    marks = loaded.marks("token")
    assert marks.prefix == [] and sorted(marks.decision.values()) == tokenizer.convert_tokens_to_ids(
        list(BEHAVIOR_TOKENS.values())
    )


def test_adapter_fast_path_and_dial_in_free_generation(behavior_adapter):
    directory, _, _ = behavior_adapter
    backend = HFBackend(str(directory), device="cpu")
    case = make_case(1)
    fast = backend.decide_case(case, "token", SLOTS, PARAMS, proactive_bias=-0.5)
    assert_same_decisions(fast, backend.decide_slot_by_slot(case, "token", SLOTS, PARAMS, -0.5))
    messages = case_messages(case, "token", upto=3)
    params = GenerationParams(max_tokens=3)
    backend.proactive_bias = 50.0
    assert asyncio.run(backend.complete(messages, params)).startswith(BEHAVIOR_TOKENS[Behavior.proactive])
    backend.proactive_bias = -50.0
    assert not asyncio.run(backend.complete(messages, params)).startswith(BEHAVIOR_TOKENS[Behavior.proactive])


def test_images_are_refused_by_a_text_only_model(tiny_backend):
    messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}]
    with pytest.raises(BehaviorBenchError, match="text-only"):
        tiny_backend.generate_reply(messages, PARAMS)
