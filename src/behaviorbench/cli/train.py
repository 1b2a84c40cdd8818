"""`behaviorbench train`: BehaviorSFT or its SFT baseline on a built dataset."""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from behaviorbench.cli.app import app
from behaviorbench.cli.checks import positive


@app.command()
def train(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the adapter (or model), run_card.json, loss.png.")
    ],
    data: Annotated[
        Path | None, typer.Option("--data", help="Dataset folder built by `behaviorbench build`.")
    ] = None,
    base: Annotated[str | None, typer.Option("--base", help="Base model folder or 'smollm2-135m'.")] = None,
    method: Annotated[
        str | None, typer.Option("--method", help="behavior-sft (tokens) or sft (baseline).")
    ] = None,
    split: Annotated[str | None, typer.Option("--split", help="Dataset split to train on.")] = None,
    lora: Annotated[
        bool | None, typer.Option("--lora/--full", help="LoRA adapter (default) or full fine-tune.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML training config; flags override it.")
    ] = None,
    steps: Annotated[int | None, typer.Option("--steps", min=1, help="Optimizer steps.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", callback=positive, help="Peak learning rate.")] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Cases per device per micro-batch.")
    ] = None,
    grad_accum: Annotated[
        int | None, typer.Option("--grad-accum", min=1, help="Micro-batches per step.")
    ] = None,
    max_length: Annotated[
        int | None, typer.Option("--max-length", min=16, help="Tokens per case sequence.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for initialisation and data order.")
    ] = None,
    checkpoint_steps: Annotated[
        int | None,
        typer.Option("--checkpoint-steps", help="Save a resumable checkpoint every N steps (0: never)."),
    ] = None,
) -> None:
    """Fine-tune on whole-case sequences; loss on assistant turns only. Works under accelerate/torchrun.

    Until it finishes, a run keeps its checkpoints in OUT.partial; rerunning the same command after
    an interruption resumes from the last complete one, and OUT appears only when training is done.
    """
    from behaviorbench.training.config import load_train_config
    from behaviorbench.training.trainer import train as run_training

    overrides = {
        "base": base,
        "method": method,
        "data": str(data) if data is not None else None,
        "split": split,
        "lora": lora,
        "steps": steps,
        "lr": lr,
        "batch_size": batch_size,
        "grad_accum": grad_accum,
        "max_length": max_length,
        "seed": seed,
        "checkpoint_steps": checkpoint_steps,
    }
    from behaviorbench.locks import folder_lock
    from behaviorbench.outputs import dataset_inputs, refuse_input_as_output
    from behaviorbench.training.run_card import RUN_CARD

    finished_before = (out / RUN_CARD).is_file()
    settings = load_train_config(config, overrides)
    if settings.data is not None:
        refuse_input_as_output(out, [Path(settings.data), *dataset_inputs(Path(settings.data))])
    # One writer per training folder; under torchrun every rank runs this, and rank 0 writes.
    with folder_lock(out, "training folder") if os.environ.get("RANK", "0") == "0" else nullcontext():
        card = run_training(settings, out)
    from accelerate import PartialState

    if not PartialState().is_main_process:  # under torchrun / accelerate launch, report once
        return
    first, last = (card.losses[0].loss, card.losses[-1].loss) if card.losses else (float("nan"),) * 2
    kind = "LoRA" if card.adapter else "full"
    if finished_before:
        Console(highlight=False).print(
            f"{out} already holds this run ({card.steps} steps); nothing to do", soft_wrap=True
        )
        return
    used = card.cases - card.cases_skipped
    resumed = f", resumed from step {card.resumed_from_step}" if card.resumed_from_step else ""
    Console(highlight=False).print(
        f"trained {card.method} ({kind}) on {card.base_model}: {card.steps} steps, world size "
        f"{card.world_size}, {used}/{card.cases} cases ({card.cases_truncated} truncated, "
        f"{card.cases_skipped} skipped, {card.slots_dropped} slots dropped by max_length), "
        f"{card.slots_seen:,} slots and {card.tokens_seen:,} tokens seen, loss {first:.3f} -> {last:.3f}, "
        f"{card.wall_seconds:.1f} s{resumed}; saved {out}",
        soft_wrap=True,
    )
