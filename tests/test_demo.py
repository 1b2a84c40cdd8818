"""The demo end to end on a tiny random model: every stage, the summary's shape, and resuming."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from behaviorbench.dataset.build import build_dataset
from behaviorbench.demo import METRICS, SYSTEMS, DemoPlan, run_demo
from behaviorbench.evaluation.results import read_results
from behaviorbench.models.tiny import make_tiny_model
from behaviorbench.reporting.calibration import bias_grid
from behaviorbench.training.config import TrainConfig
from behaviorbench.training.trainer import train

# 240 cases is the smallest build of seed 0 with a dev split, which the proactivity dial needs.
PLAN = DemoPlan(cases=240, scenes=2, steps=2, batch_size=1, eval_split="test", max_tokens=4, bootstrap=50)
STAGES = [
    "prepare model",
    "build benchmark",
    "evaluate zero-shot",
    "evaluate instructed",
    "evaluate reference",
    "train sft",
    "evaluate sft",
    "train behavior-sft",
    "evaluate behavior-sft",
    "proactivity dial",
    "report",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str, Path]:
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("BEHAVIORBENCH_CACHE", str(root / "cache"))
        tiny = make_tiny_model(root / "tiny")
        plan = dataclasses.replace(PLAN, reference=_tiny_reference(root, tiny))
        output = io.StringIO()
        summary = run_demo(root / "demo", plan, base=str(tiny), console=Console(file=output, width=160))
    return root / "demo", summary, output.getvalue(), tiny


def _tiny_reference(root: Path, tiny: Path) -> str:
    """A BehaviorSFT adapter on the tiny model, trained on another build, standing in for the shipped
    reference agent (a SmolLM2 adapter) so the demo's reference stage runs in seconds."""
    build_dataset(root / "reference-data", cases=24, seed=1, workers=1, scenes=1)
    config = TrainConfig(base=str(tiny), method="behavior-sft", data=str(root / "reference-data"), steps=2)
    train(config, root / "reference")
    return f"hf:{root / 'reference'}"


def test_summary_has_every_system_with_its_metrics_and_run(demo):
    out, summary, _, tiny = demo
    written = json.loads((out / "summary.json").read_text())
    assert written == summary
    assert list(written["systems"]) == ["zero-shot", "instructed", "reference", "sft", "behavior-sft"]
    for name, system in written["systems"].items():
        assert set(METRICS) <= set(system)
        results = read_results(out / name)
        assert system["protocol"] == results.run.protocol == SYSTEMS[name]
        assert system["macro_f1"] == results.metrics.macro_f1 and 0 <= system["macro_f1"] <= 1
        low, high = system["ci"]["macro_f1"]
        assert low <= system["macro_f1"] <= high
    assert written["systems"]["zero-shot"]["model"] == f"hf:{tiny}"
    assert written["systems"]["behavior-sft"]["model"] == f"hf:{out / 'models' / 'behavior-sft'}"
    assert written["systems"]["reference"]["model"] == written["plan"]["reference"]
    assert list(written["stages"]) == STAGES and all(seconds >= 0 for seconds in written["stages"].values())


def test_the_dial_is_chosen_on_dev_and_read_off_on_test(demo):
    out, summary, printed, _ = demo
    dial = summary["proactivity_dial"]
    assert dial["bias"] in bias_grid()
    calibration = json.loads((out / "calibration" / "calibration.json").read_text())
    assert calibration["chosen_bias"] == dial["bias"]
    assert calibration["test_at_chosen"] == dial["test_at_bias"]
    assert read_results(out / "behavior-sft-dev").run.split == "dev"
    assert f"Proactivity dial, behavior-sft: bias {dial['bias']:+.2f}" in printed


def test_behavior_sft_is_compared_pairwise_with_every_other_system(demo):
    _, summary, printed, _ = demo
    pairs = {(d["b"], d["metric"]) for d in summary["paired"]}
    others = [name for name in SYSTEMS if name != "behavior-sft"]
    assert {(name, "macro_f1") for name in others} <= pairs
    for d in summary["paired"]:
        assert d["a"] == "behavior-sft" and d["low"] <= d["difference"] <= d["high"]
    f1 = next(d for d in summary["paired"] if d["b"] == "sft" and d["metric"] == "macro_f1")
    row = next(line for line in printed.splitlines() if line.startswith("│ sft "))
    assert f"{100 * f1['difference']:+.1f} [{100 * f1['low']:.1f}, {100 * f1['high']:.1f}]" in row


def test_report_and_printed_tables(demo):
    out, summary, printed, _ = demo
    html = (out / "report.html").read_text()
    for name in SYSTEMS:
        assert name in html
        assert (out / f"report-{name}-samples.html").is_file()
    assert f"behavior-sft, dial {summary['proactivity_dial']['bias']:+g}" in html  # the dial's row
    assert "Stages" in printed and "total" in printed and "behavior-sft" in printed


def test_the_proactive_group_score_is_named_so_with_the_class_f1_beside_it(demo):
    """The printed table labels rows as the report does: a group score is not the proactive class F1."""
    out, summary, printed, _ = demo
    rows = [line.split("│")[1].strip() for line in printed.splitlines() if line.startswith("│ ")]
    assert rows.index("F1 proactive") == rows.index("Proactive group score") + 1
    assert not any("proactive f1" in row.lower() for row in rows)
    for name, system in summary["systems"].items():
        assert system["class_proactive"] == read_results(out / name).metrics.per_class["proactive"].f1


def test_trained_models_carry_their_test_figures_in_the_model_card(demo):
    out, summary, _, _ = demo
    for method, protocol in (("sft", "free"), ("behavior-sft", "token")):
        card = (out / "models" / method / "README.md").read_text()
        row = next(line for line in card.splitlines() if line.startswith(f"| test | {protocol} |"))
        assert f"{100 * summary['systems'][method]['macro_f1']:.1f}" in row


def test_a_rerun_reuses_every_finished_stage(demo):
    out, summary, _, tiny = demo
    kept = [out / "models" / m / "run_card.json" for m in ("sft", "behavior-sft")]
    kept += [out / name / "samples.jsonl" for name in [*SYSTEMS, "behavior-sft-dev"]]
    before = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in kept}
    again = run_demo(out, DemoPlan(**summary["plan"]), base=str(tiny), console=Console(file=io.StringIO()))
    assert again["systems"] == summary["systems"]
    assert again["proactivity_dial"] == summary["proactivity_dial"]
    assert {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in kept} == before
