"""Statistics against examples worked by hand or printed in the methods literature."""

from __future__ import annotations

import math

import numpy as np
import pytest

from behaviorbench.review.stats import (
    bradley_terry,
    fleiss_kappa,
    krippendorff_alpha,
    mean_interval,
    pairwise_cohen_kappa,
    wilson_interval,
)


def test_wilson_interval_of_8_wins_in_10_matches_the_closed_form():
    # Worked by hand: z = 1.959964, p = 0.8, n = 10;
    # centre = (p + z²/2n) / (1 + z²/n) = 0.99207 / 1.38415 = 0.716735
    # half = z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n) = 1.959964·0.160011 / 1.38415 = 0.226577
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.716735 - 0.226577, abs=1e-5)
    assert high == pytest.approx(0.716735 + 0.226577, abs=1e-5)


def test_wilson_interval_stays_inside_zero_one_at_the_edges():
    low, high = wilson_interval(0, 5)
    assert low == pytest.approx(0.0, abs=1e-12) and 0 < high < 0.5
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_bradley_terry_two_systems_recovers_the_log_odds():
    # A beats B 3 times of 4: the MLE sets σ(θA − θB) = 3/4, so θA − θB = log 3.
    theta = bradley_terry(np.array([[0, 3], [1, 0]]))
    assert theta[0] - theta[1] == pytest.approx(math.log(3), abs=1e-5)
    assert theta.sum() == pytest.approx(0, abs=1e-9)


def test_bradley_terry_recovers_strengths_that_fit_the_table_exactly():
    # Strengths 4 : 2 : 1 give P(1>2) = 2/3, P(1>3) = 4/5, P(2>3) = 2/3. A table whose shares equal
    # those probabilities (2-1, 4-1, 2-1) has them as its maximum-likelihood solution.
    wins = np.array([[0, 2, 4], [1, 0, 2], [1, 1, 0]])
    theta = bradley_terry(wins)
    assert theta[0] - theta[1] == pytest.approx(math.log(2), abs=1e-5)
    assert theta[1] - theta[2] == pytest.approx(math.log(2), abs=1e-5)


def test_bradley_terry_keeps_a_system_that_always_wins_finite():
    theta = bradley_terry(np.array([[0, 5], [0, 0]]))
    assert np.all(np.isfinite(theta)) and 20 > theta[0] - theta[1] > 8


def test_mean_interval_is_the_student_t_interval():
    # mean 3, sd 1, n = 4: t(0.975, 3) = 3.182446, half width 3.182446 · 1 / 2
    values = [2, 3, 3, 4]
    sd = np.std(values, ddof=1)
    mean, low, high = mean_interval(values)
    assert mean == 3
    assert high - mean == pytest.approx(3.182446 * sd / 2, abs=1e-5)
    assert mean - low == pytest.approx(high - mean)


def _long(matrix: list[list]) -> list[tuple]:
    return [
        (unit, rater, value)
        for rater, row in enumerate(matrix)
        for unit, value in enumerate(row)
        if value is not None
    ]


def test_krippendorff_alpha_reproduces_the_textbook_nominal_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units,
    # missing values; nominal alpha = 0.743.
    n = None
    observers = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
        [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n],
    ]
    assert krippendorff_alpha(_long(observers)) == pytest.approx(0.743, abs=5e-4)
    # The same data read as interval values: alpha = 0.849 in the same paper.
    assert krippendorff_alpha(_long(observers), "interval") == pytest.approx(0.849, abs=5e-4)


def test_krippendorff_alpha_is_undefined_without_overlap():
    assert math.isnan(krippendorff_alpha([("u1", "r1", "A"), ("u2", "r2", "B")]))


def test_cohen_kappa_reproduces_the_two_by_two_example():
    # 50 items: both yes 20, yes/no 5, no/yes 10, both no 15 -> po = 0.7, pe = 0.5, kappa = 0.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    records = [(i, "r1", a) for i, (a, _) in enumerate(pairs)] + [
        (i, "r2", b) for i, (_, b) in enumerate(pairs)
    ]
    [result] = pairwise_cohen_kappa(records)
    assert result["shared"] == 50
    assert result["kappa"] == pytest.approx(0.4)


def test_fleiss_kappa_reproduces_the_fourteen_rater_example():
    # Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa = 0.210.
    counts = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    records = []
    for subject, row in enumerate(counts):
        labels = [category for category, count in enumerate(row) for _ in range(count)]
        records += [(subject, rater, label) for rater, label in enumerate(labels)]
    kappa, units = fleiss_kappa(records)
    assert units == 10
    assert kappa == pytest.approx(0.210, abs=5e-4)
