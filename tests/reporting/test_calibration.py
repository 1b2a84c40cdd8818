"""The proactivity dial: a hand-computed sweep, agreement with the scorer, and the CLI."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import matplotlib.image
import pytest
from run_factory import simulate, write_run

from behaviorbench.dataset.reader import load_cases
from behaviorbench.evaluation.metrics import score_samples
from behaviorbench.evaluation.records import Sample
from behaviorbench.reporting.calibration import apply_bias, bias_grid, calibrate, choose_bias, sweep
from behaviorbench.reporting.runs import load_run
from behaviorbench.taxonomy import GROUP_OF, Behavior, Category


def sample(case: str, slot: int, gold: Behavior, probs: tuple[float, float, float], category=None) -> Sample:
    """A sample decided at bias 0: predicted = argmax of (reactive, proactive, silent) probabilities."""
    distribution = dict(zip((Behavior.reactive, Behavior.proactive, Behavior.silent), probs, strict=True))
    return Sample(
        case_id=case,
        slot=slot,
        split="dev",
        category=category,
        group=GROUP_OF[category] if category else None,
        task_id=f"{case}-{slot}" if category else None,
        control_of=None,
        gold_behavior=gold,
        predicted=max(distribution, key=distribution.get),
        status="ok",
        probabilities=distribution,
        prompt_hash="h",
    )


# Flip points (bias where proactive overtakes the current argmax): ln(0.5/0.3) = 0.51 for the
# missed flag, ln(0.7/0.2) = 1.25 for the control, ln(0.6/0.1) = 1.79 for the question and
# ln(0.8/0.15) = 1.67 for the ambient slot.
DEV = [
    sample("a", 0, Behavior.proactive, (0.2, 0.3, 0.5), Category.error_correction),
    sample("a", 1, Behavior.silent, (0.1, 0.2, 0.7), Category.safety_alert),
    sample("b", 0, Behavior.reactive, (0.6, 0.1, 0.3), Category.ddx_reasoning),
    sample("b", 1, Behavior.silent, (0.05, 0.15, 0.8)),
]
# Test: a flag found only with bias > ln(0.6/0.35) = 0.54, and a control that flips above
# ln(0.55/0.45) = 0.20 (a false flag at the chosen bias).
TEST = [
    sample("c", 0, Behavior.proactive, (0.05, 0.35, 0.6), Category.consistency_check),
    sample("c", 1, Behavior.silent, (0.0, 0.45, 0.55), Category.consistency_check),
    sample("d", 0, Behavior.reactive, (0.9, 0.05, 0.05), Category.lab_interpretation),
    sample("d", 1, Behavior.silent, (0.1, 0.1, 0.8)),
]


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def test_sweep_matches_a_hand_computation():
    points = {p.bias: p for p in sweep(DEV, bias_grid(2.0, 0.25))}
    # Bias 0: gold (p, s, r) predicted (s, s, r): proactive F1 0, silent F1 2/3, reactive F1 1.
    assert points[0.0].macro_f1 == pytest.approx((0 + f1(1, 1, 0) + 1) / 3)
    assert points[0.0].proactive_recall == 0.0 and points[0.0].false_alarm_rate == 0.0
    # 0.75 .. 1.25: every designated slot right.
    for bias in (0.75, 1.0, 1.25):
        assert points[bias].macro_f1 == pytest.approx(1.0)
    # 1.5: the control is flagged too; proactive P=1/2 R=1, silent F1 0.
    assert points[1.5].macro_f1 == pytest.approx((f1(1, 1, 0) + 0 + 1) / 3)
    # 1.75: the ambient slot is a false alarm; 2.0: the question is answered with a flag.
    assert points[1.5].false_alarm_rate == 0.0 and points[1.75].false_alarm_rate == 1.0
    assert points[2.0].macro_f1 == pytest.approx((f1(1, 2, 0) + 0 + 0) / 3)
    assert choose_bias(list(points.values())) == 0.75


def test_calibrate_reports_test_at_the_chosen_bias_and_at_zero(tmp_path: Path):
    dev, test = _run(tmp_path / "dev", DEV), _run(tmp_path / "test", TEST)
    result = calibrate(test, dev, bias_grid(2.0, 0.25))
    assert result.chosen_bias == 0.75
    assert result.dev_at_chosen.macro_f1 == pytest.approx(1.0)
    # Test at 0: gold (p, s, r) predicted (s, s, r), like dev at 0.
    assert result.test_at_zero.macro_f1 == pytest.approx((0 + f1(1, 1, 0) + 1) / 3)
    assert result.test_at_zero.proactive_recall == 0.0
    # Test at 0.75: both consistency slots flagged: proactive P=1/2 R=1, silent F1 0, reactive 1.
    assert result.test_at_chosen.macro_f1 == pytest.approx((f1(1, 1, 0) + 0 + 1) / 3)
    assert result.test_at_chosen.proactive_recall == 1.0
    assert result.test_at_chosen.false_alarm_rate == 0.0


def test_the_recorded_bias_is_taken_out_so_biases_are_absolute(data_dir: Path, tmp_path: Path):
    cases = load_cases(data_dir, "dev")
    plain = _run(tmp_path / "plain", simulate(cases, 1.5, -0.5, seed=4))
    biased = _run(tmp_path / "biased", simulate(cases, 1.5, -0.5, seed=4, bias=1.25), proactive_bias=1.25)
    assert [s.predicted for s in plain.samples] != [s.predicted for s in biased.samples]
    grid = bias_grid(3.0, 0.25)
    assert sweep(plain.samples, grid) == sweep(biased.samples, grid, recorded_bias=1.25)
    assert calibrate(biased, biased, grid).chosen_bias == calibrate(plain, plain, grid).chosen_bias


def test_ties_go_to_the_smallest_bias():
    flat = [sample("a", 0, Behavior.reactive, (0.98, 0.01, 0.01), Category.ddx_reasoning)]
    assert choose_bias(sweep(flat, bias_grid(2.0, 0.5))) == 0.0


def test_sweep_agrees_with_the_scorer_on_redecided_samples(runs: dict[str, Path]):
    samples = load_run(runs["sft"]).samples
    assert [s.predicted for s in apply_bias(samples, 0.0)] == [s.predicted for s in samples]
    for point in sweep(samples, [-2.0, -0.5, 0.0, 0.7, 3.0]):
        scores = score_samples(apply_bias(samples, point.bias), n_bootstrap=0)
        assert point.macro_f1 == pytest.approx(scores.macro_f1)
        assert point.false_alarm_rate == pytest.approx(scores.false_alarm_rate)
        assert point.proactive_recall == pytest.approx(scores.per_class["proactive"].recall)


def test_bias_moves_recall_and_false_alarms_together(runs: dict[str, Path]):
    points = sweep(load_run(runs["sft"]).samples, bias_grid())
    recalls = [p.proactive_recall for p in points]
    alarms = [p.false_alarm_rate for p in points]
    assert recalls == sorted(recalls) and alarms == sorted(alarms)
    assert recalls[0] < recalls[-1] and alarms[0] < alarms[-1]


def test_calibrate_command_writes_json_and_plots(runs: dict[str, Path], run_main: Callable, tmp_path: Path):
    code, err = run_main("calibrate", runs["sft"], "--dev", runs["sft-dev"], "--out", tmp_path / "cal")
    assert code == 0, err
    written = json.loads((tmp_path / "cal" / "calibration.json").read_text())
    expected = choose_bias(sweep(load_run(runs["sft-dev"]).samples, bias_grid()))
    assert written["chosen_bias"] == expected
    assert written["grid"] == bias_grid()
    assert math.isclose(
        written["dev_at_chosen"]["macro_f1"], max(p["macro_f1"] for p in written["dev_curve"])
    )
    for name in ("proactivity_curve.png", "bias_sweep.png"):
        pixels = matplotlib.image.imread(tmp_path / "cal" / name)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 300


def test_calibrate_refuses_a_run_without_probabilities(
    runs: dict[str, Path], run_main: Callable, tmp_path: Path
):
    code, err = run_main("calibrate", runs["zero"], "--dev", runs["sft-dev"], "--out", tmp_path / "cal")
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "zero" in err and "no behavior probabilities" in err
    assert not (tmp_path / "cal").exists()


def _run(path: Path, samples: list[Sample], proactive_bias: float = 0.0):
    """A run directory holding hand-made samples."""
    return load_run(
        write_run(path, samples, "hf:model", "dev", fingerprint="f" * 16, proactive_bias=proactive_bias)
    )
