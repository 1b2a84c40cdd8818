"""Training survives `kill -9`: a rerun resumes from the last complete checkpoint and ends where an
uninterrupted run ends. Real processes, real SIGKILLs, the tiny random model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from behaviorbench.training.checkpoints import COMPLETE
from behaviorbench.training.run_card import read_run_card
from behaviorbench.training.trainer import partial_dir

STEPS = 60
EVERY = 4


def command(tiny_model: Path, dataset: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "behaviorbench.cli",
        "train",
        "--base",
        str(tiny_model),
        "--data",
        str(dataset),
        "--out",
        str(out),
        "--steps",
        str(STEPS),
        "--batch-size",
        "2",
        "--lr",
        "0.01",
        "--checkpoint-steps",
        str(EVERY),
        *extra,
    ]


ENV = os.environ | {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def kill_after_checkpoint(arguments: list[str], out: Path) -> int:
    """Start a run, SIGKILL it as soon as a complete checkpoint exists; the step it reached."""
    checkpoints = partial_dir(out) / "checkpoints"
    process = subprocess.Popen(arguments, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if checkpoints.is_dir() and any((c / COMPLETE).is_file() for c in checkpoints.iterdir()):
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-2000:]
    # The folder lock may leave OUT itself behind, empty: nothing of the model may be in it yet.
    assert not out.exists() or not any(out.iterdir()), "the final folder must stay empty until training ends"
    return max(int(c.name.split("-")[1]) for c in checkpoints.iterdir() if (c / COMPLETE).is_file())


def adapter(out: Path) -> dict[str, torch.Tensor]:
    return load_file(out / "adapter_model.safetensors")


@pytest.fixture(scope="module")
def uninterrupted(tiny_model, dataset, tmp_path_factory) -> Path:
    """The same command run in one go, writing no checkpoint at all."""
    out = tmp_path_factory.mktemp("whole") / "run"
    arguments = [*command(tiny_model, dataset, out)[:-2], "--checkpoint-steps", "0"]
    result = subprocess.run(arguments, env=ENV, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def test_rerun_after_kill_resumes_and_ends_with_the_same_adapter(
    tiny_model, dataset, tmp_path, uninterrupted
):
    out = tmp_path / "run"
    reached = kill_after_checkpoint(command(tiny_model, dataset, out), out)
    assert 0 < reached < STEPS

    # Another config is refused while the run is unfinished, and leaves it as it was.
    other = subprocess.run(
        [*command(tiny_model, dataset, out), "--seed", "1"], env=ENV, capture_output=True, text=True
    )
    assert other.returncode == 2 and (not out.exists() or not any(out.iterdir()))
    last = other.stderr.strip().splitlines()[-1]
    assert (
        last.startswith("error: ")
        and "unfinished run of a different config" in last
        and "seed: 0 -> 1" in last
    )

    # Checkpoints at another frequency are the same run: it resumes.
    again = [*command(tiny_model, dataset, out)[:-2], "--checkpoint-steps", "7"]
    result = subprocess.run(again, env=ENV, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    card = read_run_card(out)
    assert (
        card.resumed_from_step >= reached and f"resumed from step {card.resumed_from_step}" in result.stdout
    )
    assert card.steps == STEPS and len(card.losses) == STEPS
    reference = read_run_card(uninterrupted)
    # Counts carried over through the checkpoint: the same as a run trained in one go.
    assert (card.slots_seen, card.tokens_seen) == (reference.slots_seen, reference.tokens_seen)
    assert [p.loss for p in card.losses] == pytest.approx([p.loss for p in reference.losses], rel=1e-4)
    resumed, whole = adapter(out), adapter(uninterrupted)
    assert resumed.keys() == whole.keys()
    for name, tensor in whole.items():
        torch.testing.assert_close(resumed[name], tensor, rtol=1e-4, atol=1e-6, msg=name)
    assert not partial_dir(out).exists() and not (out / "checkpoints").exists()
