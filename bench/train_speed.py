"""Supervised slots per second: whole-case sequences against one sequence per task.

Both train the same generated cases with the same model, LoRA setup and optimizer for the same
number of steps (one sequence per step). Whole-case training puts a case in one sequence and
supervises every slot's assistant turn (ambient and designated); per-task training gives each
designated slot its own sequence (the conversation up to that slot, loss on that slot's turn
only), so the shared context is re-encoded for every task. Also reported: training tokens per
second and seconds per step of whole-case training, the figures that size a CPU demo.

With `--bf16` whole-case training is also timed under bfloat16 autocast, on the same sequences
and steps, and `bf16_ratio` is its tokens/s over float32's (above 1: bf16 is faster here). CPUs
without native bf16 instructions (AVX512-BF16, AMX) emulate it and are expected to lose.

    python bench/train_speed.py --model smollm2-135m --cases 6 --scenes 2 --steps 6 --bf16

The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def timed_fit(config, sequences, steps: int) -> tuple[float, int, int]:
    """(seconds, slots supervised, tokens seen) for `steps` optimizer steps over `sequences`."""
    from behaviorbench.training.trainer import TrainingSet, fit, load_model, training_arguments

    model, tokenizer = load_model(config)
    training_set = TrainingSet(sequences, len(sequences), 0, 0, 0)
    with tempfile.TemporaryDirectory() as scratch:
        arguments = training_arguments(config.model_copy(update={"steps": steps}), Path(scratch))
        started = time.perf_counter()
        trainer = fit(model, tokenizer, training_set, arguments, "", config)
        seconds = time.perf_counter() - started
    tokens, _, slots = trainer.tally.tolist()
    return seconds, slots, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="'smollm2-135m', 'tiny' or a model folder")
    parser.add_argument("--cases", type=int, default=6)
    parser.add_argument("--scenes", type=int, default=2)
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps per mode (one sequence each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bf16", action="store_true", help="also time bfloat16 autocast against float32")
    args = parser.parse_args()

    from behaviorbench.generation import generate_case
    from behaviorbench.models.smollm2 import resolve_model_path
    from behaviorbench.models.tiny import make_tiny_model
    from behaviorbench.training.config import TrainConfig
    from behaviorbench.training.sequences import encode_case, encode_slot
    from behaviorbench.training.trainer import load_model

    with tempfile.TemporaryDirectory() as scratch:
        base = str(make_tiny_model(Path(scratch) / "tiny")) if args.model == "tiny" else args.model
        config = TrainConfig(base=base, batch_size=1, bf16=False, seed=args.seed, checkpoint_steps=0)
        print(
            f"model {args.model} ({resolve_model_path(base).name}), LoRA r={config.lora_r}, behavior tokens"
        )

        _, tokenizer = load_model(config)
        cases = [generate_case(args.seed, index, scenes=args.scenes) for index in range(args.cases)]
        whole = [encode_case(tokenizer, case, "token") for case in cases]
        tasks = [encode_slot(tokenizer, case, "token", s.index) for case in cases for s in case.designated]
        designated = sum(len(case.designated) for case in cases)
        print(
            f"{len(cases)} cases (scenes={args.scenes}): {sum(s.slots for s in whole)} slots, {designated} "
            f"designated; whole-case {sum(len(s.input_ids) for s in whole)} tokens, per-task "
            f"{sum(len(s.input_ids) for s in tasks)} tokens"
        )
        steps = min(args.steps, len(whole))
        whole_seconds, whole_slots, whole_tokens = timed_fit(config, whole, steps)
        task_seconds, task_slots, task_tokens = timed_fit(config, tasks, steps)
        if args.bf16:
            bf16_seconds, _, bf16_tokens = timed_fit(config.model_copy(update={"bf16": True}), whole, steps)

    whole_rate, task_rate = whole_slots / whole_seconds, task_slots / task_seconds
    # Designated tasks per second: whole-case training covers a case's tasks in one sequence.
    task_share = designated / sum(s.slots for s in whole)
    print(f"whole-case: {steps} steps {whole_seconds:.1f} s, {whole_slots} slots, {whole_rate:.2f} slots/s")
    print(f"per-task:   {steps} steps {task_seconds:.1f} s, {task_slots} slots, {task_rate:.2f} slots/s")
    figures = {
        "model": args.model,
        "steps": steps,
        "whole_slots_per_s": f"{whole_rate:.3f}",
        "task_slots_per_s": f"{task_rate:.3f}",
        "speedup": f"{whole_rate / task_rate:.2f}",
        "designated_speedup": f"{whole_rate * task_share / task_rate:.2f}",
        "whole_tokens_per_s": f"{whole_tokens / whole_seconds:.1f}",
        "whole_s_per_step": f"{whole_seconds / steps:.2f}",
        "tokens_per_step": f"{whole_tokens / steps:.0f}",
    }
    if args.bf16:
        ratio = (bf16_tokens / bf16_seconds) / (whole_tokens / whole_seconds)
        print(f"bf16 autocast: {steps} steps {bf16_seconds:.1f} s, {bf16_tokens / bf16_seconds:.1f} tokens/s")
        figures |= {"bf16_tokens_per_s": f"{bf16_tokens / bf16_seconds:.1f}", "bf16_ratio": f"{ratio:.2f}"}
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
