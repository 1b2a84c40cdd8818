"""Portable trained folders: a LoRA run on the tiny model loads with PEFT alone, carries a filled
model card, survives a move to where its base folder is missing, and exports as a standalone
transformers model with the behavior tokens."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from model_helpers import make_case
from typer.testing import CliRunner

from behaviorbench.cli import app
from behaviorbench.conversation import case_messages
from behaviorbench.dataset.writer import write_dataset
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.config import EvalConfig
from behaviorbench.evaluation.results import read_results
from behaviorbench.evaluation.runner import run_eval
from behaviorbench.models.base import GenerationParams
from behaviorbench.models.hf import HFBackend
from behaviorbench.taxonomy import BEHAVIOR_TOKENS
from behaviorbench.training.config import TrainConfig
from behaviorbench.training.model_card import write_model_card
from behaviorbench.training.run_card import read_run_card
from behaviorbench.training.trainer import train


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory) -> tuple[Path, Path]:
    """(dataset folder, LoRA BehaviorSFT folder) after a few steps on two cases."""
    root = tmp_path_factory.mktemp("portable")
    write_dataset(root / "data", [make_case(0), make_case(1)], generator_version="test")
    config = TrainConfig(base=str(tiny_model_dir), data=str(root / "data"), split="test", steps=3, lr=1e-2)
    train(config, root / "lora")
    return root / "data", root / "lora"


def case_ids(backend: HFBackend) -> torch.Tensor:
    text = backend.prompt_text(case_messages(make_case(1), "token"), add_generation_prompt=False)
    return torch.tensor([backend.encode(text)])


def test_trained_adapter_loads_with_peft_alone(trained, tiny_model_dir):
    from peft import AutoPeftModelForCausalLM

    _, lora = trained
    recorded = json.loads((lora / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert recorded == str(Path(tiny_model_dir).resolve())
    backend = HFBackend(str(lora), device="cpu")
    ids = case_ids(backend)
    model = AutoPeftModelForCausalLM.from_pretrained(lora).eval()
    with torch.no_grad():
        assert (model(input_ids=ids).logits - backend.model(input_ids=ids).logits).abs().max() < 1e-4


def test_a_moved_adapter_falls_back_on_the_base_its_run_was_given(trained, tmp_path):
    _, lora = trained
    moved = Path(shutil.copytree(lora, tmp_path / "moved"))
    config = json.loads((moved / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = str(tmp_path / "elsewhere" / "base")
    (moved / "adapter_config.json").write_text(json.dumps(config))
    ids = case_ids(HFBackend(str(lora), device="cpu"))
    with torch.no_grad():
        expected = HFBackend(str(lora), device="cpu").model(input_ids=ids).logits
        assert (HFBackend(str(moved), device="cpu").model(input_ids=ids).logits - expected).abs().max() < 1e-5
    (moved / "run_card.json").unlink()
    with pytest.raises(BehaviorBenchError, match="not found offline; give it as --model BASE --adapter"):
        HFBackend(str(moved), device="cpu")


def test_model_card_is_filled_and_takes_the_evaluation_figures(trained, tmp_path):
    data, lora = trained
    card = read_run_card(lora)
    text = (lora / "README.md").read_text()
    assert text.startswith("---\n") and "library_name: peft" in text
    assert card.data_fingerprint in text and card.base_model in text
    assert f"LoRA r={card.config.lora_r}" in text and f"{card.steps} × batch" in text
    assert "No evaluation of this folder is recorded yet" in text
    results = read_results(
        run_eval(
            EvalConfig(model=str(lora), data=data, protocol="token", max_tokens=4, bootstrap=20),
            tmp_path / "run",
        ).parent
    )
    text = write_model_card(lora, card, [results]).read_text()
    assert "No evaluation" not in text
    row = next(line for line in text.splitlines() if line.startswith("| test | token |"))
    assert f"{100 * results.metrics.macro_f1:.1f}" in row and results.run.dataset_fingerprint in row
    write_model_card(lora, card)  # leave the folder as training left it for the other tests


def test_export_merge_writes_a_standalone_transformers_model(trained, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, lora = trained
    out = tmp_path / "merged"
    result = CliRunner().invoke(app, ["export-model", "--merge", f"hf:{lora}", str(out)])
    assert result.exit_code == 0, result.output
    assert not (out / "adapter_config.json").exists() and (out / "config.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(out)
    for token in BEHAVIOR_TOKENS.values():
        assert len(tokenizer(token, add_special_tokens=False)["input_ids"]) == 1
    adapter = HFBackend(str(lora), device="cpu")
    ids = case_ids(adapter)
    model = AutoModelForCausalLM.from_pretrained(out).eval()
    with torch.no_grad():
        assert (model(input_ids=ids).logits - adapter.model(input_ids=ids).logits).abs().max() < 1e-4
    merged = HFBackend(str(out), device="cpu")
    assert merged.agent_style == "token"
    params = GenerationParams(max_tokens=4)
    for a, b in zip(
        merged.decide_case(make_case(0), "token", [2, 3], params),
        adapter.decide_case(make_case(0), "token", [2, 3], params),
        strict=True,
    ):
        assert a.behavior == b.behavior and a.raw_output == b.raw_output
    card = (out / "README.md").read_text()
    assert "library_name: transformers" in card and "merged into its weights" in card
    again = CliRunner().invoke(app, ["export-model", "--merge", str(lora), str(out)])
    assert isinstance(again.exception, BehaviorBenchError) and "not empty" in str(again.exception)
    unmerged = CliRunner().invoke(app, ["export-model", str(lora), str(tmp_path / "other")])
    assert isinstance(unmerged.exception, BehaviorBenchError) and "--merge" in str(unmerged.exception)
