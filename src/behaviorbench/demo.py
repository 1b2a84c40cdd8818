"""The end-to-end demo: build a small benchmark, evaluate SmolLM2 zero-shot and instructed and the
shipped reference BehaviorSFT agent, train the SFT baseline and BehaviorSFT on the same small budget,
evaluate both, set BehaviorSFT's proactivity dial on dev, then compare them in a table, a
`summary.json` and an HTML report.

Every stage resumes: rerunning the demo into the same folder reuses finished stages.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from behaviorbench.dataset.atomic import atomic_write_text
from behaviorbench.evaluation.results import read_results
from behaviorbench.evaluation.summary import headline_value

BASE = "smollm2-135m"
REFERENCE = "hf:smollm2-135m-behaviorsft"
"""The shipped reference agent: BehaviorSFT trained on a paper-scale build (see models/reference)."""
SEED = 0
METRICS = (
    "macro_f1",
    "proactive_f1",
    "class_proactive",
    "proactive_auc",
    "reactive_f1",
    "restraint_f1",
    "false_alarm_rate",
    "content_accuracy",
)
"""Keys of each system in summary.json, and the rows of the comparison table (labelled as in the
report: `proactive_f1` is the proactive group score, `class_proactive` the F1 of the proactive class)."""


@dataclass(frozen=True)
class DemoPlan:
    """Sizes of one demo run: small enough for two CPU cores, large enough to show a difference."""

    cases: int
    scenes: int
    steps: int
    batch_size: int
    eval_split: str
    max_tokens: int
    bootstrap: int
    reference: str | None = REFERENCE
    """The trained agent evaluated beside the systems trained on the spot (None: left out)."""


FULL = DemoPlan(cases=200, scenes=2, steps=52, batch_size=1, eval_split="test", max_tokens=16, bootstrap=1000)
QUICK = DemoPlan(cases=80, scenes=2, steps=10, batch_size=1, eval_split="test", max_tokens=16, bootstrap=200)

SYSTEMS: dict[str, str] = {
    "zero-shot": "tagged",
    "instructed": "instructed",
    "reference": "token",
    "sft": "free",
    "behavior-sft": "token",
}
"""Each compared system and the protocol it is evaluated with; `reference` only when the plan has one."""


class StageTimer:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.console.rule(f"[bold]{name}")
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 1)


def run_demo(out: Path, plan: DemoPlan = FULL, base: str = BASE, console: Console | None = None) -> dict:
    """Run every stage into `out`; returns the summary also written to `out/summary.json`."""
    from behaviorbench.dataset.build import build_dataset
    from behaviorbench.dataset.manifest import load_manifest
    from behaviorbench.evaluation.config import EvalConfig
    from behaviorbench.evaluation.runner import run_eval
    from behaviorbench.models.smollm2 import resolve_model_path
    from behaviorbench.reporting.report import load_report, write_report
    from behaviorbench.training.config import TrainConfig
    from behaviorbench.training.model_card import write_model_card
    from behaviorbench.training.run_card import read_run_card
    from behaviorbench.training.trainer import train

    console = console or Console()
    out.mkdir(parents=True, exist_ok=True)
    data = out / "data"
    timer = StageTimer(console)

    with timer.stage("prepare model"):
        resolve_model_path(base)
    with timer.stage("build benchmark"):
        build_dataset(data, cases=plan.cases, seed=SEED, workers=os.cpu_count() or 1, scenes=plan.scenes)

    def evaluate(system: str, model: str) -> None:
        config = EvalConfig(
            model=model,
            data=data,
            split=plan.eval_split,
            protocol=SYSTEMS[system],
            max_tokens=plan.max_tokens,
            bootstrap=plan.bootstrap,
            seed=SEED,
        )
        run_eval(config, out / system, console=console)

    for system in ("zero-shot", "instructed"):
        with timer.stage(f"evaluate {system}"):
            evaluate(system, f"hf:{base}")
    if plan.reference is not None:
        with timer.stage("evaluate reference"):
            evaluate("reference", plan.reference)
    systems = [s for s in SYSTEMS if s != "reference" or plan.reference is not None]
    for method in ("sft", "behavior-sft"):
        with timer.stage(f"train {method}"):
            config = TrainConfig(
                base=base,
                method=method,
                data=str(data),
                steps=plan.steps,
                batch_size=plan.batch_size,
                seed=SEED,
            )
            train(config, out / "models" / method)
        with timer.stage(f"evaluate {method}"):
            model = out / "models" / method
            evaluate(method, f"hf:{model}")
            write_model_card(model, read_run_card(model), [read_results(out / method)])

    dial = None
    if "dev" not in load_manifest(data).splits:
        console.print("This build has no dev split, so BehaviorSFT's proactivity dial is not set.")
    else:
        with timer.stage("proactivity dial"):
            dial = _set_dial(out, data, plan, console)

    with timer.stage("report"):
        report = out / "report.html"
        compared = load_report(
            [out / s for s in systems],
            n_bootstrap=plan.bootstrap,
            seed=SEED,
            calibrations=[out / "calibration"] if dial else [],
        )
        write_report(compared, report, "html")

    summary = {
        "systems": {system: _system_summary(out / system) for system in systems},
        "paired": [d.model_dump() for d in compared.differences if d.a == "behavior-sft"],
        "proactivity_dial": dial,
        "stages": timer.seconds,
        "plan": plan.__dict__,
        "report": str(report),
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    _print_comparison(summary, console)
    console.print(f"report: {report}\nsummary: {out / 'summary.json'}")
    return summary


def _set_dial(out: Path, data: Path, plan: DemoPlan, console: Console) -> dict:
    """BehaviorSFT's proactive bias, chosen on dev (only the decision matters there) and read off on test."""
    from behaviorbench.evaluation.config import EvalConfig
    from behaviorbench.evaluation.runner import run_eval
    from behaviorbench.reporting.calibration import write_calibration

    config = EvalConfig(
        model=f"hf:{out / 'models' / 'behavior-sft'}",
        data=data,
        split="dev",
        protocol=SYSTEMS["behavior-sft"],
        generate=False,
        bootstrap=plan.bootstrap,
        seed=SEED,
    )
    run_eval(config, out / "behavior-sft-dev", console=console)
    dial = write_calibration(out / "behavior-sft", out / "behavior-sft-dev", out / "calibration")
    return {
        "system": "behavior-sft",
        "bias": dial.chosen_bias,
        "dev_macro_f1": dial.dev_at_chosen.macro_f1,
        "test_at_zero": dial.test_at_zero.model_dump(),
        "test_at_bias": dial.test_at_chosen.model_dump(),
        "calibration_dir": str(out / "calibration"),
    }


def _system_summary(run_dir: Path) -> dict:
    results = read_results(run_dir)
    metrics = results.metrics
    summary: dict = {name: headline_value(metrics, name) for name in METRICS}
    summary["ci"] = {
        name: [metrics.ci[name].low, metrics.ci[name].high] for name in METRICS if name in metrics.ci
    }
    summary["model"] = results.run.model
    summary["protocol"] = results.run.protocol
    summary["run_dir"] = str(run_dir)
    return summary


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _with_interval(system: dict, name: str) -> str:
    interval = system["ci"].get(name)
    text = _percent(system[name])
    if interval and system[name] is not None:
        text += f" [{100 * interval[0]:.0f}–{100 * interval[1]:.0f}]"
    return text


def _dial_line(dial: dict) -> str:
    zero, biased = dial["test_at_zero"], dial["test_at_bias"]
    changes = (
        f"{label} {_percent(zero[key])} -> {_percent(biased[key])}"
        for key, label in (
            ("macro_f1", "Macro-F1"),
            ("proactive_recall", "proactive recall"),
            ("false_alarm_rate", "false alarms"),
        )
    )
    return (
        f"Proactivity dial, {dial['system']}: bias {dial['bias']:+.2f} chosen on dev; on test "
        + ", ".join(changes)
    )


def _paired_table(paired: list[dict]) -> Table:
    """BehaviorSFT minus each other system, paired over the same test cases."""
    cases = paired[0]["cases"]
    table = Table(title=f"behavior-sft minus each system, in points, paired over the {cases} test cases")
    for column in ("system", "macro f1", "better", "false alarms", "better"):
        table.add_column(column, justify="left" if column == "system" else "right")
    rows: dict[str, list[str]] = {}
    for d in paired:
        cells = rows.setdefault(d["b"], ["—"] * 4)
        at = 0 if d["metric"] == "macro_f1" else 2
        cells[at] = f"{100 * d['difference']:+.1f} [{100 * d['low']:.1f}, {100 * d['high']:.1f}]"
        cells[at + 1] = f"{100 * d['a_better']:.0f}%"
    for system, cells in rows.items():
        table.add_row(system, *cells)
    return table


def _print_comparison(summary: dict, console: Console) -> None:
    """Metrics as rows and systems as columns, so the table fits a terminal."""
    from behaviorbench.reporting.report import HEADLINE

    label = {key: text for key, text, _ in HEADLINE}
    table = Table(title="Test split: behavior metrics in % with 95% bootstrap intervals over cases")
    table.add_column("metric")
    for system in summary["systems"]:
        table.add_column(system, justify="right")
    for name in METRICS:
        table.add_row(label[name], *(_with_interval(v, name) for v in summary["systems"].values()))
    console.print(table)
    if summary["paired"]:
        console.print(_paired_table(summary["paired"]))
    if summary["proactivity_dial"] is not None:
        console.print(_dial_line(summary["proactivity_dial"]), highlight=False)
    stages = Table(title="Stages")
    stages.add_column("stage")
    stages.add_column("seconds", justify="right")
    for stage, seconds in summary["stages"].items():
        stages.add_row(stage, f"{seconds:.1f}")
    stages.add_row("total", f"{sum(summary['stages'].values()):.1f}", style="bold")
    console.print(stages)
