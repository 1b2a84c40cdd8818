"""Every bench script runs at a toy size and ends with one line of key=value figures.

The figures themselves are measured by running the scripts at full size; this keeps the scripts
from rotting as the code under them changes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from behaviorbench.dataset.build import build_dataset
from behaviorbench.models.tiny import make_tiny_model
from behaviorbench.training.config import TrainConfig
from behaviorbench.training.trainer import train

ROOT = Path(__file__).resolve().parents[1]
FIGURE = re.compile(r"[a-z0-9_]+=\S+")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("bench") / "tiny")


@pytest.fixture(scope="module")
def toy_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smallest build of seed 0 with test, test_unseen and dev splits."""
    out = tmp_path_factory.mktemp("bench") / "data"
    build_dataset(out, cases=240, seed=0, workers=1, scenes=2)
    return out


def tiny_agents(data: Path, tiny: Path, root: Path) -> dict[str, str]:
    """A BehaviorSFT and an SFT adapter on the tiny model, two steps each."""
    agents = {}
    for method in ("behavior-sft", "sft"):
        train(TrainConfig(base=str(tiny), method=method, data=str(data), steps=2), root / method)
        agents[method] = f"hf:{root / method}"
    return agents


@pytest.mark.parametrize(
    ("script", "arguments", "keys"),
    [
        (
            "build_speed.py",
            ["--cases", "40", "--baseline-cases", "20"],
            {"cases_per_s", "speedup", "target_met"},
        ),
        ("generation_speed.py", ["--cases", "20"], {"ms_per_case", "target_met"}),
        (
            "shortcut_audit.py",
            ["--cases", "40"],
            {"overall_k1", "overall_k2", "overall_k4", "worst_subtype", "worst_subtype_acc", "target_met"},
        ),
        ("template_coverage.py", ["--cases", "10", "--top", "30"], {"top_share", "target_met"}),
        ("eval_speed.py", ["--cases", "2", "--scenes", "2", "--max-tokens", "4"], {"speedup", "roofline"}),
        (
            "train_speed.py",
            ["--model", "tiny", "--cases", "2", "--steps", "2", "--bf16"],
            {"speedup", "whole_slots_per_s", "bf16_ratio"},
        ),
        (
            "learning_curve.py",
            ["--model", "tiny", "--cases", "40", "--eval-split", "test", "--checkpoints", "0,2"],
            {"behavior_sft_auc", "sft_recall", "behavior_sft_macro_f1", "sft_tokens_per_s", "paired_f1"},
        ),
        ("review_load.py", ["--raters", "3", "--answers", "2"], {"sent", "stored", "lost", "duplicates"}),
        (
            "proactive_probe.py",
            ["--train-cases", "40", "--eval-split", "test", "--eval-cases", "20", "--layers", "0,2"],
            {"probe_auc_layer0", "probe_auc_layer2", "own_auc", "words_auc"},
        ),
        (
            "reference_agents.py",
            ["--limit", "2", "--bootstrap", "20", "--max-tokens", "4"],
            {"test_behavior_sft_auc", "test_sft_macro_f1", "test_unseen_diff", "hard_diff_low"},
        ),
    ],
)
def test_bench_script_ends_with_key_value_figures(
    script: str, arguments: list[str], keys: set[str], tiny: Path, toy_build: Path, tmp_path: Path
):
    if script == "eval_speed.py":
        arguments = [*arguments, "--model", str(tiny)]
    if script == "proactive_probe.py":
        arguments = [*arguments, "--data", str(toy_build), "--model", str(tiny)]
    if script == "reference_agents.py":  # tiny stand-ins for the shipped SmolLM2 agents
        agents = tiny_agents(toy_build, tiny, tmp_path)
        arguments = [
            *arguments,
            "--data",
            str(toy_build),
            "--base",
            f"hf:{tiny}",
            "--out",
            str(tmp_path / "runs"),
        ]
        arguments += ["--behavior-sft", agents["behavior-sft"], "--sft", agents["sft"]]
    environment = os.environ | {"HF_HUB_OFFLINE": "1", "BEHAVIORBENCH_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    figures = last.split()
    assert all(FIGURE.fullmatch(figure) for figure in figures), last
    found = dict(figure.split("=", 1) for figure in figures)
    assert keys <= set(found), last
    if script == "learning_curve.py":
        assert (tmp_path / "learning-curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if script == "review_load.py":
        assert found["sent"] == found["stored"] == "6" and found["lost"] == found["duplicates"] == "0"
