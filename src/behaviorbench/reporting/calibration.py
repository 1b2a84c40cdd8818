"""The proactivity dial: shift the proactive log-probability by a bias and watch the trade-off.

A model that exposes its behavior distribution decides by argmax of log p. Adding a bias b to the
proactive log-probability (decision = argmax of log p + b·[proactive]) makes it speak up more
(b > 0) or less (b < 0) without retraining. A run evaluated with `--proactive-bias b0` recorded
probabilities that already include b0; it is taken out first, so every bias here is absolute: the
number to pass back to the harness. Sweeping b traces proactive recall against the
false-alarm rate; the bias that maximises Macro-F1 on dev is the recommended operating point,
passed back to the harness as `--proactive-bias` and to the Agent API as `proactivity`.

Only behavior metrics move with the bias: responses were generated for the original decisions, so
a slot whose decision the bias changes has its content check cleared (`content_pass=None`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from behaviorbench.dataset.atomic import atomic_write_bytes, atomic_write_text
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.metrics import (
    LABELS,
    PREDICTION_LABELS,
    Scores,
    score_samples,
    weighted_macro_f1,
)
from behaviorbench.evaluation.records import Sample
from behaviorbench.evaluation.results import SAMPLES_FILE
from behaviorbench.reporting import plots
from behaviorbench.reporting.runs import Run, load_run
from behaviorbench.taxonomy import BEHAVIORS, Behavior

PROACTIVE = BEHAVIORS.index(Behavior.proactive)
SILENT = BEHAVIORS.index(Behavior.silent)
INVALID = len(BEHAVIORS)
"""Index of the `invalid` prediction label (invalid and errored samples)."""
FLOOR = 1e-12
"""Probabilities are floored before the log so a zero never becomes -inf (which no bias can move)."""


MAX_GRID = 10_000
"""Biases on each side of zero at most: the sweep rescores every sample at each."""


def bias_grid(limit: float = 5.0, step: float = 0.25) -> list[float]:
    """Evenly spaced biases from -limit to +limit, 0 included, rounded so JSON shows clean numbers."""
    if not (math.isfinite(limit) and math.isfinite(step)) or limit <= 0 or step <= 0:
        raise BehaviorBenchError(f"--limit and --step: must be positive numbers, got {limit} and {step}")
    count = round(limit / step)
    if count > MAX_GRID:
        raise BehaviorBenchError(
            f"--step {step}: gives {2 * count + 1:,} biases from -{limit} to {limit}; "
            f"use a step of at least {limit / MAX_GRID:g}"
        )
    return [round(k * step, 6) for k in range(-count, count + 1)]


class OperatingPoint(BaseModel):
    """Behavior metrics of a run if it had decided with this proactive bias."""

    bias: float
    macro_f1: float | None
    proactive_recall: float | None
    false_alarm_rate: float | None


class RunMetrics(BaseModel):
    """The behavior metrics of a run at one bias, from the harness's own scorer."""

    bias: float
    macro_f1: float | None
    proactive_f1: float | None
    reactive_f1: float | None
    restraint_f1: float | None
    proactive_recall: float | None
    false_alarm_rate: float | None
    accuracy: float | None

    @classmethod
    def from_scores(cls, bias: float, scores: Scores) -> RunMetrics:
        proactive = scores.per_class.get(Behavior.proactive.value)
        return cls(
            bias=bias,
            macro_f1=scores.macro_f1,
            proactive_f1=scores.proactive_f1,
            reactive_f1=scores.reactive_f1,
            restraint_f1=scores.restraint_f1,
            proactive_recall=proactive.recall if proactive else None,
            false_alarm_rate=scores.false_alarm_rate,
            accuracy=scores.accuracy,
        )


class Calibration(BaseModel):
    """What `calibration.json` holds."""

    chosen_bias: float
    rule: str = "maximise dev Macro-F1; ties go to the smallest |bias|, then the lower bias"
    grid: list[float]
    dev_run: str
    test_run: str
    dev_model: str
    test_model: str
    dev_dataset_fingerprint: str
    test_dataset_fingerprint: str
    dev_recorded_bias: float
    test_recorded_bias: float
    """The biases the runs were evaluated with (taken out before the sweep)."""
    dev_curve: list[OperatingPoint]
    test_curve: list[OperatingPoint]
    dev_at_chosen: RunMetrics
    test_at_zero: RunMetrics
    test_at_chosen: RunMetrics


@dataclass(frozen=True)
class _Decisions:
    """A run's samples as arrays: log-probabilities where a bias can move the decision."""

    gold: np.ndarray
    """Gold behavior index per sample."""
    designated: np.ndarray
    fixed: np.ndarray
    """Prediction index of samples the bias cannot move (no probabilities, or not `ok`)."""
    movable: np.ndarray
    log_probs: np.ndarray
    """(samples, 3) in BEHAVIORS order; rows of unmovable samples are unused."""


def _log_probs(probabilities: np.ndarray, recorded_bias: float) -> np.ndarray:
    """Unbiased log-probabilities (up to a per-row constant, which no argmax sees)."""
    log_probs = np.log(np.maximum(probabilities, FLOOR))
    log_probs[:, PROACTIVE] -= recorded_bias
    return log_probs


def _arrays(samples: Sequence[Sample], recorded_bias: float) -> _Decisions:
    scored = [s for s in samples if s.status != "not_applicable"]
    movable = np.array([_movable(s) for s in scored], dtype=bool)
    probs = np.array(
        [[s.probabilities[b] for b in BEHAVIORS] if _movable(s) else [1.0, 1.0, 1.0] for s in scored],
        dtype=float,
    ).reshape(-1, len(BEHAVIORS))
    return _Decisions(
        gold=np.array([BEHAVIORS.index(s.gold_behavior) for s in scored], dtype=int),
        designated=np.array([s.designated for s in scored], dtype=bool),
        fixed=np.array([_prediction_index(s) for s in scored], dtype=int),
        movable=movable,
        log_probs=_log_probs(probs, recorded_bias),
    )


def _movable(sample: Sample) -> bool:
    return sample.status == "ok" and sample.probabilities is not None


def _prediction_index(sample: Sample) -> int:
    if sample.status == "ok" and sample.predicted is not None:
        return BEHAVIORS.index(sample.predicted)
    return INVALID


def _decide(log_probs: np.ndarray, bias: float) -> np.ndarray:
    """argmax of log p + bias on the proactive column; exact ties go to the first in BEHAVIORS order."""
    shifted = log_probs.copy()
    shifted[:, PROACTIVE] += bias
    return np.argmax(shifted, axis=1)


def sweep(
    samples: Sequence[Sample], grid: Sequence[float], recorded_bias: float = 0.0
) -> list[OperatingPoint]:
    """Macro-F1, proactive recall and false-alarm rate at every bias of the grid.

    `recorded_bias` is the bias the samples were decided with (the run's `proactive_bias`).

    Vectorised over samples (one argmax per bias), and scored with the harness's own F1 so the
    curve agrees with `score_samples` on re-decided samples.
    """
    arrays = _arrays(samples, recorded_bias)
    gold_designated = arrays.gold[arrays.designated]
    n_proactive = int(np.sum(gold_designated == PROACTIVE))
    n_ambient = int(np.sum(~arrays.designated))
    points = []
    for bias in grid:
        predicted = np.where(arrays.movable, _decide(arrays.log_probs, bias), arrays.fixed)
        designated = predicted[arrays.designated]
        cells = gold_designated * len(PREDICTION_LABELS) + designated
        confusion = np.bincount(cells, minlength=len(LABELS) * len(PREDICTION_LABELS)).astype(float)
        hits = np.sum((gold_designated == PROACTIVE) & (designated == PROACTIVE))
        points.append(
            OperatingPoint(
                bias=float(bias),
                macro_f1=float(weighted_macro_f1(confusion[None, :], LABELS)[0]) if len(designated) else None,
                proactive_recall=float(hits / n_proactive) if n_proactive else None,
                false_alarm_rate=float(np.mean(predicted[~arrays.designated] != SILENT))
                if n_ambient
                else None,
            )
        )
    return points


def choose_bias(points: Sequence[OperatingPoint]) -> float:
    """The bias with the best Macro-F1; ties go to the smallest |bias|, then the lower bias."""
    scored = [p for p in points if p.macro_f1 is not None]
    if not scored:
        raise BehaviorBenchError("dev run: no designated samples to compute Macro-F1 on")
    best = min(scored, key=lambda p: (-p.macro_f1, abs(p.bias), p.bias))
    return best.bias


def apply_bias(samples: Sequence[Sample], bias: float, recorded_bias: float = 0.0) -> list[Sample]:
    """The samples as if decided with `bias` instead of `recorded_bias`.

    A changed decision clears its content check: the response was written for the old one.
    """
    out = []
    for sample in samples:
        if not _movable(sample):
            out.append(sample)
            continue
        log_probs = _log_probs(np.array([[sample.probabilities[b] for b in BEHAVIORS]]), recorded_bias)
        behavior = BEHAVIORS[int(_decide(log_probs, bias)[0])]
        if behavior is sample.predicted:
            out.append(sample)
        else:
            out.append(
                sample.model_copy(update={"predicted": behavior, "content_pass": None, "content_score": None})
            )
    return out


def require_probabilities(run: Run, option: str) -> None:
    if not run.has_probabilities:
        raise BehaviorBenchError(
            f"{run.path / SAMPLES_FILE}: {option}: the run has no behavior probabilities "
            "(only models whose logits are read, e.g. local models with the token or tagged protocol, "
            "record them); it cannot be calibrated"
        )


def check_dev_run(test: Run, dev: Run) -> None:
    """A bias chosen on another model, protocol or dataset says nothing about `test`."""
    mine, theirs = dev.results.run, test.results.run
    for field, value, wanted in (
        ("model", mine.model, theirs.model),
        ("protocol", mine.protocol, theirs.protocol),
    ):
        if value != wanted:
            raise BehaviorBenchError(
                f"--dev {dev.path}: run.{field} {value!r} differs from {wanted!r} of {test.path}; "
                "calibrate on a dev run of the same model and protocol"
            )
    same_family = dev.fingerprint == test.fingerprint or (
        dev.results.generator_version is not None
        and dev.results.generator_version == test.results.generator_version
    )
    if not same_family:
        raise BehaviorBenchError(
            f"--dev {dev.path}: scored dataset {dev.fingerprint} of generator "
            f"{dev.results.generator_version}, not the family of {test.path}'s dataset {test.fingerprint}"
        )


def calibrate(test: Run, dev: Run, grid: Sequence[float], n_bootstrap: int = 0) -> Calibration:
    """Pick the bias on `dev`, then score `test` at that bias and at 0."""
    require_probabilities(dev, "--dev")
    require_probabilities(test, "RUN")
    check_dev_run(test, dev)
    dev_curve = sweep(dev.samples, grid, dev.proactive_bias)
    chosen = choose_bias(dev_curve)

    def metrics(run: Run, bias: float) -> RunMetrics:
        redecided = apply_bias(run.samples, bias, run.proactive_bias)
        return RunMetrics.from_scores(bias, score_samples(redecided, n_bootstrap))

    return Calibration(
        chosen_bias=chosen,
        grid=list(grid),
        dev_run=dev.name,
        test_run=test.name,
        dev_model=dev.model,
        test_model=test.model,
        dev_dataset_fingerprint=dev.fingerprint,
        test_dataset_fingerprint=test.fingerprint,
        dev_curve=dev_curve,
        test_curve=sweep(test.samples, grid, test.proactive_bias),
        dev_recorded_bias=dev.proactive_bias,
        test_recorded_bias=test.proactive_bias,
        dev_at_chosen=metrics(dev, chosen),
        test_at_zero=metrics(test, 0.0),
        test_at_chosen=metrics(test, chosen),
    )


CALIBRATION_NAME = "calibration.json"


def write_calibration(run: Path, dev: Path, out: Path, limit: float = 5.0, step: float = 0.25) -> Calibration:
    """Calibrate and write `calibration.json`, `proactivity_curve.png` and `bias_sweep.png` into `out`."""
    grid = bias_grid(limit, step)
    result = calibrate(load_run(run), load_run(dev), grid)
    out = Path(out)
    atomic_write_text(out / CALIBRATION_NAME, result.model_dump_json(indent=2) + "\n")
    curve = plots.proactivity_curve(result.dev_curve, result.test_curve, result.chosen_bias)
    atomic_write_bytes(out / "proactivity_curve.png", plots.png_bytes(curve))
    sweep_figure = plots.bias_sweep(result.dev_curve, result.test_curve, result.chosen_bias)
    atomic_write_bytes(out / "bias_sweep.png", plots.png_bytes(sweep_figure))
    return result
