"""Is run A better than run B? Differences on the cases both scored, with paired bootstrap intervals.

Two runs on the same cases share most of their case-to-case variation (a hard case is hard for
both), so their own intervals overlap even when one is reliably better. Resampling cases once
and scoring both runs on every draw cancels that shared part: the interval is the difference's
own, as in a paired test.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from behaviorbench.evaluation.metrics import (
    CONFIDENCE,
    LABELS,
    is_false_alarm,
    per_case_confusion,
    weighted_macro_f1,
    weighted_rate,
)
from behaviorbench.evaluation.records import Sample

PAIRED_METRICS: tuple[tuple[str, bool], ...] = (("macro_f1", True), ("false_alarm_rate", False))
"""(metric, higher is better) compared between runs."""


class PairedDifference(BaseModel):
    """`a` minus `b` on one metric, over the cases both runs scored."""

    metric: str
    a: str
    b: str
    cases: int
    difference: float
    low: float
    high: float
    a_better: float
    """Share of bootstrap replicates in which `a` is better (higher, or lower for false alarms)."""


def paired_differences(
    a: Sequence[Sample], b: Sequence[Sample], a_name: str, b_name: str, n_bootstrap: int = 1000, seed: int = 0
) -> list[PairedDifference]:
    """A − B for each metric both runs have data for; empty when they share no case."""
    shared = sorted({s.case_id for s in a} & {s.case_id for s in b})
    if not shared or n_bootstrap <= 0:
        return []
    case_index = {case_id: i for i, case_id in enumerate(shared)}
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(shared), size=(n_bootstrap, len(shared)))
    # Row 0 weighs every case once (the point estimate); the others are the bootstrap draws.
    weights = np.vstack([np.ones(len(shared)), [np.bincount(row, minlength=len(shared)) for row in draws]])

    differences = []
    for metric, higher in PAIRED_METRICS:
        values_a = _replicates(a, metric, weights, case_index)
        values_b = _replicates(b, metric, weights, case_index)
        if values_a is None or values_b is None:
            continue
        delta = values_a - values_b
        replicates = delta[1:][~np.isnan(delta[1:])]
        if np.isnan(delta[0]) or not len(replicates):
            continue
        alpha = (1 - CONFIDENCE) / 2
        low, high = np.quantile(replicates, [alpha, 1 - alpha])
        differences.append(
            PairedDifference(
                metric=metric,
                a=a_name,
                b=b_name,
                cases=len(shared),
                difference=float(delta[0]),
                low=float(low),
                high=float(high),
                a_better=float(np.mean(replicates > 0 if higher else replicates < 0)),
            )
        )
    return differences


def _replicates(
    samples: Sequence[Sample], metric: str, weights: np.ndarray, case_index: dict[str, int]
) -> np.ndarray | None:
    scored = [s for s in samples if s.case_id in case_index and s.status != "not_applicable"]
    if metric == "macro_f1":
        designated = [s for s in scored if s.designated]
        if not designated:
            return None
        return weighted_macro_f1(
            weights @ per_case_confusion(designated, case_index, len(case_index)), LABELS
        )
    ambient = [s for s in scored if not s.designated]
    if not ambient:
        return None
    return weighted_rate(ambient, [is_false_alarm(s) for s in ambient], weights, case_index)
