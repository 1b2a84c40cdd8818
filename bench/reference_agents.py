"""How the shipped reference agents score: BehaviorSFT against the SFT baseline trained on the same
budget, on a build's test and test_unseen splits and on its BehaviorBench-Hard subset.

Each agent runs through the harness (`run_eval`, decisions only unless --generate; runs resume),
BehaviorSFT under protocol token and SFT under protocol free, both at proactive bias 0. For every
split it prints Macro-F1 with its 95% interval, proactive AUC (each problem against its minimal-pair
control), proactive recall and precision, the false-alarm rate, and BehaviorSFT minus SFT on
Macro-F1 paired over the same cases. Hard is selected by `hard` from the *base* model's zero-shot
and instructed runs on test (the tasks both miss, plus the cases hard by construction), so neither
reference agent had a hand in choosing it.

    python bench/reference_agents.py --data data/paper --out runs/reference --limit 60 --dtype bfloat16

The last line holds every figure as key=value pairs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROTOCOLS = {"behavior-sft": "token", "sft": "free"}
BASE_RUNS = {"zero-shot": "tagged", "instructed": "instructed"}


def evaluate(model: str, protocol: str, data: Path, split: str, out: Path, args) -> Path:
    from rich.console import Console

    from behaviorbench.evaluation.config import EvalConfig
    from behaviorbench.evaluation.runner import run_eval

    config = EvalConfig(
        model=model,
        data=data,
        split=split,
        protocol=protocol,
        limit=args.limit,
        generate=args.generate,
        max_tokens=args.max_tokens,
        bootstrap=args.bootstrap,
        dtype=args.dtype,
    )
    run_eval(config, out, console=Console(stderr=True))
    return out


def figures(run: Path) -> dict[str, float | None]:
    from behaviorbench.evaluation.results import read_results

    scores = read_results(run).metrics
    proactive = scores.per_class["proactive"]
    ci = scores.ci.get("macro_f1")
    return {
        "cases": scores.counts.cases,
        "macro_f1": scores.macro_f1,
        "macro_f1_low": ci.low if ci else None,
        "macro_f1_high": ci.high if ci else None,
        "auc": scores.proactive_auc,
        "recall": proactive.recall,
        "precision": proactive.precision,
        "false_alarms": scores.false_alarm_rate,
        "content": scores.content_accuracy,
    }


def paired(a: Path, b: Path, n_bootstrap: int) -> dict[str, float]:
    from behaviorbench.evaluation.paired import paired_differences
    from behaviorbench.reporting.runs import load_run

    for d in paired_differences(load_run(a).samples, load_run(b).samples, "a", "b", n_bootstrap):
        if d.metric == "macro_f1":
            return {"diff": d.difference, "diff_low": d.low, "diff_high": d.high}
    return {}


def hard_subset(data: Path, out: Path, args) -> Path:
    """BehaviorBench-Hard from the base model's own runs on test (reused when already written)."""
    from behaviorbench.reporting.hard import build_hard

    runs = [
        evaluate(args.base, protocol, data, "test", out / f"base-{name}-test", args)
        for name, protocol in BASE_RUNS.items()
    ]
    hard = out / "hard"
    if not (hard / "selection.json").is_file():
        build_hard(runs, data, hard)
    return hard


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="a paper-scale build")
    parser.add_argument("--out", type=Path, default=Path("runs/reference"))
    parser.add_argument("--splits", default="test,test_unseen")
    parser.add_argument("--hard", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--limit", type=int, help="evaluate only the first N cases of each split")
    parser.add_argument("--generate", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--dtype", help="float32 (the CPU default) or bfloat16 (about 2x faster on AMX CPUs)")
    parser.add_argument("--base", default="smollm2-135m", help="the base model that selects Hard")
    parser.add_argument("--behavior-sft", default="hf:smollm2-135m-behaviorsft", help="the BehaviorSFT agent")
    parser.add_argument("--sft", default="hf:smollm2-135m-sft", help="the SFT baseline")
    args = parser.parse_args()

    targets = [(split, args.data, split) for split in args.splits.split(",") if split]
    if args.hard:
        targets.append(("hard", hard_subset(args.data, args.out, args), "test"))
    models = {"behavior-sft": args.behavior_sft, "sft": args.sft}
    line: dict[str, str] = {}
    for name, data, split in targets:
        runs = {
            agent: evaluate(models[agent], protocol, data, split, args.out / f"{agent}-{name}", args)
            for agent, protocol in PROTOCOLS.items()
        }
        difference = paired(runs["behavior-sft"], runs["sft"], args.bootstrap)
        for agent, run in runs.items():
            f = figures(run)
            print(
                f"{name:>12} {agent:>13}: {f['cases']} cases  Macro-F1 {_pct(f['macro_f1'])} "
                f"[{_pct(f['macro_f1_low'])}-{_pct(f['macro_f1_high'])}]  AUC {_num(f['auc'])}  "
                f"recall {_pct(f['recall'])}  precision {_pct(f['precision'])}  "
                f"false alarms {_pct(f['false_alarms'])}  content {_pct(f['content'])}"
            )
            line.update({f"{name}_{agent.replace('-', '_')}_{key}": _num(value) for key, value in f.items()})
        print(
            f"{name:>12} behavior-sft minus sft, Macro-F1 paired over the same cases: "
            f"{100 * difference['diff']:+.1f} [{100 * difference['diff_low']:+.1f}, "
            f"{100 * difference['diff_high']:+.1f}] points"
        )
        line.update({f"{name}_{key}": _num(value) for key, value in difference.items()})
    print(" ".join(f"{key}={value}" for key, value in line.items()))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _num(value: float | int | None) -> str:
    return "nan" if value is None else (str(value) if isinstance(value, int) else f"{value:.4f}")


if __name__ == "__main__":
    main()
