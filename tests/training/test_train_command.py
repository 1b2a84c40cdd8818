"""`behaviorbench train` from the command line: refusals are one line with exit code 2; torchrun DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from behaviorbench.cli import main
from behaviorbench.dataset.writer import write_dataset
from behaviorbench.schema import Case
from behaviorbench.training.run_card import read_run_card


def run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["behaviorbench", *args])
    with pytest.raises(SystemExit) as exit:
        main()
    captured = capsys.readouterr()
    return exit.value.code, captured.out, captured.err


def refused(monkeypatch, capsys, *args: str) -> str:
    code, _, err = run(monkeypatch, capsys, *args)
    assert code == 2
    last = err.rstrip("\n").split("\n")[-1]
    assert last.startswith("error: ") and err.count("error:") == 1, err
    return last


def test_refuses_a_base_model_not_found_offline(monkeypatch, capsys, dataset, tmp_path):
    err = refused(
        monkeypatch,
        capsys,
        "train",
        "--base",
        str(tmp_path / "nope"),
        "--data",
        str(dataset),
        "--out",
        str(tmp_path / "o"),
    )
    assert "not found offline" in err


def test_refuses_lora_that_leaves_token_rows_frozen(monkeypatch, capsys, tiny_model, dataset, tmp_path):
    config = tmp_path / "frozen.yaml"
    config.write_text(f"base: {tiny_model}\nmethod: behavior-sft\ntrain_token_rows: false\n")
    err = refused(
        monkeypatch,
        capsys,
        "train",
        "--config",
        str(config),
        "--data",
        str(dataset),
        "--out",
        str(tmp_path / "o"),
    )
    assert "frozen" in err and "train_token_rows" in err


def test_refuses_data_without_assistant_turns(monkeypatch, capsys, tiny_model, tmp_path):
    empty = Case(
        case_id="e",
        split="train",
        seed=0,
        version="t",
        setting="ward",
        assistant_names=["Assistant"],
        patient={},
        utterances=[],
        slots=[],
    )
    write_dataset(tmp_path / "empty", [empty], generator_version="test")
    err = refused(
        monkeypatch,
        capsys,
        "train",
        "--base",
        str(tiny_model),
        "--data",
        str(tmp_path / "empty"),
        "--out",
        str(tmp_path / "o"),
    )
    assert "no assistant turns" in err


def test_refuses_bad_config_field(monkeypatch, capsys, tiny_model, dataset, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("steps: many\n")
    err = refused(
        monkeypatch,
        capsys,
        "train",
        "--config",
        str(config),
        "--base",
        str(tiny_model),
        "--data",
        str(dataset),
        "--out",
        str(tmp_path / "o"),
    )
    assert "bad.yaml: steps:" in err


def test_same_run_is_skipped_and_a_different_one_refused(monkeypatch, capsys, tiny_model, dataset, tmp_path):
    out = tmp_path / "run"
    args = [
        "train",
        "--base",
        str(tiny_model),
        "--data",
        str(dataset),
        "--out",
        str(out),
        "--steps",
        "2",
        "--batch-size",
        "2",
    ]
    code, printed, _ = run(monkeypatch, capsys, *args)
    assert code == 0 and "2 steps" in printed
    card = read_run_card(out)
    stamp = (out / "run_card.json").stat().st_mtime_ns

    code, printed, _ = run(monkeypatch, capsys, *args)
    assert code == 0 and "already holds this run" in printed
    assert (out / "run_card.json").stat().st_mtime_ns == stamp and read_run_card(out) == card

    err = refused(monkeypatch, capsys, *args[:-4], "--steps", "3", "--batch-size", "2")
    assert "different run" in err and "steps: 2 -> 3" in err
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    err = refused(monkeypatch, capsys, *args[:5], "--out", str(tmp_path / "other"))
    assert "holds no training run" in err


@pytest.mark.slow
def test_two_process_torchrun_records_world_size_two(tiny_model, dataset, tmp_path):
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    launcher = [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "behaviorbench.cli"]
    train = ["train", "--base", str(tiny_model), "--data", str(dataset), "--out", str(out)]
    command = [*launcher, *train, "--steps", "3", "--batch-size", "1"]
    env = os.environ | {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    card = json.loads((out / "run_card.json").read_text())
    assert card["world_size"] == 2 and card["steps"] == 3
    assert card["slots_seen"] == 3 * 2 * 3  # 3 steps x 2 processes x 1 case of 3 slots
    assert (out / "adapter_model.safetensors").is_file()
