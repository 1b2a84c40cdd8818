"""What BehaviorSFT and SFT have learned after 0, 16, 32, 64 ... steps, side by side on the same cases.

Every arm trains the same generated train cases in the same order (same seed) with its own config,
and its adapter is saved at each checkpoint. After training each saved adapter is evaluated on the
dev cases through the harness's fast path (`HFBackend.decide_case`, decisions only) and scored by
`evaluation.metrics`: proactive AUC (each problem slot against its minimal-pair control, from the
proactive probability), proactive recall and precision at bias 0, false-alarm rate and Macro-F1.
Tokens/s is training throughput up to the checkpoint (evaluation time excluded). The last arm
pair's paired Macro-F1 difference at the last checkpoint is given with its 95% interval.

Arms are `NAME=field:value,field:value` over `TrainConfig` fields; the default compares the
current recipe of each method:

    python bench/learning_curve.py --checkpoints 0,16,32,64 \\
        --arm behavior-sft=method:behavior-sft --arm sft=method:sft --plot curve.png

The last line holds the figures of the last checkpoint of every arm as key=value pairs.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@dataclass
class Point:
    arm: str
    step: int
    auc: float
    recall: float
    precision: float
    false_alarms: float
    macro_f1: float
    tokens_per_s: float


def parse_arm(text: str) -> tuple[str, dict[str, str]]:
    name, _, fields = text.partition("=")
    values = dict(item.split(":", 1) for item in fields.split(",") if item)
    return name, values


def train_arm(config, train_cases, steps: list[int], folder: Path) -> dict[int, tuple[float, int]]:
    """Train to the last checkpoint, saving the adapter at each; (training seconds, tokens) at each."""
    from transformers import TrainerCallback

    from behaviorbench.training.trainer import (
        build_training_set,
        fit,
        load_model,
        save_weights,
        training_arguments,
    )

    model, tokenizer = load_model(config)
    training_set = build_training_set(train_cases, tokenizer, config.style, config.max_length)
    marks: dict[int, tuple[float, int]] = {}

    class Snapshots(TrainerCallback):
        """Saves the adapter at each checkpoint step; saving time is not training time."""

        def __init__(self) -> None:
            self.started, self.paused = time.perf_counter(), 0.0

        def snapshot(self, step: int, tokens: int, model) -> None:
            began = time.perf_counter()
            marks[step] = (began - self.started - self.paused, tokens)
            save_weights(model, tokenizer, config, folder / f"step-{step}")
            self.paused += time.perf_counter() - began

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            self.started = time.perf_counter()
            if 0 in steps:
                self.snapshot(0, 0, model)

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step in steps:
                self.snapshot(state.global_step, state.num_input_tokens_seen, model)

    arguments = training_arguments(config, folder / "checkpoints")
    arguments.include_num_input_tokens_seen = "non_padding"
    fit(model, tokenizer, training_set, arguments, config.method, config, callbacks=[Snapshots()])
    return marks


def evaluate(adapter: Path, style: str, cases) -> list:
    """Samples of every slot of `cases`, decisions only, from the harness's fast path."""
    from behaviorbench.evaluation.runner import sample_of
    from behaviorbench.models.base import GenerationParams
    from behaviorbench.models.hf import HFBackend

    backend = HFBackend(str(adapter), device="cpu")
    samples = []
    for case in cases:
        decisions = backend.decide_case(
            case, style, [s.index for s in case.slots], GenerationParams(), generate=False
        )
        for slot, d in zip(case.slots, decisions, strict=True):
            samples.append(
                sample_of(
                    case,
                    slot,
                    predicted=d.behavior,
                    status="ok" if d.behavior is not None else "invalid",
                    probabilities=d.probabilities,
                    prompt_hash=d.prompt_hash,
                )
            )
    return samples


def point(arm: str, step: int, samples, seconds: float, tokens: int) -> Point:
    from behaviorbench.evaluation.metrics import proactive_auc, score_samples

    scores = score_samples(samples, n_bootstrap=0)
    proactive = scores.per_class["proactive"]
    return Point(
        arm=arm,
        step=step,
        auc=proactive_auc(samples),
        recall=proactive.recall,
        precision=proactive.precision,
        false_alarms=scores.false_alarm_rate,
        macro_f1=scores.macro_f1,
        tokens_per_s=tokens / seconds if seconds > 0 else float("nan"),
    )


def plot(points: list[Point], path: Path, title: str) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    from behaviorbench.dataset.atomic import atomic_write_bytes

    panels = (
        ("auc", "proactive AUC (problem vs control)"),
        ("recall", "proactive recall at bias 0"),
        ("macro_f1", "behavior Macro-F1"),
        ("false_alarms", "false-alarm rate"),
    )
    figure, axes = pyplot.subplots(1, 4, figsize=(14, 3.4), dpi=110)
    for axis, (field, label) in zip(axes, panels, strict=True):
        for arm in dict.fromkeys(p.arm for p in points):
            mine = [p for p in points if p.arm == arm]
            axis.plot([p.step for p in mine], [getattr(p, field) for p in mine], marker="o", label=arm)
        axis.set_title(label, fontsize=9)
        axis.set_xlabel("optimizer step")
        axis.grid(alpha=0.3)
    axes[0].axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
    axes[0].legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    atomic_write_bytes(path, buffer.getvalue())


def describe(p: Point) -> str:
    return (
        f"{p.arm:>22} step {p.step:>4}: AUC {p.auc:.3f}  recall {p.recall:.3f}  precision {p.precision:.3f}  "
        f"false alarms {p.false_alarms:.3f}  Macro-F1 {p.macro_f1:.3f}  {p.tokens_per_s:.0f} tokens/s"
    )


def key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def run_arm(
    name: str, values: dict, base: str, data: Path, steps: list[int], eval_cases, seed: int, threads: int
) -> tuple[list[Point], list]:
    """One arm, start to end: train, then evaluate each checkpoint (runs in its own process)."""
    import torch

    from behaviorbench.dataset.reader import iter_cases
    from behaviorbench.training.config import TrainConfig

    torch.set_num_threads(threads)
    config = TrainConfig.model_validate(
        {"base": base, "data": str(data), "steps": max(steps), "seed": seed}
        | values
        | {"checkpoint_steps": 0}
    )
    folder = data.parent / key(name)
    marks = train_arm(config, list(iter_cases(data, "train")), steps, folder)
    points, samples = [], []
    for step in steps:
        samples = evaluate(folder / f"step-{step}", config.style, eval_cases)
        points.append(found := point(name, step, samples, *marks[step]))
        print(describe(found), flush=True)
    return points, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="'smollm2-135m', 'tiny' or a model folder")
    parser.add_argument("--cases", type=int, default=480, help="cases to build (about 80%% train, 5%% dev)")
    parser.add_argument("--scenes", type=int, default=2)
    parser.add_argument("--checkpoints", default="0,16,32,64", help="steps at which to evaluate")
    parser.add_argument("--eval-split", default="dev")
    parser.add_argument("--eval-cases", type=int, default=None, help="at most this many eval cases")
    parser.add_argument("--arm", action="append", help="NAME=field:value,... (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, help="arms trained at once, each in its own process")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", type=Path, default=Path("learning-curve.png"))
    args = parser.parse_args()
    arms = [parse_arm(a) for a in (args.arm or ["behavior-sft=method:behavior-sft", "sft=method:sft"])]
    steps = sorted({int(s) for s in args.checkpoints.split(",")})

    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from behaviorbench.dataset.build import build_dataset
    from behaviorbench.dataset.reader import iter_cases
    from behaviorbench.evaluation.paired import paired_differences
    from behaviorbench.models.tiny import make_tiny_model

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        base = str(make_tiny_model(scratch / "tiny")) if args.model == "tiny" else args.model
        data = scratch / "data"
        build_dataset(data, cases=args.cases, seed=args.seed, scenes=args.scenes, progress=False)
        train_cases = list(iter_cases(data, "train"))
        eval_cases = list(iter_cases(data, args.eval_split))[: args.eval_cases]
        designated = sum(len(c.designated) for c in eval_cases)
        print(
            f"model {args.model}; {len(train_cases)} train cases; {args.eval_split}: "
            f"{len(eval_cases)} cases, {designated} designated slots; checkpoints {steps}; "
            f"{args.jobs} arm(s) at a time"
        )
        threads = max(1, (os.cpu_count() or 1) // args.jobs)
        jobs = [(name, values, base, data, steps, eval_cases, args.seed, threads) for name, values in arms]
        if args.jobs == 1:
            results = [run_arm(*job) for job in jobs]
        else:
            with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
                results = list(pool.map(run_arm, *zip(*jobs, strict=True)))
    points = [p for arm_points, _ in results for p in arm_points]
    last_samples = {name: samples for (name, _), (_, samples) in zip(arms, results, strict=True)}
    print("\n".join(describe(p) for p in points))
    title = f"{args.model}, {len(train_cases)} train cases, {args.eval_split} {len(eval_cases)} cases"
    plot(points, args.plot, title)
    print(f"plot: {args.plot}")
    figures = {"steps": max(steps), "eval_cases": len(eval_cases)}
    names = [name for name, _ in arms]
    if len(names) >= 2:
        paired = paired_differences(
            last_samples[names[0]], last_samples[names[1]], names[0], names[1], seed=0
        )
        for d in paired:
            if d.metric == "macro_f1":
                print(
                    f"{names[0]} minus {names[1]}, Macro-F1 at step {max(steps)}: {d.difference:+.3f} "
                    f"[{d.low:+.3f}, {d.high:+.3f}] paired over {d.cases} cases"
                )
                figures |= {"paired_f1": f"{d.difference:.3f}", "paired_low": f"{d.low:.3f}"}
    for p in points:
        if p.step == max(steps):
            prefix = key(p.arm)
            figures |= {
                f"{prefix}_auc": f"{p.auc:.3f}",
                f"{prefix}_recall": f"{p.recall:.3f}",
                f"{prefix}_precision": f"{p.precision:.3f}",
                f"{prefix}_false_alarms": f"{p.false_alarms:.3f}",
                f"{prefix}_macro_f1": f"{p.macro_f1:.3f}",
                f"{prefix}_tokens_per_s": f"{p.tokens_per_s:.0f}",
            }
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
