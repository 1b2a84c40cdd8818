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

from behaviorbench.models.tiny import make_tiny_model

ROOT = Path(__file__).resolve().parents[1]
FIGURE = re.compile(r"[a-z0-9_]+=\S+")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("bench") / "tiny")


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
    ],
)
def test_bench_script_ends_with_key_value_figures(
    script: str, arguments: list[str], keys: set[str], tiny: Path, tmp_path: Path
):
    if script == "eval_speed.py":
        arguments = [*arguments, "--model", str(tiny)]
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
