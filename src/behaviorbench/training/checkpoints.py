"""Resumable checkpoints: Trainer writes them, this module says which one is whole.

`transformers.Trainer` saves weights, optimizer, scheduler, RNG and trainer state into
`checkpoint-N/` file by file, so a run killed while saving leaves a folder that looks like a
checkpoint but is not one. Once Trainer has finished a checkpoint, `CheckpointMarks` writes the
run's token counts and then, atomically, a `complete` marker, and only then deletes the older
checkpoints: at every moment at least one whole checkpoint exists, and resuming only ever reads a
marked one.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import torch
from transformers import TrainerCallback

from behaviorbench.dataset.atomic import atomic_write_text
from behaviorbench.errors import BehaviorBenchError

COMPLETE = "complete"
_NAME = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_step(folder: Path) -> int:
    return int(_NAME.match(folder.name).group(1))


def last_checkpoint(checkpoints: Path) -> Path | None:
    """The marked checkpoint with the most steps in `checkpoints`, or None."""
    if not checkpoints.is_dir():
        return None
    whole = [f for f in checkpoints.iterdir() if _NAME.match(f.name) and (f / COMPLETE).is_file()]
    return max(whole, key=checkpoint_step, default=None)


def _tally_file(folder: Path, process: int) -> Path:
    return folder / f"tally-{process}.json"


def read_tally(folder: Path, process: int) -> torch.Tensor:
    """The tokens, supervised tokens and slots this process had trained on at the checkpoint."""
    path = _tally_file(folder, process)
    try:
        return torch.tensor(json.loads(path.read_text(encoding="utf-8")), dtype=torch.long)
    except (OSError, ValueError) as error:
        raise BehaviorBenchError(f"{path}: cannot read the checkpoint's counts ({error})") from None


class CheckpointMarks(TrainerCallback):
    """After each save: this process's counts, then the `complete` marker, then older checkpoints go."""

    def __init__(self, tally: torch.Tensor) -> None:
        self.tally = tally

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        atomic_write_text(_tally_file(folder, args.process_index), json.dumps(self.tally.tolist()))
        if state.is_world_process_zero:
            atomic_write_text(folder / COMPLETE, f"{state.global_step}\n")
            for other in Path(args.output_dir).iterdir():
                if other != folder and _NAME.match(other.name):
                    shutil.rmtree(other, ignore_errors=True)
