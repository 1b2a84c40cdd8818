"""Reference agents: a finished run is packaged with float16 weights and a portable base name, then
loads by its short name everywhere a model is named; the shipped references load and decide."""

from __future__ import annotations

import json

import pytest
import torch
from model_helpers import make_case
from safetensors.torch import load_file

from behaviorbench.agent import Agent
from behaviorbench.dataset.writer import write_dataset
from behaviorbench.models import reference
from behaviorbench.models.base import GenerationParams
from behaviorbench.models.hf import HFBackend
from behaviorbench.models.smollm2 import resolve_model_path
from behaviorbench.taxonomy import Behavior
from behaviorbench.training.config import TrainConfig
from behaviorbench.training.trainer import train


@pytest.fixture(scope="module")
def runs(tiny_model_dir, tmp_path_factory):
    """A BehaviorSFT and an SFT LoRA run of a few steps on the tiny model."""
    root = tmp_path_factory.mktemp("reference")
    write_dataset(root / "data", [make_case(0), make_case(1)], generator_version="test")
    for method in ("behavior-sft", "sft"):
        config = TrainConfig(
            base=str(tiny_model_dir), method=method, data=str(root / "data"), split="test", steps=3, lr=1e-2
        )
        train(config, root / method)
    return root


def test_packaged_adapter_is_half_size_portable_and_decides_as_trained(runs, tmp_path):
    packaged = reference.package_reference(runs / "behavior-sft", "tiny-bsft", root=tmp_path)
    weights = load_file(packaged / reference.ADAPTER_WEIGHTS)
    assert weights and all(w.dtype == torch.float16 for w in weights.values())
    run_card = json.loads((runs / "behavior-sft" / "run_card.json").read_text())
    config = json.loads((packaged / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == run_card["base_model"]
    assert (packaged / "tokenizer.json").is_file() and (packaged / "run_card.json").is_file()
    assert not list(tmp_path.glob(".*staging"))
    original, shipped = (
        HFBackend(str(runs / "behavior-sft"), device="cpu"),
        HFBackend(str(packaged), device="cpu"),
    )
    assert shipped.agent_style == "token"
    params = GenerationParams(max_tokens=4)
    for a, b in zip(
        original.decide_case(make_case(0), "token", [2, 3, 4], params),
        shipped.decide_case(make_case(0), "token", [2, 3, 4], params),
        strict=True,
    ):
        assert a.behavior == b.behavior
        for behavior in Behavior:
            assert a.probabilities[behavior] == pytest.approx(b.probabilities[behavior], abs=1e-2)


def test_sft_reference_keeps_no_tokenizer_and_loads_the_bases(runs, tmp_path):
    packaged = reference.package_reference(runs / "sft", "tiny-sft", root=tmp_path)
    assert not (packaged / "tokenizer.json").exists()
    assert HFBackend(str(packaged), device="cpu").agent_style == "tagged"


def test_short_name_resolves_for_agent_and_model_specs(runs, tmp_path, monkeypatch):
    reference.package_reference(runs / "behavior-sft", "tiny-bsft", root=tmp_path)
    monkeypatch.setattr(reference, "REFERENCE_ROOT", tmp_path)
    assert reference.reference_names() == ["tiny-bsft"]
    assert resolve_model_path("tiny-bsft") == tmp_path / "tiny-bsft"
    agent = Agent.load("hf:tiny-bsft", max_tokens=4)
    turn = agent.decide(
        [{"speaker": "Dr. Lee", "role": "attending", "text": "Assistant, what is the potassium?"}]
    )
    assert sum(turn.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    assert reference.reference_path("missing") is None and reference.reference_path("../tiny-bsft") is None


@pytest.mark.parametrize("name", reference.reference_names())
def test_shipped_reference_loads_by_short_name_and_decides(name):
    """The committed adapters (SmolLM2-135M base, converted from the packaged GGUF) load and decide."""
    agent = Agent.load(name, max_tokens=8)
    card = json.loads((reference.REFERENCE_ROOT / name / "run_card.json").read_text())
    assert agent.style == ("token" if card["style"] == "token" else "tagged")
    turn = agent.decide(
        [{"speaker": "Dr. Lee", "role": "attending", "text": "Assistant, what is the potassium?"}]
    )
    assert turn.behavior in Behavior and sum(turn.probabilities.values()) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("name", reference.reference_names())
def test_shipped_reference_cards_peft_snippet_loads_the_adapter(name):
    """The model card's PEFT code (base by alias, so not AutoPeft) runs as written."""
    card = (reference.REFERENCE_ROOT / name / "README.md").read_text()
    snippet = card.split("With PEFT, on", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(snippet, scope)
    ids = scope["tokenizer"]("<|im_start|>user\nhello<|im_end|>\n", return_tensors="pt").input_ids
    with torch.inference_mode():
        logits = scope["model"](ids).logits
    assert (
        logits.shape[-1] == len(scope["tokenizer"])
        and type(scope["model"]).__name__ == "PeftModelForCausalLM"
    )
