"""Paired differences between runs: the point estimate, what pairing buys, and the edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from test_metrics import P, R, S, sample

from behaviorbench.evaluation.metrics import score_samples
from behaviorbench.evaluation.paired import paired_differences
from behaviorbench.evaluation.records import Sample
from behaviorbench.taxonomy import Behavior, Category


def skilled_run(n_cases: int, seed: int) -> list[Sample]:
    """Per case: a question, a problem or its control, two ambient slots; right about 70% of the time."""
    rng = np.random.default_rng(seed)
    samples = []
    for c in range(n_cases):
        problem = P if c % 2 else S
        golds = [(R, Category.ddx_reasoning), (problem, Category.safety_alert), (S, None), (S, None)]
        for slot, (gold, category) in enumerate(golds):
            predicted = gold if rng.random() < 0.7 else [R, P, S][rng.integers(3)]
            samples.append(sample(f"c{c:03d}", slot, gold, predicted, category))
    return samples


def degraded(samples: list[Sample], cases: set[str]) -> list[Sample]:
    """The same run, but every designated and ambient slot of `cases` answered wrongly."""
    wrong = {R: P, P: S, S: R}
    return [
        s.model_copy(update={"predicted": wrong[s.gold_behavior]}) if s.case_id in cases else s
        for s in samples
    ]


def by_metric(differences) -> dict:
    return {d.metric: d for d in differences}


def test_the_point_difference_is_the_difference_of_the_scores():
    a, b = skilled_run(40, seed=1), skilled_run(40, seed=2)
    found = by_metric(paired_differences(a, b, "a", "b", n_bootstrap=200))
    scores_a, scores_b = score_samples(a, n_bootstrap=0), score_samples(b, n_bootstrap=0)
    assert found["macro_f1"].difference == pytest.approx(scores_a.macro_f1 - scores_b.macro_f1)
    assert found["false_alarm_rate"].difference == pytest.approx(
        scores_a.false_alarm_rate - scores_b.false_alarm_rate
    )
    for d in found.values():
        assert d.low <= d.difference <= d.high and d.cases == 40 and (d.a, d.b) == ("a", "b")


def test_identical_runs_differ_by_exactly_zero():
    a = skilled_run(30, seed=3)
    for d in paired_differences(a, list(a), "a", "a", n_bootstrap=100):
        assert d.difference == d.low == d.high == 0.0
        assert d.a_better == 0.0


def test_pairing_separates_runs_whose_own_intervals_overlap():
    a = skilled_run(60, seed=4)
    b = degraded(a, {"c005", "c017", "c033"})
    own_a = score_samples(a, n_bootstrap=500, seed=0).ci["macro_f1"]
    own_b = score_samples(b, n_bootstrap=500, seed=0).ci["macro_f1"]
    assert own_b.high > own_a.low, "the runs' own intervals overlap"
    found = by_metric(paired_differences(a, b, "a", "b", n_bootstrap=500))
    f1 = found["macro_f1"]
    assert f1.difference > 0 and f1.low >= 0 and f1.a_better > 0.9
    assert f1.high - f1.low < own_a.high - own_a.low
    alarms = found["false_alarm_rate"]  # b speaks on the ambient slots of the degraded cases
    assert alarms.difference < 0 and alarms.high <= 0 and alarms.a_better > 0.9


def test_only_cases_both_runs_scored_count():
    a = skilled_run(40, seed=5)
    b = [s for s in skilled_run(40, seed=6) if s.case_id < "c020"]
    found = by_metric(paired_differences(a, b, "a", "b", n_bootstrap=100))
    assert found["macro_f1"].cases == 20
    on_shared = score_samples([s for s in a if s.case_id < "c020"], n_bootstrap=0)
    expected = on_shared.macro_f1 - score_samples(b, n_bootstrap=0).macro_f1
    assert found["macro_f1"].difference == pytest.approx(expected)
    assert paired_differences(a, [s.model_copy(update={"case_id": "other"}) for s in b], "a", "b") == []


def test_a_run_without_ambient_slots_has_no_false_alarm_difference():
    a = skilled_run(20, seed=7)
    b = [s for s in a if s.designated]
    found = by_metric(paired_differences(a, b, "a", "b", n_bootstrap=50))
    assert set(found) == {"macro_f1"}
    assert found["macro_f1"].difference == 0.0
    assert Behavior.silent in {s.gold_behavior for s in b}
