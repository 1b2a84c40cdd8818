"""Training on the tiny model: what changes, what is saved, and that the behavior is learned."""

from __future__ import annotations

import json

import pytest
import torch
from peft import PeftModel
from safetensors import safe_open
from transformers import AutoModelForCausalLM, AutoTokenizer

from behaviorbench.models.base import GenerationParams
from behaviorbench.models.hf import HFBackend
from behaviorbench.taxonomy import BEHAVIOR_TOKENS, Behavior
from behaviorbench.training.config import TrainConfig
from behaviorbench.training.run_card import read_run_card
from behaviorbench.training.sequences import encode_case
from behaviorbench.training.trainer import (
    build_training_set,
    fit,
    load_model,
    save_weights,
    train,
    training_arguments,
)


def config_for(tiny_model, dataset, **changes) -> TrainConfig:
    values = {"base": str(tiny_model), "data": str(dataset), "steps": 4, "batch_size": 3, "lr": 1e-2}
    return TrainConfig(**(values | changes))


@pytest.fixture(scope="module")
def lora_run(tiny_model, dataset, cases, tmp_path_factory):
    """A few LoRA steps, with the parameters before and after."""
    config = config_for(tiny_model, dataset)
    model, tokenizer = load_model(config)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    vocabulary = torch.arange(len(tokenizer))
    rows_before = model.get_input_embeddings()(vocabulary).detach().clone()
    training_set = build_training_set(cases, tokenizer, config.style, config.max_length)
    out = tmp_path_factory.mktemp("lora")
    fit(model, tokenizer, training_set, training_arguments(config, out / "checkpoints"), "test", config)
    rows_after = model.get_input_embeddings()(vocabulary).detach()
    return config, model, tokenizer, before, rows_before, rows_after, out


def test_lora_trains_adapters_and_behavior_rows_only(lora_run):
    config, model, tokenizer, before, rows_before, rows_after, _ = lora_run
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    changed = {name for name, p in model.named_parameters() if not torch.equal(p.detach(), before[name])}
    assert changed == trainable
    assert any("lora_A" in name for name in changed) and any("lora_B" in name for name in changed)
    assert any("trainable_tokens_delta" in name for name in changed)
    assert not any("embed_tokens.weight" in n or "mlp.up_proj.base_layer" in n for n in changed)

    new_ids = [tokenizer.convert_tokens_to_ids(t) for t in BEHAVIOR_TOKENS.values()]
    moved = (rows_after != rows_before).any(dim=1).nonzero().flatten().tolist()
    assert moved == new_ids
    # Tied embeddings: the output rows moved with the input rows.
    output = model.get_output_embeddings()(torch.eye(rows_after.shape[1]).unsqueeze(0))[0].T
    assert torch.allclose(output[new_ids], rows_after[new_ids])


def test_saved_adapter_reloads_to_identical_logits(lora_run, tiny_model, cases):
    config, model, tokenizer, *_, out = lora_run
    save_weights(model, tokenizer, config, out)
    adapter_config = json.loads((out / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == str(tiny_model)
    with safe_open(out / "adapter_model.safetensors", "pt") as weights:
        names = weights.keys()
    assert not any(name.endswith("embed_tokens.weight") for name in names)  # the token rows only

    ids = torch.tensor([encode_case(tokenizer, cases[1], "token").input_ids])
    model.eval()
    with torch.no_grad():
        expected = model(ids).logits
        base = AutoModelForCausalLM.from_pretrained(tiny_model)
        base.resize_token_embeddings(len(AutoTokenizer.from_pretrained(out)), mean_resizing=False)
        reloaded = PeftModel.from_pretrained(base, out).eval()
        assert torch.equal(reloaded(ids).logits, expected)
        merged = HFBackend(str(out), device="cpu").model
        assert torch.allclose(merged(ids).logits, expected, atol=1e-5)


def test_lora_refuses_frozen_behavior_rows(tiny_model, dataset):
    from behaviorbench.errors import BehaviorBenchError

    with pytest.raises(BehaviorBenchError, match="frozen") as error:
        load_model(config_for(tiny_model, dataset, train_token_rows=False))
    assert "\n" not in str(error.value)
    model, _ = load_model(config_for(tiny_model, dataset, method="sft", train_token_rows=False))
    assert not any("trainable_tokens" in name for name, _ in model.named_parameters())


@pytest.fixture(scope="module")
def learned(tiny_model, dataset, tmp_path_factory):
    """Full fine-tune until the six training cases are learned."""
    out = tmp_path_factory.mktemp("learned") / "run"
    config = config_for(tiny_model, dataset, lora=False, steps=150, batch_size=6, lr=1e-2, checkpoint_steps=0)
    return train(config, out), out


def test_trained_model_emits_the_gold_behavior_token(learned, cases):
    card, out = learned
    backend = HFBackend(str(out), device="cpu")
    right = designated_right = 0
    for case in cases:
        slots = [slot.index for slot in case.slots]
        decisions = backend.decide_case(case, "token", slots, GenerationParams(), generate=False)
        for slot, decision in zip(case.slots, decisions, strict=True):
            right += decision.behavior is slot.gold_behavior
            designated_right += slot.designated and decision.behavior is slot.gold_behavior
    assert right >= 16 and designated_right >= 5, (right, designated_right)
    assert card.losses[-1].loss < card.losses[0].loss / 5


def test_run_card_and_artifacts(learned, dataset):
    card, out = learned
    assert read_run_card(out) == card
    assert card.method == "behavior-sft" and card.style == "token" and not card.adapter
    assert card.world_size == 1 and card.steps == 150 and len(card.losses) == 150
    assert card.cases == 6 and card.supervised_slots == 18 and card.cases_skipped == 0
    assert card.slots_seen == 150 * 6 * 3
    assert card.supervised_tokens_seen < card.tokens_seen
    assert set(card.behavior_token_ids) == set(BEHAVIOR_TOKENS.values())
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "model.safetensors").is_file()
    assert len(AutoTokenizer.from_pretrained(out).get_vocab()) == max(card.behavior_token_ids.values()) + 1
    assert not (out / "checkpoints").exists()


def test_sft_baseline_keeps_the_vocabulary(tiny_model, dataset, tmp_path):
    card = train(config_for(tiny_model, dataset, method="sft", steps=2), tmp_path / "sft")
    assert card.style == "plain" and card.behavior_token_ids is None and card.adapter
    assert len(AutoTokenizer.from_pretrained(tmp_path / "sft")) == len(
        AutoTokenizer.from_pretrained(tiny_model)
    )
    assert card.supervised_slots == 18
    assert BEHAVIOR_TOKENS[Behavior.silent] not in AutoTokenizer.from_pretrained(tmp_path / "sft").get_vocab()
